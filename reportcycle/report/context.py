"""What a consolidated report says, ready to lay out: built by `reportcycle.report`
(`build_report_context`), turned into a Decree 30 DOCX by `reportcycle.report_docx`.

Every string here is final text (NFC, Vietnamese dates and numbers already formatted); the
renderer only decides the layout. Attribution (`sources`, `notes`) is for the draft: the final
version carries none of it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Para:
    """A body paragraph. `bullet` paragraphs start with "- " in their text already."""

    text: str
    bullet: bool = False
    sources: tuple[str, ...] = ()  # unit names that wrote it (draft: a Word comment)
    flag: str | None = None  # a warning on this paragraph for the draft (near-duplicate …)
    # The text again as runs with the unit's formatting ("i", "b", "bi" or ""), when any run
    # was italic or bold; "".join of the texts is `text` (less a bullet's "- ").
    spans: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class TableBlock:
    """A table: header row, then rows; `caption` is a line above it (may be empty)."""

    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    caption: str | None = None
    sources: tuple[str, ...] = ()
    # "indicators": the regime's indicator table (STT, Chỉ tiêu, … ; a list indicator's rows
    # after its first leave STT, label and measure blank, laid out merged); "data": a unit's.
    kind: str = "data"


Block = Para | TableBlock


@dataclass(frozen=True)
class ReportSection:
    code: str  # "1", "3a"
    heading: str  # "1. Bối cảnh, tình hình" / "a) Đào tạo, tập huấn, …"
    level: int  # 1 for a top section, 2 for a subsection
    blocks: tuple[Block, ...] = ()
    # Why the section has nothing, shown in the draft where the text would be; None if the
    # section has content (or has subsections that do).
    empty_note: str | None = None
    # Which assigned units' contributions are not in the section, draft only; None if none.
    missing_note: str | None = None


@dataclass(frozen=True)
class SignatureBlock:
    authority: str | None  # "TM. ỦY BAN NHÂN DÂN", "KT. CHỦ TỊCH"; may be absent
    title: str  # "Q. CHỦ TỊCH", "PHÓ CHỦ TỊCH"
    name: str  # "Võ Tân Đức"


@dataclass(frozen=True)
class ReportContext:
    supervisor: str | None  # line above the issuing body, capitals; may be absent
    issuer: str  # "ỦY BAN NHÂN DÂN TỈNH ĐỒNG NAI" (the renderer may break it in two lines)
    number_line: str  # "Số: 12/BC-UBND", or "Số:      /BC-UBND" in a draft
    place_date: str  # "Đồng Nai, ngày 03 tháng 7 năm 2024"
    doc_type: str  # "BÁO CÁO"
    summary: str  # "Kết quả triển khai công tác thông tin đối ngoại 6 tháng đầu năm 2024"
    opening: str  # "Thực hiện văn bản số 2608/CV/BTGTU ngày 10/6/2024 của …"
    sections: tuple[ReportSection, ...]
    closing: str  # "Trên đây là … theo quy định./."
    recipients: tuple[str, ...]  # "Ban Tuyên giáo Tỉnh ủy", …, the last "Lưu: VT, THNC."
    signer: SignatureBlock
    draft: bool = True
    draft_label: str | None = None  # "DỰ THẢO lần 2 — 25/6/2024 10:00", draft only
    review_notes: tuple[str, ...] = field(default_factory=tuple)  # draft only
    indicator_tables_in_final: bool = True  # the regime's report.indicator_tables_in_final


# --- stored with each version, so a final is made from exactly what was approved ----------


def context_to_json(ctx: ReportContext) -> dict[str, Any]:
    data = asdict(ctx)
    for section, original in zip(data["sections"], ctx.sections, strict=True):
        for block, kind in zip(section["blocks"], original.blocks, strict=True):
            block["type"] = "table" if isinstance(kind, TableBlock) else "para"
    return data


def context_from_json(data: dict[str, Any]) -> ReportContext:
    sections = tuple(
        ReportSection(
            code=s["code"],
            heading=s["heading"],
            level=s["level"],
            blocks=tuple(_block(b) for b in s["blocks"]),
            empty_note=s["empty_note"],
            missing_note=s.get("missing_note"),
        )
        for s in data["sections"]
    )
    fields = {k: v for k, v in data.items() if k not in ("sections", "signer")}
    for key in ("recipients", "review_notes"):
        fields[key] = tuple(fields[key])
    return ReportContext(**fields, sections=sections, signer=SignatureBlock(**data["signer"]))


def _block(data: dict[str, Any]) -> Block:
    if data["type"] == "table":
        return TableBlock(
            header=tuple(data["header"]),
            rows=tuple(tuple(r) for r in data["rows"]),
            caption=data["caption"],
            sources=tuple(data["sources"]),
            kind=data.get("kind", "data"),
        )
    spans = tuple((str(t), str(m)) for t, m in data.get("spans") or ())
    return Para(data["text"], data["bullet"], tuple(data["sources"]), data["flag"], spans)
