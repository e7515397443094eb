"""The consolidated report as a Word file in the Decree 30/2020/NĐ-CP layout (Annex I).

`render_docx(ctx)` lays out a `ReportContext`: the draft carries its attribution (a Word comment
naming the units behind each paragraph, flags, an "[Chưa có nội dung: …]" line for each empty
section, the draft label and the review notes on a last page); the final carries none of it.

`finalize_edited(docx, …)` turns a draft that the secretariat edited in Word or LibreOffice into
the final: the number and date are filled in and every trace of the draft goes.
"""

from __future__ import annotations

import io
import itertools
import re
import unicodedata
import zipfile
from dataclasses import dataclass

import docx
from docx.document import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_COLOR_INDEX
from docx.opc.exceptions import PackageNotFoundError
from docx.opc.part import XmlPart
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.oxml.xmlchemy import BaseOxmlElement
from docx.shared import Length, Mm, Pt
from docx.table import _Cell
from docx.text.paragraph import Paragraph
from docx.text.run import Run
from lxml import etree

from reportcycle import docx_style as st
from reportcycle.report_model import Para, ReportContext, ReportSection, TableBlock

MOTTO_NATION = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO = "Độc lập - Tự do - Hạnh phúc"
REVIEW_HEADING = "GHI CHÚ RÀ SOÁT (chỉ có trong bản dự thảo)"
COMMENT_AUTHOR, COMMENT_INITIALS = "reportcycle", "RC"
SIGNATURE_SPACE = 4  # empty lines for the signature and the seal
# Header block columns (165 mm of text width): the motto must fit on one line on the right.
HEADER_WIDTHS = [Mm(62), Mm(103)]
ISSUER_RULE, MOTTO_RULE = Mm(22), Mm(62)
SIGNATURE_WIDTHS = [Mm(80), Mm(85)]
_ISSUER_BREAK = re.compile(r"(ỦY|UỶ) BAN NHÂN DÂN\s+(\S.*)")
_XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"
_NUMERIC = re.compile(r"[-+]?\d[\d.,\s]*%?")


@dataclass(frozen=True)
class _Line:
    text: str
    size: float = 14
    bold: bool = False
    italic: bool = False


def render_docx(ctx: ReportContext) -> bytes:
    """The report as DOCX bytes: a draft with attribution if `ctx.draft`, else the final."""
    document = docx.Document()
    st.setup_styles(document)
    st.setup_page(document.sections[0])
    _set_properties(document, ctx)
    if ctx.draft:
        label = document.add_paragraph(ctx.draft_label or "DỰ THẢO", style=st.DRAFT_LABEL)
        st.add_box(label)
    _header_block(document, ctx)
    _title(document, ctx)
    document.add_paragraph(ctx.opening)
    for section in ctx.sections:
        _section(document, section, draft=ctx.draft)
    _body_paragraph(document, ctx.closing)
    _signature_block(document, ctx)
    if ctx.draft and ctx.review_notes:
        heading = document.add_paragraph(REVIEW_HEADING, style=st.REVIEW_HEADING)
        heading.paragraph_format.page_break_before = True
        for note in ctx.review_notes:
            document.add_paragraph(f"- {note}")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def issuer_lines(issuer: str) -> list[str]:
    """The issuing body in capitals, "ỦY BAN NHÂN DÂN TỈNH X" broken after "ỦY BAN NHÂN DÂN"."""
    upper = issuer.strip().upper()
    match = _ISSUER_BREAK.fullmatch(upper)
    return [upper[: match.start(2)].strip(), match.group(2)] if match else [upper]


def _set_properties(document: Document, ctx: ReportContext) -> None:
    props = document.core_properties
    props.title = f"{ctx.doc_type} {ctx.summary}"
    props.author = props.last_modified_by = ctx.issuer
    props.comments = props.keywords = props.subject = ""
    props.language = "vi-VN"


def _header_block(document: Document, ctx: ReportContext) -> None:
    """Issuing body | national motto, then number | place and date on one line."""
    table = document.add_table(rows=2, cols=2)
    st.set_table_layout(table, HEADER_WIDTHS, borders=False)
    supervisor = [_Line(ctx.supervisor.upper(), 13)] if ctx.supervisor else []
    issuer = [_Line(line, 13, bold=True) for line in issuer_lines(ctx.issuer)]
    _fill(table.cell(0, 0), [*supervisor, *issuer], rule=ISSUER_RULE)
    motto = [_Line(MOTTO_NATION, 13, bold=True), _Line(MOTTO, 14, bold=True)]
    _fill(table.cell(0, 1), motto, rule=MOTTO_RULE)
    _fill(table.cell(1, 0), [_Line(ctx.number_line, 13)], before=6)
    _fill(table.cell(1, 1), [_Line(ctx.place_date, 14, italic=True)], before=6)


def _fill(cell: _Cell, lines: list[_Line], *, rule: Length | None = None, before: int = 0) -> None:
    """Centred lines in a table cell (its first, empty paragraph included), then a short rule."""
    width = cell.width or Mm(60)
    for index, line in enumerate(lines):
        paragraph = cell.paragraphs[0] if index == 0 else cell.add_paragraph()
        paragraph.style = st.BLOCK
        if index == 0 and before:
            paragraph.paragraph_format.space_before = Pt(before)
        _styled_run(paragraph, line)
    if rule is not None:
        st.add_rule(cell.add_paragraph(style=st.BLOCK), rule, width)


def _styled_run(paragraph: Paragraph, line: _Line) -> Run | None:
    if not line.text:  # an empty line: the paragraph mark alone, sized by the style
        return None
    run = paragraph.add_run(line.text)
    for text in run._r.findall(qn("w:t")):  # "Số:      /BC-UBND": keep the blanks to fill in
        text.set(_XML_SPACE, "preserve")
    run.font.size = Pt(line.size)
    run.font.bold, run.font.italic = line.bold or None, line.italic or None
    return run


def _title(document: Document, ctx: ReportContext) -> None:
    doc_type = document.add_paragraph(style=st.BLOCK)
    doc_type.paragraph_format.space_before = Pt(24)
    _styled_run(doc_type, _Line(ctx.doc_type.upper(), 14, bold=True))
    summary = document.add_paragraph(style=st.BLOCK)
    summary.paragraph_format.space_after = Pt(18)
    _styled_run(summary, _Line(ctx.summary, 14, bold=True))


def _section(document: Document, section: ReportSection, *, draft: bool) -> None:
    document.add_paragraph(
        section.heading, style=st.HEADING_1 if section.level == 1 else st.HEADING_2
    )
    for block in section.blocks:
        if isinstance(block, Para):
            paragraph = _body_paragraph(document, block.text)
            if draft:
                _annotate(document, paragraph.runs, block.sources, block.flag)
        else:
            _table_block(document, block, draft=draft)
    if draft and section.empty_note:
        note = _body_paragraph(document, "", st.EMPTY_NOTE)
        run = note.add_run(f"[Chưa có nội dung: {section.empty_note}]")
        run.font.highlight_color = WD_COLOR_INDEX.YELLOW


def _body_paragraph(document: Document, text: str, style: str | None = None) -> Paragraph:
    """A paragraph at the end of the body; one right after a table gets some air above."""
    paragraph = document.add_paragraph(text, style=style)
    if paragraph._p.getprevious() is not None and paragraph._p.getprevious().tag == qn("w:tbl"):
        paragraph.paragraph_format.space_before = Pt(6)
    return paragraph


def _annotate(
    document: Document, runs: list[Run], sources: tuple[str, ...], flag: str | None
) -> None:
    """Word comments on the draft: who wrote this, and what the reviewer should look at."""
    if not runs:
        return
    if sources:
        text = "Nguồn: " + "; ".join(sources)
        document.add_comment(runs, text=text, author=COMMENT_AUTHOR, initials=COMMENT_INITIALS)
    if flag:
        text = f"Cần rà soát: {flag}"
        document.add_comment(runs, text=text, author=COMMENT_AUTHOR, initials=COMMENT_INITIALS)


def _table_block(document: Document, block: TableBlock, *, draft: bool) -> None:
    anchor: list[Run] = []
    if block.caption:
        anchor = document.add_paragraph(block.caption, style=st.CAPTION).runs
    columns = max([len(block.header), *(len(row) for row in block.rows)])
    table = document.add_table(rows=1 + len(block.rows), cols=columns)
    table.style = "Table Grid"
    st.set_table_layout(table, [Length(st.TEXT_WIDTH // columns)] * columns, borders=True)
    st.keep_row_on_one_page(table, header=True)
    # The style id written straight into each cell's paragraph, and the cells read once in row
    # order: python-docx's `paragraph.style = …` scans every style for the default one on each
    # call, and table.rows[i].cells rebuilds the whole grid; a 1,000-row table took 9 s.
    style_id = document.styles[st.TABLE_TEXT].style_id
    cells = iter(table._cells)  # python-docx's grid, row by row (no merged cells here)
    for row_index, texts in enumerate([block.header, *block.rows]):
        row = [next(cells) for _ in range(columns)]
        for cell, text in zip(row, texts, strict=False):
            paragraph = cell.paragraphs[0]
            paragraph._p.style = style_id
            run = paragraph.add_run(text)
            if row_index == 0:
                run.font.bold = True
                paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
            elif _NUMERIC.fullmatch(text.strip()):
                paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    if draft:
        _annotate(
            document, anchor or table.rows[0].cells[0].paragraphs[0].runs, block.sources, None
        )


def _signature_block(document: Document, ctx: ReportContext) -> None:
    """ "Nơi nhận" on the left, the signer on the right, never split across pages."""
    table = document.add_table(rows=1, cols=2)
    st.set_table_layout(table, SIGNATURE_WIDTHS, borders=False)
    st.keep_row_on_one_page(table)
    left, right = table.cell(0, 0), table.cell(0, 1)
    heading = left.paragraphs[0]
    heading.style = st.RECIPIENTS
    heading.paragraph_format.space_before = Pt(6)
    _styled_run(heading, _Line("Nơi nhận:", 12, bold=True, italic=True))
    names = [name.strip().rstrip(";.").strip() for name in ctx.recipients]
    for index, name in enumerate(names):
        ending = "." if index == len(names) - 1 else ";"
        left.add_paragraph(f"- {name}{ending}", style=st.RECIPIENTS)
    signer = ctx.signer
    titles = [t.upper() for t in (signer.authority, signer.title) if t]
    lines = [_Line(t, 14, bold=True) for t in titles]
    lines += [_Line("")] * SIGNATURE_SPACE + [_Line(signer.name, 14, bold=True)]
    _fill(right, lines, before=6)


# --- finalize_edited ----------------------------------------------------------------------

_NUMBER_LINE = re.compile(r"Số\s*:", re.IGNORECASE)
_GAP = r"[\s.…_]*"  # blanks or dots left for a date not yet known: "ngày …… tháng 7"
_PLACE_DATE = re.compile(
    rf"[^\W\d_][^\d,;:()]{{0,40}},\s*ngày{_GAP}\d{{0,2}}{_GAP}tháng{_GAP}\d{{0,2}}{_GAP}"
    rf"năm{_GAP}\d{{0,4}}{_GAP}",
    re.IGNORECASE,
)
_EMPTY_NOTE_TEXT = re.compile(r"\[Chưa có nội dung:.*\]", re.DOTALL)
# Relationship types (last segment) of the parts that hold comments and their authors.
_COMMENT_RELS = {"comments", "commentsExtended", "commentsIds", "commentsExtensible", "people"}
_COMMENT_MARKS = ("w:commentRangeStart", "w:commentRangeEnd", "w:commentReference")
_ERRORS = {
    "not_docx": (
        "Tệp không phải tệp Word .docx hợp lệ hoặc đã hỏng; hãy lưu lại dạng .docx",
        "the file is not a valid Word .docx or is damaged; save it again as .docx",
    ),
    "number": (
        "Không tìm thấy dòng số văn bản bắt đầu bằng “Số:” (ở khối tiêu đề bên trái)",
        'no paragraph starting with "Số:" (the document number, top left) was found',
    ),
    "place_date": (
        "Không tìm thấy dòng địa danh, ngày tháng năm (“Đồng Nai, ngày … tháng … năm …”)",
        'no place-and-date line ("Đồng Nai, ngày … tháng … năm …") was found',
    ),
}


def finalize_edited(docx: bytes, *, number_line: str, place_date: str) -> bytes:
    """Make an edited draft final: set the number and the place-and-date lines, drop every
    comment, the draft label, the empty-section notes and the review notes. Raises ValueError
    (Vietnamese / English) if `docx` is not a DOCX or lacks the number or date line."""
    document = _open(docx)
    body = document.element.body
    paragraphs = list(body.iter(qn("w:p")))
    for kind, matches, text in (
        ("number", lambda t: bool(_NUMBER_LINE.match(t)), number_line),
        ("place_date", lambda t: bool(_PLACE_DATE.fullmatch(t)), place_date),
    ):
        found = next((p for p in paragraphs if matches(_text(p))), None)
        if found is None:
            raise ValueError(_message(kind))
        _replace_text(found, unicodedata.normalize("NFC", text))
    _remove_comments(document)
    draft_styles = _style_ids(document, {st.DRAFT_LABEL, st.EMPTY_NOTE})
    top = set(itertools.takewhile(lambda c: c.tag != qn("w:tbl"), body))
    for paragraph in paragraphs:
        if _is_draft_only(paragraph, draft_styles, top):
            _remove(paragraph)
    _remove_review_notes(body)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _message(kind: str) -> str:
    vietnamese, english = _ERRORS[kind]
    return f"{vietnamese} / {english}"


def _open(data: bytes) -> Document:
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise ValueError(_message("not_docx"))
    try:
        return docx.Document(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError, PackageNotFoundError, etree.LxmlError) as e:
        raise ValueError(_message("not_docx")) from e


def _text(paragraph: BaseOxmlElement) -> str:
    text = "".join(t.text or "" for t in paragraph.iter(qn("w:t")))
    return unicodedata.normalize("NFC", text).strip()


def _replace_text(paragraph: BaseOxmlElement, text: str) -> None:
    """The paragraph's text becomes `text`, in the formatting of its first run with text."""
    runs = [r for r in paragraph.iter(qn("w:r")) if r.find(qn("w:t")) is not None]
    keep = runs[0]  # the paragraph matched on its text, so it has one
    for run in list(paragraph.iter(qn("w:r"))):
        if run is not keep:
            _remove(run)
    for child in list(keep):
        if child.tag != qn("w:rPr"):
            keep.remove(child)
    element = OxmlElement("w:t", {_XML_SPACE: "preserve"})
    element.text = text
    keep.append(element)


def _remove(element: BaseOxmlElement) -> None:
    parent = element.getparent()
    if parent is not None:
        parent.remove(element)


def _remove_comments(document: Document) -> None:
    """Comment marks in every part, then the comment parts: a part nothing relates to is not
    saved, and python-docx writes [Content_Types].xml from the parts it saves."""
    for part in list(document.part.package.iter_parts()):
        if isinstance(part, XmlPart):
            for mark in part.element.xpath(" | ".join(f".//{tag}" for tag in _COMMENT_MARKS)):
                run = mark.getparent()
                _remove(mark)
                if run.tag == qn("w:r") and all(c.tag == qn("w:rPr") for c in run):
                    _remove(run)  # the run that only held the reference
        for rid, rel in list(part.rels.items()):
            if rel.reltype.rsplit("/", 1)[-1] in _COMMENT_RELS:
                del part.rels[rid]


def _style_ids(document: Document, names: set[str]) -> set[str]:
    wanted = {name.casefold() for name in names}
    return {s.style_id for s in document.styles if (s.name or "").casefold() in wanted}


def _is_draft_only(
    paragraph: BaseOxmlElement, draft_styles: set[str], top: set[BaseOxmlElement]
) -> bool:
    """The draft label (by its style, or its text above the header block) and the notes that
    stand in for empty sections."""
    style = paragraph.find(f"{qn('w:pPr')}/{qn('w:pStyle')}")
    if style is not None and style.get(qn("w:val")) in draft_styles:
        return True
    text = _text(paragraph)
    return bool(_EMPTY_NOTE_TEXT.fullmatch(text)) or (
        paragraph in top and text.startswith("DỰ THẢO")
    )


def _remove_review_notes(body: BaseOxmlElement) -> None:
    """Everything from the review heading (and the page break before it) to the end of the
    body goes; the body's last w:sectPr, which holds the page setup, stays."""
    children = list(body)
    start = next(
        (i for i, c in enumerate(children) if c.tag == qn("w:p") and _is_review_heading(c)), None
    )
    if start is None:
        return
    while start > 0 and _is_page_break_only(children[start - 1]):
        start -= 1
    section = body.find(qn("w:sectPr"))
    for child in children[start:]:
        if child is section:
            continue
        inner = child.find(f"{qn('w:pPr')}/{qn('w:sectPr')}")
        if section is None and inner is not None:  # LibreOffice may keep it in a paragraph
            body.append(inner)
            section = inner
        body.remove(child)


def _is_review_heading(paragraph: BaseOxmlElement) -> bool:
    return _text(paragraph).upper().startswith("GHI CHÚ RÀ SOÁT")


def _is_page_break_only(element: BaseOxmlElement) -> bool:
    if element.tag != qn("w:p") or _text(element):
        return False
    return any(br.get(qn("w:type")) == "page" for br in element.iter(qn("w:br")))
