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
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
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

from reportcycle import docxpkg
from reportcycle.docxpkg import Block, FormError, Paragraph, Table, cell_text, clean_text
from reportcycle.regime import Indicator, Regime, Section
from reportcycle.vntext import nfc

__all__ = [
    "Block", "FormError", "IndicatorValue", "Paragraph", "ParsedForm", "Table",
    "build_form_template", "fill_form", "form_filename", "parse_number_vi", "read_form",
    "stamp_form",
]  # fmt: skip

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
_SECTION_HEADER = re.compile(r"mục\s*([a-z0-9][a-z0-9_.-]*?)\s*[.:)]?(?:\s|$)", re.IGNORECASE)
_IDENTITY = {"unit_code": "Mã đơn vị", "cycle_code": "Mã kỳ báo cáo", "token": "Mã phiếu"}
_ILLEGAL_IN_NAME = re.compile(r'[<>:"/\\|?*\x00-\x1f]')


@dataclass(frozen=True)
class IndicatorValue:
    code: str
    raw: str  # the cell's text, "" when the unit left it empty
    value: int | Decimal | None  # None when empty or unreadable
    problem: str | None = None  # why raw is not a number (vi / en); text indicators use raw


@dataclass
class ParsedForm:
    token: str | None = None
    unit_code: str | None = None
    cycle_code: str | None = None
    form_version: str | None = None
    sections: dict[str, list[Block]] = field(default_factory=dict)
    indicators: dict[str, IndicatorValue] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


# --- building -------------------------------------------------------------------------------


def build_form_template(
    regime: Regime,
    *,
    section_codes: Sequence[str],
    indicator_codes: Sequence[str],
    period_label: str,
    deadline_text: str,
    title_vars: Mapping[str, str] | None = None,
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
    _set_properties(doc, regime, report_name)
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


def _set_properties(doc: Document, regime: Regime, report_name: str) -> None:
    core = doc.core_properties
    core.title = f"Phiếu cung cấp thông tin - {report_name}"
    core.subject = f"{_PH['unit_name']} - {_PH['cycle']}"
    core.author = core.last_modified_by = regime.issuer.name
    core.keywords, core.comments, core.language = "reportcycle", "", "vi-VN"
    core.created = core.modified = datetime.now(UTC)
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
    blob = docxpkg.custom_properties_xml(props)
    part = Part(PackURI(f"/{docxpkg.CUSTOM_PART}"), CT.OFC_CUSTOM_PROPERTIES, blob, package)
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
    return docxpkg.stamp(template, dict(zip(keys, map(docxpkg.xml_value, values), strict=True)))


def form_filename(unit_name: str, period_code: str) -> str:
    """ "Phiếu cung cấp thông tin - Sở Ngoại vụ - 2024-H1.docx": NFC, without the characters
    Windows, macOS or mail clients refuse in a file name."""
    texts = ("Phiếu cung cấp thông tin", unit_name[:120], period_code)
    parts = [clean_text(_ILLEGAL_IN_NAME.sub(" ", text)) for text in texts]
    return " - ".join(p for p in parts if p).rstrip(". ") + ".docx"


# --- reading --------------------------------------------------------------------------------


def read_form(data: bytes, *, max_uncompressed: int = 50 * 2**20) -> ParsedForm:
    """Sections and indicator values of a filled form, parsed from the zip with lxml.

    Raises FormError for a file that is not a DOCX, is encrypted or macro-enabled, too large,
    or holds no form structure. A form the unit left empty reads fine: sections without blocks,
    indicators without values."""
    pkg = docxpkg.Package(data, max_uncompressed)
    root = pkg.xml(pkg.main)
    body = root.find(qn("w:body"))
    if body is None:
        raise FormError("not_docx", "no document body")
    form, lists, lines = ParsedForm(), docxpkg.ListStyles(pkg), []
    for element in docxpkg.children(body, docxpkg.P, docxpkg.TBL):
        if element.tag == docxpkg.P:
            lines.extend(docxpkg.paragraph_lines(element))
        elif not _read_section(element, lists, form):
            _read_indicators(element, form)
    if not form.sections and not form.indicators:
        raise FormError("not_form")
    _read_identity(docxpkg.read_custom_properties(pkg), lines, form)
    return form


def _rows(table: Any) -> list[list[Any]]:
    return [docxpkg.children(tr, docxpkg.TC) for tr in docxpkg.children(table, docxpkg.TR)]


def _read_section(table: Any, lists: docxpkg.ListStyles, form: ParsedForm) -> bool:
    rows = _rows(table)
    header = cell_text(rows[0][0], " ") if rows and rows[0] else ""
    match = _SECTION_HEADER.match(header)
    if match is None:
        return False
    code = match.group(1)
    if code in form.sections:
        _warn(form, f"Mục {code} có hai bảng, đã gộp", f"section {code}: two tables, merged")
    blocks = form.sections.setdefault(code, [])
    for index, row in enumerate(rows[1:]):
        for cell in row:
            found = docxpkg.cell_blocks(cell, lists)
            if index == 0 and found and _is_guidance(found[0]):
                found = found[1:]
                if found:
                    _warn(
                        form, f"Mục {code}: có chữ trong ô hướng dẫn", f"{code}: text in guidance"
                    )
            blocks.extend(found)
    return True


def _is_guidance(block: Block) -> bool:
    prefix = GUIDANCE_PREFIX.casefold()
    return isinstance(block, Paragraph) and block.text.casefold().startswith(prefix)


def _read_indicators(table: Any, form: ParsedForm) -> None:
    rows = _rows(table)
    head = [cell_text(c, " ").casefold() for c in rows[0]] if rows else []
    if len(head) < 2 or not head[0].startswith("mã") or "giá trị" not in head[-1]:
        return
    for row in rows[1:]:
        code = cell_text(row[0], " ") if len(row) >= 2 else ""
        if code in form.indicators:
            _warn(
                form, f"chỉ tiêu {code} có hai dòng, lấy dòng đầu", f"{code}: two rows, first kept"
            )
        elif code:
            raw = cell_text(row[-1], " ")
            try:
                value, problem = (parse_number_vi(raw) if raw else None), None
            except ValueError as exc:
                value, problem = None, str(exc)
            form.indicators[code] = IndicatorValue(code, raw, value, problem)


def _read_identity(props: Mapping[str, str], lines: list[str], form: ParsedForm) -> None:
    form.token = props.get("reportcycle_token") or None
    form.unit_code = props.get("reportcycle_unit") or None
    form.cycle_code = props.get("reportcycle_cycle") or None
    form.form_version = props.get("reportcycle_form_version") or None
    text = "\n".join(lines)
    for attr, label in _IDENTITY.items():
        match = re.search(label + r"[^:\n]*:\s*([^\s;]+)", text)
        if match and getattr(form, attr) is None:
            setattr(form, attr, match.group(1))
            _warn(
                form, f"{attr} lấy từ nội dung phiếu", f"{attr} read from the text, not properties"
            )
        elif match and match.group(1) != getattr(form, attr):
            _warn(
                form,
                f"{attr} trong phiếu khác thuộc tính tệp",
                f"{attr}: text and properties differ",
            )


def _warn(form: ParsedForm, vi: str, en: str) -> None:
    form.warnings.append(f"{vi} / {en}")


_NUMBER = re.compile(r"([+-]?)(\d[\d.,]*)\s*(\D*)")
_ONE_COMMA = (
    '"{0}": dấu "," chỉ dùng một lần, làm dấu thập phân (12,5) / '
    '"{0}": "," is used once, as the decimal mark (12,5)'
)
_AMBIGUOUS = (
    '"{0}" không rõ nghĩa: trong tiếng Việt dấu "." phân cách hàng nghìn (212.000), dấu "," là '
    'dấu thập phân (12,5) / "{0}" is ambiguous: in Vietnamese "." groups thousands (212.000) '
    'and "," marks decimals (12,5)'
)


def parse_number_vi(text: str) -> int | Decimal:
    """A number written the Vietnamese way: "212.000" → 212000, "1.234,5" → Decimal("1234.5").

    A trailing unit word is ignored ("16 doanh nghiệp" → 16). Raises ValueError (vi / en) for
    anything else, including "1.5": a dot must group exactly three digits."""
    cleaned = clean_text(text)
    match = _NUMBER.fullmatch(cleaned)
    if match is None:
        raise ValueError(f'"{cleaned}" không phải là một số / "{cleaned}" is not a number')
    sign, digits = match.group(1), match.group(2).rstrip(".")
    whole, comma, fraction = digits.partition(",")
    if comma and not fraction.isdigit():
        raise ValueError(_ONE_COMMA.format(cleaned))
    if not re.fullmatch(r"\d{1,3}(\.\d{3})+|\d+", whole):
        raise ValueError(_AMBIGUOUS.format(cleaned))
    number = sign + whole.replace(".", "")
    return Decimal(f"{number}.{fraction}") if comma else int(number)


# --- filling (simulated units, demo) --------------------------------------------------------


def fill_form(
    form: bytes,
    *,
    sections: Mapping[str, Sequence[str | Sequence[Sequence[str]]]],
    indicators: Mapping[str, str],
) -> bytes:
    """Fill a form as a unit would in Word: paragraphs ("- " → List Bullet style) and nested
    tables (a sequence of rows) in each section's content cell, values in the indicator table."""
    doc = docx.Document(io.BytesIO(form))
    content: dict[str, _Cell] = {}
    values: dict[str, _Cell] = {}
    for table in doc.tables:
        header = [clean_text(c.text) for c in table.rows[0].cells]
        match = _SECTION_HEADER.match(header[0])
        if match:
            content[match.group(1)] = table.rows[-1].cells[0]
        elif tuple(header) == INDICATOR_HEADER:
            values.update({clean_text(r.cells[0].text): r.cells[-1] for r in table.rows[1:]})
    for kind, targets, wanted in (
        ("section", content, sections),
        ("indicator", values, indicators),
    ):
        if set(wanted) - set(targets):
            raise ValueError(f"{kind}s {sorted(set(wanted) - set(targets))} not in this form")
    for code, items in sections.items():
        _fill_cell(content[code], items)
    for code, value in indicators.items():
        values[code].text = value
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def _fill_cell(cell: _Cell, items: Sequence[str | Sequence[Sequence[str]]]) -> None:
    fresh = None if any(p.text for p in cell.paragraphs) else cell.paragraphs[0]
    for item in items:
        if isinstance(item, str):
            paragraph = fresh if fresh is not None else cell.add_paragraph()
            paragraph.add_run(item[2:] if item.startswith("- ") else item)
            if item.startswith("- "):
                paragraph.style = "List Bullet"
        else:
            rows = [list(row) for row in item]
            table = cell.add_table(len(rows), max(len(row) for row in rows))
            table.style = "Table Grid"
            for row, texts in zip(table.rows, rows, strict=True):
                for target, text in zip(row.cells, texts, strict=False):
                    target.text = text
        fresh = None
