"""Reading a returned form: sections, indicators and identity, whatever Word or LibreOffice did
to the XML."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from docx.oxml.ns import qn

from reportcycle.documents.blocks import (
    TBL,
    TC,
    TR,
    Block,
    ListStyles,
    P,
    Paragraph,
    cell_blocks,
    cell_text,
    children,
    paragraph_lines,
)
from reportcycle.documents.form_build import GUIDANCE_PREFIX, IDENTITY_LABELS, SECTION_HEADER
from reportcycle.documents.package import FormError, Package, clean_text, read_custom_properties


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


# --- reading --------------------------------------------------------------------------------


def read_form(data: bytes, *, max_uncompressed: int = 50 * 2**20) -> ParsedForm:
    """Sections and indicator values of a filled form, parsed from the zip with lxml.

    Raises FormError for a file that is not a DOCX, is encrypted or macro-enabled, too large,
    or holds no form structure. A form the unit left empty reads fine: sections without blocks,
    indicators without values."""
    pkg = Package(data, max_uncompressed)
    root = pkg.xml(pkg.main)
    body = root.find(qn("w:body"))
    if body is None:
        raise FormError("not_docx", "no document body")
    form, lists, lines = ParsedForm(), ListStyles(pkg), []
    for element in children(body, P, TBL):
        if element.tag == P:
            lines.extend(paragraph_lines(element))
        elif not _read_section(element, lists, form):
            _read_indicators(element, form)
    if not form.sections and not form.indicators:
        raise FormError("not_form")
    _read_identity(read_custom_properties(pkg), lines, form)
    return form


def _rows(table: Any) -> list[list[Any]]:
    return [children(tr, TC) for tr in children(table, TR)]


def _read_section(table: Any, lists: ListStyles, form: ParsedForm) -> bool:
    rows = _rows(table)
    header = cell_text(rows[0][0], " ") if rows and rows[0] else ""
    match = SECTION_HEADER.match(header)
    if match is None:
        return False
    code = match.group(1)
    if code in form.sections:
        _warn(form, f"Mục {code} có hai bảng, đã gộp", f"section {code}: two tables, merged")
    blocks = form.sections.setdefault(code, [])
    for index, row in enumerate(rows[1:]):
        for cell in row:
            found = cell_blocks(cell, lists)
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
    for attr, label in IDENTITY_LABELS.items():
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
