"""A draft the secretariat edited in Word turned into the final: number and date filled in,
comments, review notes and empty-section markers removed."""

from __future__ import annotations

import io
import itertools
import re
import unicodedata
import zipfile

import docx
from docx.document import Document
from docx.opc.exceptions import PackageNotFoundError
from docx.opc.part import XmlPart
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.oxml.xmlchemy import BaseOxmlElement
from lxml import etree

from reportcycle.documents import styles as st
from reportcycle.report.merge import INDICATOR_HEADER
from reportcycle.report.render import XML_SPACE
from reportcycle.report.render_tables import INDICATOR_CAPTION

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
        "Không tìm thấy dòng địa danh, ngày tháng năm (“{place}, ngày … tháng … năm …”, ở khối "
        "tiêu đề bên phải)",
        'no place-and-date line ("{place}, ngày … tháng … năm …", top right) was found',
    ),
}


def edited_problem(docx: bytes, *, place: str) -> str | None:
    """What an edited draft lacks to be made final (Vietnamese / English), or None: checked
    before a number is taken, so a bad file costs nothing and the draft stays approvable."""
    try:
        stand_in = f"{place}, ngày 01 tháng 01 năm 2000"
        finalize_edited(docx, number_line="Số: 00", place_date=stand_in)
    except ValueError as exc:
        return str(exc)
    return None


def finalize_edited(
    docx: bytes, *, number_line: str, place_date: str, drop_indicator_tables: bool = False
) -> bytes:
    """Make an edited draft final: set the number and the place-and-date lines, drop every
    comment, the draft label, the empty-section notes and the review notes (and the indicator
    tables if `drop_indicator_tables`). Raises ValueError (Vietnamese / English) if `docx` is
    not a DOCX or lacks the number or date line."""
    document = _open(docx)
    body = document.element.body
    paragraphs = list(body.iter(qn("w:p")))
    for kind, matches, text in (
        ("number", lambda t: bool(_NUMBER_LINE.match(t)), number_line),
        ("place_date", lambda t: bool(_PLACE_DATE.fullmatch(t)), place_date),
    ):
        found = next((p for p in paragraphs if matches(_text(p))), None)
        if found is None:
            raise ValueError(_message(kind).format(place=place_date.split(",")[0]))
        _replace_text(found, unicodedata.normalize("NFC", text))
    _remove_comments(document)
    draft_styles = _style_ids(document, {st.DRAFT_LABEL, st.EMPTY_NOTE})
    top = set(itertools.takewhile(lambda c: c.tag != qn("w:tbl"), body))
    for paragraph in paragraphs:
        if _is_draft_only(paragraph, draft_styles, top):
            _remove(paragraph)
    _remove_review_notes(body)
    if drop_indicator_tables:
        _remove_indicator_tables(body)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _remove_indicator_tables(body: BaseOxmlElement) -> None:
    """The indicator tables: marked by render_docx (their title, w:tblCaption, which Word
    keeps) or, as LibreOffice drops that title, found by their header row."""
    found = [t for t in body.iter(qn("w:tbl")) if _is_indicator_table(t)]
    for table in found:
        spacer = table.getprevious()  # the empty line between the parts of a long table
        if spacer is not None and spacer.tag == qn("w:p") and not _text(spacer):
            if spacer.getprevious() in found:
                _remove(spacer)
    for table in found:
        _remove(table)


def _is_indicator_table(table: BaseOxmlElement) -> bool:
    caption = table.find(f"{qn('w:tblPr')}/{qn('w:tblCaption')}")
    first = table.find(qn("w:tr"))
    header = () if first is None else tuple(_text(tc) for tc in first.iter(qn("w:tc")))
    marked = caption is not None and caption.get(qn("w:val")) == INDICATOR_CAPTION
    return marked or header == INDICATOR_HEADER


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
    element = OxmlElement("w:t", {XML_SPACE: "preserve"})
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
