"""Forms (DESIGN §5): build a DOCX form once per distinct assignment, stamp each unit's copy
cheaply, read filled forms back.

A form holds one table per assigned section (header cell "Mục 3b. Công tác truyền thông", an
optional guidance row, a white content cell) and one indicator table ("Mã | Chỉ tiêu | Đơn vị
tính | Giá trị"). Reading finds them by that visible text, never by XML ids: Word and
LibreOffice rewrite the XML on save. The token is in the custom document properties and, as a
fallback, in the last line of the document.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import docx
from docx.document import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.opc.constants import CONTENT_TYPE as CT
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.opc.packuri import PackURI
from docx.opc.part import Part
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor
from docx.table import Table as DocxTable
from docx.table import _Cell

from reportcycle.documents import stamping
from reportcycle.documents.package import CUSTOM_PART, clean_text, custom_properties_xml
from reportcycle.regime.schema import Indicator, Regime, Section
from reportcycle.vietnamese import nfc

FORM_VERSION = "1"
GUIDANCE_PREFIX = "Hướng dẫn:"
INDICATOR_HEADER = ("Mã", "Chỉ tiêu", "Đơn vị tính", "Giá trị")
INSTRUCTIONS = (
    "Chỉ điền vào các ô nền trắng; không sửa các ô nền xám.",
    'Giữ nguyên bố cục các bảng; không đổi tên, không xóa các mục ("Mục 3b. ...").',
    'Nội dung liệt kê: mỗi ý một dòng, bắt đầu bằng dấu gạch đầu dòng "-".',
    "Có thể dán bảng vào trong ô nội dung của một mục.",
    "Số liệu ghi bằng chữ số: dấu chấm phân cách hàng nghìn, dấu phẩy thập phân "
    "(ví dụ 212.000 hoặc 12,5); không có số liệu thì để trống.",
    "Điền xong, lưu tệp dạng .docx (không đặt mật khẩu), trả lời thư điện tử đã nhận "
    "và đính kèm tệp này.",
)
_PH = {k: f"@@RC_{k.upper()}@@" for k in ("token", "unit_code", "unit_name", "reply", "cycle")}
SECTION_HEADER = re.compile(r"mục\s*([a-z0-9][a-z0-9_.-]*?)\s*[.:)]?(?:\s|$)", re.IGNORECASE)
IDENTITY_LABELS = {"unit_code": "Mã đơn vị", "cycle_code": "Mã kỳ báo cáo", "token": "Mã phiếu"}
_ILLEGAL_IN_NAME = re.compile(r'[<>:"/\\|?*\x00-\x1f]')


# --- building -------------------------------------------------------------------------------


def build_form_template(
    regime: Regime,
    *,
    section_codes: Sequence[str],
    indicator_codes: Sequence[str],
    period_label: str,
    deadline_text: str,
    title_vars: Mapping[str, str] | None = None,
    created: datetime,
) -> bytes:
    """The form for one distinct assignment, with @@RC_...@@ placeholders for stamp_form.

    Sections and indicators come in regime order. "{period}" in titles becomes period_label;
    other "{name}"s come from title_vars (e.g. next_period) or stay as they are."""
    unknown = set(section_codes) - {s.code for s in regime.leaf_sections()}
    unknown |= set(indicator_codes) - {i.code for i in regime.indicators}
    if unknown:
        raise ValueError(f"not leaf sections or indicators of {regime.code}: {sorted(unknown)}")
    variables = {"period": period_label, **(title_vars or {})}
    report_name = _substitute(regime.report_title, variables)
    doc = docx.Document()
    _set_up(doc)
    _write_heading(doc, report_name, deadline_text)
    for section in regime.leaf_sections():
        if section.code in section_codes:
            _section_table(doc, section, _substitute(section.title, variables))
    indicators = [i for i in regime.indicators if i.code in indicator_codes]
    if indicators:
        _indicator_table(doc, indicators)
    doc.add_paragraph()
    _line(doc, ("Mã phiếu (không sửa): ", False), (_PH["token"], False), color="808080")
    _set_properties(doc, regime, report_name, created)
    _prune_styles(doc)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def _substitute(text: str, variables: Mapping[str, str]) -> str:
    for key, value in variables.items():
        text = text.replace("{" + key + "}", nfc(value))
    return text


def _set_up(doc: Document) -> None:
    """A4, Decree 30 margins, Times New Roman 13pt throughout, Vietnamese proofing."""
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin = section.bottom_margin = Mm(20)
    section.left_margin, section.right_margin = Mm(30), Mm(15)
    rpr = doc.styles.element.find(f"{qn('w:docDefaults')}/{qn('w:rPrDefault')}/{qn('w:rPr')}")
    fonts = rpr.find(qn("w:rFonts"))
    fonts.attrib.clear()  # drop the theme fonts
    for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(attr), "Times New Roman")
    for tag in ("w:sz", "w:szCs"):
        rpr.find(qn(tag)).set(qn("w:val"), "26")
    rpr.find(qn("w:lang")).set(qn("w:val"), "vi-VN")
    normal = doc.styles["Normal"].paragraph_format
    normal.space_after, normal.line_spacing = Pt(3), 1.1


def _line(
    doc: Document | _Cell, *runs: tuple[str, bool], center: bool = False, **font: Any
) -> None:
    """A paragraph (a cell's first one) of runs (text, bold); font: italic, color."""
    paragraph = doc.add_paragraph() if isinstance(doc, Document) else doc.paragraphs[0]
    paragraph.paragraph_format.keep_with_next = not isinstance(doc, Document) or None
    if center:
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    for text, bold in runs:  # a run per piece: each placeholder stays whole in one w:t
        run = paragraph.add_run(text)
        run.bold, run.italic = bold or None, font.get("italic")
        if "color" in font:
            run.font.color.rgb = RGBColor.from_string(font["color"])


def _write_heading(doc: Document, report_name: str, deadline_text: str) -> None:
    _line(doc, ("PHIẾU CUNG CẤP THÔNG TIN", True), center=True)
    _line(doc, (report_name, True), center=True)
    _line(doc, ("Đơn vị: ", False), (_PH["unit_name"], True))
    codes = ("Mã đơn vị: ", _PH["unit_code"], "; Mã kỳ báo cáo: ", _PH["cycle"])
    _line(doc, *((text, False) for text in codes))
    _line(doc, ("Hạn gửi: ", False), (nfc(deadline_text), True))
    _line(doc, ("Gửi lại phiếu đã điền tới: ", False), (_PH["reply"], True))
    _line(doc, ("Hướng dẫn điền phiếu:", True))
    for text in INSTRUCTIONS:
        doc.add_paragraph(text, style="List Bullet")
    doc.add_paragraph()


def _new_table(doc: Document, rows: int, widths_mm: Sequence[int]) -> DocxTable:
    table = doc.add_table(rows=rows, cols=len(widths_mm))
    table.style = doc.styles["Table Grid"]
    table.alignment, table.autofit = WD_TABLE_ALIGNMENT.CENTER, False
    for column, width in zip(table.columns, widths_mm, strict=True):
        column.width = Mm(width)
        for cell in column.cells:
            cell.width = Mm(width)
    return table


def _shade(cell: _Cell, fill: str) -> None:
    shd = OxmlElement("w:shd")
    for attr, value in (("w:val", "clear"), ("w:color", "auto"), ("w:fill", fill)):
        shd.set(qn(attr), value)
    cell._tc.get_or_add_tcPr().append(shd)


def _section_table(doc: Document, section: Section, title: str) -> None:
    table = _new_table(doc, 3 if section.guidance else 2, [165])
    _line(table.cell(0, 0), (f"Mục {section.code}. {title}", True))
    _shade(table.cell(0, 0), "D9D9D9")
    if section.guidance:
        guidance = ((GUIDANCE_PREFIX + " ", True), (section.guidance, False))
        _line(table.cell(1, 0), *guidance, italic=True)
        _shade(table.cell(1, 0), "F2F2F2")
    height = OxmlElement("w:trHeight")  # at least 4 cm to write in
    height.set(qn("w:val"), "2268")
    height.set(qn("w:hRule"), "atLeast")
    table.rows[-1]._tr.get_or_add_trPr().append(height)
    doc.add_paragraph()  # keeps consecutive tables apart


def _indicator_table(doc: Document, indicators: Sequence[Indicator]) -> None:
    _line(doc, ("Số liệu", True))
    table = _new_table(doc, len(indicators) + 1, [32, 83, 22, 28])
    for cell, text in zip(table.rows[0].cells, INDICATOR_HEADER, strict=True):
        _line(cell, (text, True))
        _shade(cell, "D9D9D9")
    for row, indicator in zip(table.rows[1:], indicators, strict=True):
        texts = (indicator.code, indicator.label, indicator.measure)
        for cell, text in zip(row.cells, texts, strict=False):
            cell.paragraphs[0].add_run(text)
            _shade(cell, "F2F2F2")


# Styles a unit may still pick while filling the form (fill_form uses the first two).
_KEPT_STYLES = ("ListBullet", "ListNumber", "ListParagraph", "TableGrid")
_STYLE_REFS = ("pStyle", "rStyle", "tblStyle", "numStyleLink", "styleLink")
_STYLE_LINKS = ("basedOn", "next", "link")


def _prune_styles(doc: Document) -> None:
    """Keep only the styles the form uses (and those a unit may pick), and no latent styles.

    python-docx's default styles part is 350 KB of XML, over half the zipped form; pruned, the
    form and every request email carrying it are about half the size."""
    root = doc.styles.element
    styles = {s.get(qn("w:styleId")): s for s in root.findall(qn("w:style"))}
    wanted = {*_KEPT_STYLES, *(sid for sid, s in styles.items() if s.get(qn("w:default")))}
    for element in (doc.element, doc.part.numbering_part.element):
        for ref in _STYLE_REFS:
            wanted.update(e.get(qn("w:val")) for e in element.iter(qn(f"w:{ref}")))
    todo = list(wanted)
    while todo:  # close over basedOn / next / link
        style = styles.get(todo.pop())
        for link in _STYLE_LINKS:
            target = style.find(qn(f"w:{link}")) if style is not None else None
            if target is not None and target.get(qn("w:val")) not in wanted:
                wanted.add(target.get(qn("w:val")))
                todo.append(target.get(qn("w:val")))
    for sid, style in styles.items():
        if sid not in wanted:
            root.remove(style)
    latent = root.find(qn("w:latentStyles"))
    if latent is not None:
        root.remove(latent)


def _set_properties(doc: Document, regime: Regime, report_name: str, created: datetime) -> None:
    core = doc.core_properties
    core.title = f"Phiếu cung cấp thông tin - {report_name}"
    core.subject = f"{_PH['unit_name']} - {_PH['cycle']}"
    core.author = core.last_modified_by = regime.issuer.name
    core.keywords, core.comments, core.language = "reportcycle", "", "vi-VN"
    core.created = core.modified = created.astimezone(UTC)  # python-docx writes "Z" as is
    core.revision = 1
    package = doc.part.package
    for owner in (package, doc.part):  # python-docx's thumbnail, Word 2010 leftovers
        for rid, rel in list(owner.rels.items()):
            if rel.reltype.endswith(("/thumbnail", "/stylesWithEffects", "/customXml")):
                del owner.rels[rid]
    props = {
        "reportcycle_token": _PH["token"],
        "reportcycle_unit": _PH["unit_code"],
        "reportcycle_cycle": _PH["cycle"],
        "reportcycle_form_version": FORM_VERSION,
    }
    blob = custom_properties_xml(props)
    part = Part(PackURI(f"/{CUSTOM_PART}"), CT.OFC_CUSTOM_PROPERTIES, blob, package)
    package.relate_to(part, RT.CUSTOM_PROPERTIES)


def stamp_form(
    template: bytes,
    *,
    token: str,
    unit_code: str,
    unit_name: str,
    reply_address: str,
    cycle_code: str,
) -> bytes:
    """One unit's copy of a template: placeholders replaced, XML-escaped, in the document and
    the core and custom properties; the other zip members are copied as stored."""
    values = (token, unit_code, unit_name, reply_address, cycle_code)
    keys = (b"TOKEN", b"UNIT_CODE", b"UNIT_NAME", b"REPLY", b"CYCLE")
    return stamping.stamp(template, dict(zip(keys, map(stamping.xml_value, values), strict=True)))


def form_filename(unit_name: str, period_code: str) -> str:
    """ "Phiếu cung cấp thông tin - Sở Ngoại vụ - 2024-H1.docx": NFC, without the characters
    Windows, macOS or mail clients refuse in a file name."""
    texts = ("Phiếu cung cấp thông tin", unit_name[:120], period_code)
    parts = [clean_text(_ILLEGAL_IN_NAME.sub(" ", text)) for text in texts]
    return " - ".join(p for p in parts if p).rstrip(". ") + ".docx"
