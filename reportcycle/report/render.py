"""The consolidated report as a Word file in the Decree 30/2020/NĐ-CP layout (Annex I).

`render_docx(ctx)` lays out a `ReportContext`: the draft carries its attribution (a Word comment
naming the units behind each paragraph, flags, an "[Chưa có nội dung: …]" line for each empty
section, the draft label and the review notes on a last page); the final carries none of it.

`finalize_edited(docx, …)` turns a draft that the secretariat edited in Word or LibreOffice into
the final: the number and date are filled in and every trace of the draft goes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import docx
from docx.document import Document
from docx.enum.text import WD_COLOR_INDEX
from docx.oxml.ns import qn
from docx.shared import Length, Mm, Pt
from docx.table import _Cell
from docx.text.paragraph import Paragraph
from docx.text.run import Run

from reportcycle.documents import styles as st
from reportcycle.report.body_writer import BodyWriter, add_run
from reportcycle.report.context import Para, ReportContext, ReportSection, TableBlock
from reportcycle.report.render_tables import add_table

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
XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"
SUMMARY_RULE = Length(st.TEXT_WIDTH // 3)  # under the trích yếu: 1/3–1/2 of the line
AFTER_TABLE = Pt(12)  # between a table and what follows it


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
    writer = BodyWriter(document, author=COMMENT_AUTHOR, initials=COMMENT_INITIALS)
    writer.paragraph(ctx.opening)
    for section in ctx.sections:
        _section(writer, section, draft=ctx.draft)
    _body_paragraph(writer, ctx.closing)
    _signature_block(document, ctx)
    if ctx.draft and ctx.review_notes:
        heading = writer.paragraph(REVIEW_HEADING, style=st.REVIEW_HEADING)
        heading.paragraph_format.page_break_before = True
        for note in ctx.review_notes:
            writer.paragraph(f"- {note}")
    return writer.save()


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
        text.set(XML_SPACE, "preserve")
    run.font.size = Pt(line.size)
    run.font.bold, run.font.italic = line.bold or None, line.italic or None
    return run


def _title(document: Document, ctx: ReportContext) -> None:
    doc_type = document.add_paragraph(style=st.BLOCK)
    doc_type.paragraph_format.space_before = Pt(24)
    _styled_run(doc_type, _Line(ctx.doc_type.upper(), 14, bold=True))
    summary = document.add_paragraph(style=st.BLOCK)
    _styled_run(summary, _Line(ctx.summary, 14, bold=True))
    rule = document.add_paragraph(style=st.BLOCK)
    st.add_rule(rule, SUMMARY_RULE, st.TEXT_WIDTH)
    rule.paragraph_format.space_before = Pt(4)  # clear of the descenders (g, ạ) above
    rule.paragraph_format.space_after = Pt(18)


def _section(writer: BodyWriter, section: ReportSection, *, draft: bool) -> None:
    _body_paragraph(writer, section.heading, st.HEADING_1 if section.level == 1 else st.HEADING_2)
    for block in section.blocks:
        if isinstance(block, Para):
            paragraph = _formatted_paragraph(writer, block)
            if draft:
                _annotate(writer, paragraph.runs, block.sources, block.flag)
        else:
            _table_block(writer, block, draft=draft)
        writer.settle()
    if draft and section.missing_note:
        _draft_note(writer, f"[Còn thiếu phần của: {section.missing_note}]")
    if draft and section.empty_note:
        _draft_note(writer, f"[Chưa có nội dung: {section.empty_note}]")


def _draft_note(writer: BodyWriter, text: str) -> None:
    """A highlighted line for the secretariat (style EMPTY_NOTE: finalize_edited drops it)."""
    note = _body_paragraph(writer, "", st.EMPTY_NOTE)
    add_run(note, text).font.highlight_color = WD_COLOR_INDEX.YELLOW


def _body_paragraph(writer: BodyWriter, text: str, style: str | None = None) -> Paragraph:
    """A paragraph at the end of the body; one right after a table gets some air above."""
    paragraph = writer.paragraph(text, style=style)
    if paragraph._p.getprevious() is not None and paragraph._p.getprevious().tag == qn("w:tbl"):
        paragraph.paragraph_format.space_before = AFTER_TABLE
    return paragraph


def _formatted_paragraph(writer: BodyWriter, block: Para) -> Paragraph:
    """A body paragraph with the unit's italic and bold runs, when it had any."""
    prefix = "- " if block.bullet else ""
    if not block.spans or prefix + "".join(t for t, _ in block.spans) != block.text:
        return _body_paragraph(writer, block.text)
    paragraph = _body_paragraph(writer, prefix)
    for text, marks in block.spans:
        run = add_run(paragraph, text)
        run.font.italic, run.font.bold = ("i" in marks) or None, ("b" in marks) or None
    return paragraph


def _annotate(
    writer: BodyWriter, runs: list[Run], sources: tuple[str, ...], flag: str | None
) -> None:
    """Word comments on the draft: who wrote this, and what the reviewer should look at."""
    if not runs:
        return
    if sources:
        writer.comment(runs, "Nguồn: " + "; ".join(sources))
    if flag:
        writer.comment(runs, f"Cần rà soát: {flag}")


def _table_block(writer: BodyWriter, block: TableBlock, *, draft: bool) -> None:
    anchor: list[Run] = []
    if block.caption:
        anchor = _body_paragraph(writer, block.caption, st.CAPTION).runs
    tables = add_table(writer, block)
    if draft:
        first = tables[0].rows[0].cells[0].paragraphs[0].runs
        _annotate(writer, anchor or first, block.sources, None)


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
