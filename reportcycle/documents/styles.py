"""Decree 30/2020/NĐ-CP page and type settings for python-docx documents: styles, A4 page,
page-number header, borders and fixed-width tables. `reportcycle.report_docx` lays the report
out with these; nothing here knows what a report says.

Formatting lives in named paragraph styles wherever it recurs, so a secretary who edits the
draft in Word finds "RC Heading 1" rather than a heap of direct formatting.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from docx.document import Document
from docx.enum.section import WD_ORIENT
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.oxml.xmlchemy import BaseOxmlElement
from docx.section import Section
from docx.shared import Cm, Length, Mm, Pt, RGBColor
from docx.styles.style import ParagraphStyle
from docx.table import Table
from docx.text.paragraph import Paragraph

FONT = "Times New Roman"
BLACK = RGBColor(0, 0, 0)
RED = RGBColor(0xC0, 0, 0)
FIRST_LINE_INDENT = Cm(1.27)
LINE_SPACING = 1.15  # Decree 30 allows single to 1.5
PAGE_WIDTH, PAGE_HEIGHT = Mm(210), Mm(297)
MARGINS = {"top": Mm(20), "bottom": Mm(20), "left": Mm(30), "right": Mm(15)}
TEXT_WIDTH = Mm(210 - 30 - 15)

# Style names (what Word shows); finalize_edited finds draft-only paragraphs by them too.
BLOCK = "RC Block"  # centred, no indent, no spacing: header block, title, signature
HEADING_1, HEADING_2 = "RC Heading 1", "RC Heading 2"
TABLE_TEXT = "RC Table Text"
CAPTION = "RC Caption"
RECIPIENTS = "RC Recipients"
DRAFT_LABEL = "RC Draft Label"
EMPTY_NOTE = "RC Empty Note"
REVIEW_HEADING = "RC Review Heading"
_FONT_ATTRS = ("ascii", "hAnsi", "cs", "eastAsia")
_THEME_ATTRS = ("asciiTheme", "hAnsiTheme", "cstheme", "eastAsiaTheme")


@dataclass(frozen=True)
class StyleSpec:
    name: str
    size: float | None = None
    bold: bool | None = None
    italic: bool | None = None
    align: WD_ALIGN_PARAGRAPH | None = None
    first_line: Length | None = None
    before: float | None = None  # points
    after: float | None = None  # points
    line: float | None = None  # multiple of single
    keep_with_next: bool | None = None
    outline_level: int | None = None  # 0 = level 1 in Word's navigation pane
    color: RGBColor | None = None


_CENTRED = WD_ALIGN_PARAGRAPH.CENTER
STYLES = (
    StyleSpec(BLOCK, align=_CENTRED, first_line=Cm(0), before=0, after=0, line=1.0),
    StyleSpec(HEADING_1, bold=True, before=6, keep_with_next=True, outline_level=0),
    StyleSpec(HEADING_2, bold=True, keep_with_next=True, outline_level=1),
    StyleSpec(
        TABLE_TEXT,
        size=13,
        align=WD_ALIGN_PARAGRAPH.LEFT,
        first_line=Cm(0),
        before=2,
        after=2,
        line=1.0,
    ),  # fmt: skip
    StyleSpec(CAPTION, bold=True, align=_CENTRED, first_line=Cm(0), keep_with_next=True),
    StyleSpec(
        RECIPIENTS,
        size=11,
        align=WD_ALIGN_PARAGRAPH.LEFT,
        first_line=Cm(0),
        before=0,
        after=0,
        line=1.0,
    ),  # fmt: skip
    StyleSpec(DRAFT_LABEL, bold=True, color=RED, align=_CENTRED, first_line=Cm(0), after=12),
    StyleSpec(EMPTY_NOTE, italic=True),
    StyleSpec(REVIEW_HEADING, bold=True, align=_CENTRED, first_line=Cm(0), after=12),
)


def set_fonts(rpr: BaseOxmlElement, name: str = FONT) -> None:
    """Name the font for every script in a w:rPr. Theme attributes go: Word lets them win over
    the explicit names, and the theme's fonts are Calibri/Cambria."""
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for attr in _THEME_ATTRS:
        fonts.attrib.pop(qn(f"w:{attr}"), None)
    for attr in _FONT_ATTRS:
        fonts.set(qn(f"w:{attr}"), name)


def setup_styles(document: Document) -> None:
    """Times New Roman 14 pt black everywhere; Normal is the Decree 30 body paragraph."""
    defaults = document.styles.element.find(qn("w:docDefaults"))
    if defaults is not None:  # the default template's are Calibri 11 (theme fonts)
        rpr = defaults.find(f"{qn('w:rPrDefault')}/{qn('w:rPr')}")
        if rpr is not None:
            set_fonts(rpr)
    normal = document.styles["Normal"]
    assert isinstance(normal, ParagraphStyle)
    normal.font.name, normal.font.size, normal.font.color.rgb = FONT, Pt(14), BLACK
    set_fonts(normal.element.get_or_add_rPr())
    fmt = normal.paragraph_format
    fmt.alignment, fmt.first_line_indent = WD_ALIGN_PARAGRAPH.JUSTIFY, FIRST_LINE_INDENT
    fmt.space_before, fmt.space_after, fmt.line_spacing = Pt(0), Pt(6), LINE_SPACING
    fmt.widow_control = True
    for spec in STYLES:
        _add_style(document, spec, normal)


def _add_style(document: Document, spec: StyleSpec, base: ParagraphStyle) -> None:
    style = document.styles.add_style(spec.name, WD_STYLE_TYPE.PARAGRAPH)
    assert isinstance(style, ParagraphStyle)
    style.base_style, style.quick_style = base, True
    font, fmt = style.font, style.paragraph_format
    if spec.size is not None:
        font.size = Pt(spec.size)
    font.bold, font.italic = spec.bold, spec.italic
    if spec.color is not None:
        font.color.rgb = spec.color
    fmt.alignment, fmt.first_line_indent = spec.align, spec.first_line
    fmt.space_before = None if spec.before is None else Pt(spec.before)
    fmt.space_after = None if spec.after is None else Pt(spec.after)
    fmt.line_spacing, fmt.keep_with_next = spec.line, spec.keep_with_next
    if spec.outline_level is not None:
        level = OxmlElement("w:outlineLvl", {qn("w:val"): str(spec.outline_level)})
        style.element.get_or_add_pPr().insert_element_before(level, *_AFTER_OUTLINE)


def setup_page(section: Section) -> None:
    """A4 portrait, Decree 30 margins, page number centred in the top margin from page 2 on."""
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = PAGE_WIDTH, PAGE_HEIGHT
    section.top_margin, section.bottom_margin = MARGINS["top"], MARGINS["bottom"]
    section.left_margin, section.right_margin = MARGINS["left"], MARGINS["right"]
    section.header_distance, section.footer_distance = Mm(10), Mm(10)
    section.different_first_page_header_footer = True
    section.first_page_header.is_linked_to_previous = False  # an explicit, empty one
    paragraph = section.header.paragraphs[0]
    fmt = paragraph.paragraph_format
    fmt.alignment, fmt.first_line_indent = WD_ALIGN_PARAGRAPH.CENTER, Cm(0)
    fmt.space_before, fmt.space_after = Pt(0), Pt(0)
    add_page_field(paragraph)


def add_page_field(paragraph: Paragraph) -> None:
    """A PAGE field as Word writes it (begin, instruction, separate, shown value, end)."""
    parts: list[tuple[str, dict[str, str], str | None]] = [
        ("w:fldChar", {qn("w:fldCharType"): "begin"}, None),
        ("w:instrText", {"{http://www.w3.org/XML/1998/namespace}space": "preserve"}, " PAGE "),
        ("w:fldChar", {qn("w:fldCharType"): "separate"}, None),
        ("w:t", {}, "2"),
        ("w:fldChar", {qn("w:fldCharType"): "end"}, None),
    ]
    for tag, attrs, text in parts:
        run = paragraph.add_run()
        run.font.size = Pt(14)
        element = OxmlElement(tag, attrs)
        if text is not None:
            element.text = text
        run._r.append(element)


def _border(tag: str, val: str, size: int = 6, space: int = 1) -> BaseOxmlElement:
    attrs = {qn("w:val"): val}
    if val != "nil":
        attrs |= {qn("w:sz"): str(size), qn("w:space"): str(space), qn("w:color"): "000000"}
    return OxmlElement(tag, attrs)


def add_rule(paragraph: Paragraph, width: Length, column: Length) -> None:
    """Make an empty paragraph a short centred horizontal line `width` long: a bottom border
    on a paragraph indented from both sides of its `column`, only a few points high."""
    fmt = paragraph.paragraph_format
    side = Length((column - width) // 2)
    fmt.left_indent, fmt.right_indent, fmt.first_line_indent = side, side, Cm(0)
    fmt.space_before = fmt.space_after = Pt(0)
    fmt.line_spacing = Pt(2)  # an exact height: the line sits right under the text above
    borders = OxmlElement("w:pBdr")
    borders.append(_border("w:bottom", "single", size=6, space=1))
    _insert_pbdr(paragraph, borders)


def add_box(paragraph: Paragraph) -> None:
    """A border around a paragraph (the draft label)."""
    borders = OxmlElement("w:pBdr")
    for side in ("top", "left", "bottom", "right"):
        borders.append(_border(f"w:{side}", "single", size=12, space=4))
    _insert_pbdr(paragraph, borders)


def _insert_pbdr(paragraph: Paragraph, borders: BaseOxmlElement) -> None:
    paragraph._p.get_or_add_pPr().insert_element_before(borders, *_AFTER_PBDR)


# What follows an element in the schema's sequence (Word refuses files out of order).
_AFTER_OUTLINE = ("w:divId", "w:cnfStyle", "w:rPr", "w:sectPr", "w:pPrChange")
_AFTER_PBDR = (
    *("w:shd", "w:tabs", "w:suppressAutoHyphens", "w:kinsoku", "w:wordWrap", "w:overflowPunct"),
    *("w:topLinePunct", "w:autoSpaceDE", "w:autoSpaceDN", "w:bidi", "w:adjustRightInd"),
    *("w:snapToGrid", "w:spacing", "w:ind", "w:contextualSpacing", "w:mirrorIndents"),
    *("w:suppressOverlap", "w:jc", "w:textDirection", "w:textAlignment", "w:textboxTightWrap"),
    *("w:outlineLvl", *_AFTER_OUTLINE),
)
_AFTER_TBL_BORDERS = (
    *("w:shd", "w:tblLayout", "w:tblCellMar", "w:tblLook", "w:tblCaption", "w:tblDescription"),
    "w:tblPrChange",
)


def set_table_layout(table: Table, widths: Sequence[Length], *, borders: bool) -> None:
    """Fixed column widths (w:tblGrid for LibreOffice, w:tcW for Word) and visible or no
    borders, whatever the table style says."""
    table.autofit = False
    for column, width in zip(table.columns, widths, strict=True):
        column.width = width
        for cell in column.cells:
            cell.width = width
    tbl_pr = table._tbl.tblPr
    existing = tbl_pr.find(qn("w:tblBorders"))
    if existing is not None:
        tbl_pr.remove(existing)
    element = OxmlElement("w:tblBorders")
    for side in ("top", "left", "bottom", "right", "insideH", "insideV"):
        element.append(_border(f"w:{side}", "single" if borders else "nil", size=4, space=0))
    tbl_pr.insert_element_before(element, *_AFTER_TBL_BORDERS)


def keep_row_on_one_page(table: Table, *, header: bool = False) -> None:
    """Forbid rows from breaking across pages; `header` repeats the first row on each page."""
    for index, row in enumerate(table.rows):
        tr_pr = row._tr.get_or_add_trPr()
        tr_pr.append(OxmlElement("w:cantSplit"))
        if header and index == 0:
            tr_pr.append(OxmlElement("w:tblHeader"))
