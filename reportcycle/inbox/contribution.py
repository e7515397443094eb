"""A unit's contribution as read from its reply: from the form (or a converted .doc/.odt),
or from the email body; plus the files kept as evidence and the reasons to review it."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from reportcycle.documents import convert, legacy_encodings
from reportcycle.documents.blocks import Paragraph, Table
from reportcycle.documents.form_read import ParsedForm, read_form
from reportcycle.documents.package import FormError
from reportcycle.inbox.message_parts import AttachmentInfo

if TYPE_CHECKING:
    from reportcycle.inbox.matching import RequestRef

_CONVERTIBLE = {".doc", ".odt", ".rtf", ".wpd"}
_ARCHIVES = {".zip", ".rar", ".7z", ".gz", ".tar"}
_MACRO = {".docm", ".dotm"}
_SECTION_MARK = re.compile(r"^\s*mục\s+([0-9][0-9a-z]*)\s*[.:)]?\s*(.*)$", re.IGNORECASE)
_BULLET = re.compile(r"^\s*[-•·●▪+*–]\s+")


@dataclass(frozen=True)
class Rejection:
    reason: str
    explanation: str


@dataclass
class Files:
    form: ParsedForm | None = None
    form_kind: str = "form"  # "form" or "converted"
    form_data: bytes | None = None
    evidence: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    rejection: Rejection | None = None


@dataclass
class Contribution:
    kind: str  # "form", "converted" or "body"
    sections: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    indicators: dict[str, dict[str, Any]] = field(default_factory=dict)
    missing_sections: list[str] = field(default_factory=list)
    missing_indicators: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    evidence: list[dict[str, Any]] = field(default_factory=list)
    legacy_encoding: str | None = None

    def is_empty(self) -> bool:
        return not any(self.sections.values()) and not any(
            v["value"] is not None or v["raw"] for v in self.indicators.values()
        )

    def review_reasons(self) -> list[str]:
        reasons = []
        if self.kind == "body":
            reasons.append("body_only")
        if self.missing_sections or self.missing_indicators:
            reasons.append("partial")
        if any(v["problem"] for v in self.indicators.values()):
            reasons.append("unreadable_figures")
        if self.legacy_encoding:
            reasons.append("legacy_encoding")
        return reasons


def _mb(size: int) -> str:
    return f"{size / 2**20:.1f}".replace(".", ",") + " MB"


def too_large(filename: str, size: int, max_bytes: int) -> Rejection:
    """The refusal of a file over the limit, with what to do instead."""
    return Rejection(
        "attachment_too_large",
        (
            f'Tệp "{filename}" dung lượng {_mb(size)}, vượt giới hạn '
            f"{_mb(max_bytes)}. Hãy bỏ bớt ảnh hoặc gửi tệp .docx riêng, không kèm tệp lớn."
        ),
    )


def read_attachments(items: Sequence[AttachmentInfo], *, max_bytes: int) -> Files:
    """Classify the attachments: the form (first one found), evidence, or a reason to refuse."""
    files = Files()
    for item in items:
        suffix = _suffix(item.filename, item.content_type)
        if item.size > max_bytes:
            files.rejection = too_large(item.filename, item.size, max_bytes)
            return files
        if suffix in _MACRO:
            files.rejection = Rejection("macro", str(FormError("macro")).split(" / ")[0])
            return files
        if suffix in _ARCHIVES:
            files.rejection = Rejection(
                "archive",
                (
                    f'Tệp nén "{item.filename}" không được nhận. Hãy đính kèm trực tiếp '
                    "phiếu .docx (không nén) rồi gửi lại."
                ),
            )
            return files
        if suffix in {".docx", *_CONVERTIBLE} and files.form is None:
            _read_form_file(files, item, suffix)
            if files.rejection is not None:
                return files
        elif suffix in {".docx", *_CONVERTIBLE}:
            files.warnings.append(
                f'Có nhiều phiếu đính kèm; chỉ đọc phiếu đầu tiên, bỏ qua "{item.filename}".'
            )
        else:
            files.evidence.append(_evidence(item))
    return files


def _suffix(filename: str, content_type: str) -> str:
    match = re.search(r"(\.[A-Za-z0-9]{1,5})$", filename.strip())
    if match:
        return match.group(1).lower()
    if "wordprocessingml" in content_type:
        return ".docx"
    if content_type == "application/msword":
        return ".doc"
    return ""


def _evidence(item: AttachmentInfo) -> dict[str, Any]:
    return {
        "filename": item.filename,
        "content_type": item.content_type,
        "size": item.size,
        "sha256": hashlib.sha256(item.data).hexdigest(),
    }


def _read_form_file(files: Files, item: AttachmentInfo, suffix: str) -> None:
    data = item.data
    if suffix in _CONVERTIBLE:
        try:
            data = convert.convert(data, source_suffix=suffix, target="docx")
        except convert.ConversionError as exc:
            files.rejection = Rejection(
                "unreadable",
                (
                    f'Không mở được tệp "{item.filename}" ({exc}). Hãy mở phiếu bằng Word hoặc '
                    "LibreOffice, lưu dạng .docx rồi gửi lại."
                ),
            )
            return
        files.form_kind = "converted"
        files.evidence.append(_evidence(item))
    try:
        files.form, files.form_data = read_form(data), data
    except FormError as exc:
        files.rejection = Rejection(exc.reason, str(exc).split(" / ")[0])


def _block_json(block: Paragraph | Table) -> dict[str, Any]:
    if isinstance(block, Table):
        return {"type": "table", "rows": block.rows}
    out: dict[str, Any] = {"type": "paragraph", "style": block.style, "text": block.text}
    if block.spans:  # only where a run was italic or bold; older rows have no "spans"
        out["spans"] = [list(span) for span in block.spans]
    return out


def from_form(files: Files, request: RequestRef) -> Contribution:
    assert files.form is not None
    form = files.form
    out = Contribution(
        files.form_kind, warnings=[*files.warnings, *form.warnings], evidence=files.evidence
    )
    for code in request.section_codes:
        out.sections[code] = [_block_json(b) for b in form.sections.get(code, [])]
    for code in request.indicator_codes:
        value = form.indicators.get(code)
        if code in request.text_indicator_codes:  # words ("Tốt"), never read as a number
            raw = value.raw if value else ""
            out.indicators[code] = {"raw": raw, "value": None, "problem": None}
            continue
        out.indicators[code] = {
            "raw": value.raw if value else "",
            "value": None if value is None or value.value is None else str(value.value),
            "problem": value.problem if value else None,
        }
    extra = sorted(set(form.sections) - set(request.section_codes))
    if extra:
        out.warnings.append(f"Phiếu có mục không giao cho đơn vị, đã bỏ qua: {', '.join(extra)}.")
    _fix_legacy(out, files.form_data)
    _note_missing(out)
    return out


def from_body(text: str, files: Files, request: RequestRef) -> Contribution:
    """Text pasted in the email: split on "Mục 3b." lines if the unit wrote them (what comes
    before the first is a greeting), else all of it goes to the unit's first section, less
    greetings and closings; a person reviews it either way."""
    out = Contribution("body", warnings=list(files.warnings), evidence=files.evidence)
    for code in request.section_codes:
        out.sections[code] = []
    lines = [raw.strip() for raw in text.splitlines()]
    marked = any(_marker(line, request) for line in lines)
    current = None if marked else (request.section_codes or (None,))[0]
    for line in lines:
        if _CLOSING.match(line):
            break  # "Trân trọng," and the signature under it are not content
        mark = _marker(line, request)
        if mark is not None:
            current, rest = mark
            line = "" if _looks_like_heading(rest) else rest
        if not line or current is None or (not marked and _COURTESY.match(line)):
            continue
        bullet = _BULLET.match(line)
        out.sections[current].append(
            {
                "type": "paragraph",
                "text": line[bullet.end() :] if bullet else line,
                "style": "bullet" if bullet else "para",
            }
        )
    if len(request.section_codes) > 1 and not marked:
        out.warnings.append("Nội dung lấy từ thân thư; cần kiểm tra việc chia vào các mục.")
    for code in request.indicator_codes:
        out.indicators[code] = {"raw": "", "value": None, "problem": None}
    _fix_legacy(out, None)
    _note_missing(out)
    return out


_COURTESY = re.compile(r"^(kính gửi|chào|xin chào|cảm ơn)\b", re.IGNORECASE)
_CLOSING = re.compile(r"^(trân trọng|kính thư|thân ái|best regards|regards)\b", re.IGNORECASE)


def _marker(line: str, request: RequestRef) -> tuple[str, str] | None:
    match = _SECTION_MARK.match(line)
    if match and match.group(1).lower() in request.section_codes:
        return match.group(1).lower(), match.group(2).strip()
    return None


def _looks_like_heading(rest: str) -> bool:
    """ "Mục 3c. Hình thức khác" repeats the title; "Mục 3c. Sở đã tổ chức …." is content."""
    return len(rest.split()) <= 12 and not rest.endswith((".", ";", ":"))


def _note_missing(out: Contribution) -> None:
    out.missing_sections = [c for c, blocks in out.sections.items() if not blocks]
    out.missing_indicators = [c for c, v in out.indicators.items() if not v["raw"]]


def _fix_legacy(out: Contribution, docx: bytes | None) -> None:
    """TCVN3/VNI text looks like garbage in Unicode: detect it from the text and convert."""
    text = " ".join(b.get("text", "") for blocks in out.sections.values() for b in blocks)
    encoding = legacy_encodings.detect_legacy(text)
    if encoding is None:
        _drop_soft_hyphens(out)
        return
    out.legacy_encoding = encoding
    for blocks in out.sections.values():
        for block in blocks:
            if block["type"] == "paragraph":
                block["text"] = legacy_encodings.to_unicode(block["text"], encoding)
            else:
                block["rows"] = [
                    [legacy_encodings.to_unicode(c, encoding) for c in row] for row in block["rows"]
                ]
    fonts = sorted(legacy_encodings.legacy_fonts_in_docx(docx)) if docx else []
    name = "TCVN3 (ABC, .VnTime)" if encoding == "tcvn3" else "VNI"
    seen = f" (phông {', '.join(fonts)})" if fonts else ""
    out.warnings.append(
        f"Văn bản dùng bảng mã cũ {name}{seen}; đã chuyển sang Unicode, cần kiểm tra."
    )


def _drop_soft_hyphens(out: Contribution) -> None:
    """In Unicode text U+00AD is an invisible hyphenation hint: gone from what we keep."""
    for blocks in out.sections.values():
        for block in blocks:
            if block["type"] == "paragraph":
                block["text"] = block["text"].replace("\u00ad", "")
            else:
                block["rows"] = [[c.replace("\u00ad", "") for c in row] for row in block["rows"]]
