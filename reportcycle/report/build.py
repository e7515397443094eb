"""Everything the consolidated report says, gathered from the database (DESIGN §8).

`gather(db, cycle)` reads the cycle, its regime version, the counted contributions and the
secretariat's texts; `build_report_context(gathered, …)` turns them into the draft's
`ReportContext` without touching the database (attributed, with review notes), and `as_final`
turns an approved draft into the final (numbered and dated, nothing else).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date

from models.tables import Cycle
from reportcycle.calendar.dates import format_date_vi
from reportcycle.lookup import title_variables
from reportcycle.outbox.messages import render
from reportcycle.regime.schema import Regime, Section
from reportcycle.report.context import Block, Para, ReportContext, ReportSection, SignatureBlock
from reportcycle.report.gather import SECRETARIAT, Gathered
from reportcycle.report.merge import MergeNote, indicator_table, merge_section
from reportcycle.report.missing import missing_units_note
from reportcycle.superior_request import SuperiorRequest
from reportcycle.vietnamese import lower_first, nfc

BLANK_NUMBER = "      "  # the space the clerk fills in on a draft: "Số:       /BC-UBND"


@dataclass(frozen=True)
class FinalHeader:
    """What the final carries and the draft leaves blank: the number and the day of issue."""

    number_line: str  # "Số: 05/BC-UBND"
    place_date: str  # "Đồng Nai, ngày 03 tháng 7 năm 2024"


def final_header(regime: Regime, number_text: str, on: date) -> FinalHeader:
    """The one place the final's number and date lines are written, whether the final is
    rendered from the approved context or from the secretariat's edited DOCX."""
    return FinalHeader(f"Số: {number_text}", f"{regime.issuer.place}, {format_date_vi(on)}")


def as_final(draft: ReportContext, header: FinalHeader) -> ReportContext:
    """The approved draft as the final: numbered and dated, without attribution or notes."""
    return replace(
        draft,
        number_line=header.number_line,
        place_date=header.place_date,
        draft=False,
        draft_label=None,
        review_notes=(),
        sections=_final_sections(draft),
    )


def _final_sections(draft: ReportContext) -> tuple[ReportSection, ...]:
    """The sections as the final shows them: without the indicator tables if the regime says
    `report: {indicator_tables_in_final: false}`."""
    if draft.indicator_tables_in_final:
        return draft.sections
    return tuple(
        replace(s, blocks=tuple(b for b in s.blocks if getattr(b, "kind", "") != "indicators"))
        for s in draft.sections
    )


def build_report_context(
    gathered: Gathered, *, draft_label: str | None = None, drafted_on: date | None = None
) -> tuple[ReportContext, dict[str, object]]:
    """The draft of the report, and a summary of it for the audit trail and the artifacts."""
    regime, cycle = gathered.regime, gathered.cycle
    title_vars = title_variables(cycle)
    title = regime.report_title.format(**title_vars)
    notes: list[MergeNote] = []
    sections = tuple(
        s
        for top in regime.sections
        for s in _sections(top, gathered, title_vars, notes, level=1, parent="")
    )
    review_notes = _review_notes(gathered, sections, notes)
    sentence_vars = _sentence_vars(cycle, regime, title)
    ctx = ReportContext(
        supervisor=regime.issuer.supervisor,
        issuer=regime.issuer.header,
        number_line=f"Số: {BLANK_NUMBER}/{regime.issuer.symbol}",
        place_date=_draft_place_date(regime.issuer.place, drafted_on or _opened_on(cycle)),
        doc_type="BÁO CÁO",
        summary=title,
        opening=render("report-opening.txt", sentence_vars).strip(),
        sections=sections,
        closing=render("report-closing.txt", sentence_vars).strip(),
        recipients=(
            *(r.name for r in regime.recipients),
            f"Lưu: VT, {regime.issuer.drafting_unit}.",
        ),
        signer=SignatureBlock(regime.signer.authority, regime.signer.title, regime.signer.name),
        draft=True,
        draft_label=draft_label,
        review_notes=tuple(review_notes),
        indicator_tables_in_final=regime.report.indicator_tables_in_final,
    )
    return ctx, _summary(gathered, sections, notes, review_notes)


def _sentence_vars(cycle: Cycle, regime: Regime, title: str) -> dict[str, object]:
    """What the opening and closing sentences (report-opening.txt, -closing.txt) may say."""
    requester = cycle.request_from or (regime.requester.name if regime.requester else None)
    return {
        "basis": _basis(cycle, regime),
        "periodic": not (cycle.request_ref and cycle.request_date and cycle.request_from),
        "regime_requester": regime.requester.name if regime.requester else None,
        "title": title,
        "subject": lower_first(title),
        "issuer_short": regime.issuer.short_name,
        "requester": requester,
    }


def _summary(
    gathered: Gathered,
    sections: Sequence[ReportSection],
    notes: Sequence[MergeNote],
    review_notes: list[str],
) -> dict[str, object]:
    return {
        "units": gathered.units,
        "counted": len(gathered.contributions),
        "not_replied": list(gathered.not_replied),
        "not_counted": list(gathered.not_counted),
        "late": list(gathered.late),
        "empty_sections": [s.code for s in sections if s.empty_note],
        "near_duplicates": sum(1 for n in notes if "gần trùng" in n.text),
        "review_notes": review_notes,
    }


def _sections(
    section: Section,
    gathered: Gathered,
    title_vars: dict[str, str],
    notes: list[MergeNote],
    *,
    level: int,
    parent: str,
) -> list[ReportSection]:
    heading = section_heading(section.code, nfc(section.title.format(**title_vars)), parent)
    if section.subsections:
        children = [
            s
            for sub in section.subsections
            for s in _sections(
                sub, gathered, title_vars, notes, level=level + 1, parent=section.code
            )
        ]
        return [ReportSection(section.code, heading, level), *children]
    blocks, empty_note = _content(section, gathered, notes)
    missing = missing_units_note(section, gathered)
    return [ReportSection(section.code, heading, level, tuple(blocks), empty_note, missing)]


def _content(
    section: Section, gathered: Gathered, notes: list[MergeNote]
) -> tuple[list[Block], str | None]:
    regime, code = gathered.regime, section.code
    if section.written_by == "secretariat":
        if code in gathered.texts:
            source = f"{SECRETARIAT}: {gathered.text_sources.get(code, '')}".rstrip(": ")
            return [
                Para(p, bullet=p.startswith("- "), sources=(source,)) for p in gathered.texts[code]
            ], None
        lead = [c for c in gathered.contributions if c.unit_code == section.lead_unit]
        blocks, found = merge_section(code, lead)
        notes.extend(found)
        if blocks:
            return blocks, None
        how = f"reportcycle cycle set-text {gathered.cycle.code} {code} FILE"
        lead_name = next((u.name for u in regime.units if u.code == section.lead_unit), None)
        also = f", hoặc chờ {lead_name} gửi" if lead_name else ""
        return [], f"Văn phòng chưa nhập nội dung mục này ({how}{also})."
    blocks, found = merge_section(code, gathered.contributions)
    notes.extend(found)
    indicators = [i for i in regime.indicators if i.section == code]
    if indicators:
        table, found = indicator_table(indicators, gathered.contributions)
        notes.extend(found)
        if table is not None and any(row[3] != "chưa có số liệu" for row in table.rows):
            blocks.append(table)
    if blocks:
        return blocks, None
    assigned = [u.name for u in regime.units if code in u.sections]
    return [], (
        "Chưa đơn vị nào gửi nội dung cho mục này (đơn vị được giao: "
        f"{', '.join(assigned) or 'không có'})."
    )


def _review_notes(
    gathered: Gathered, sections: Sequence[ReportSection], notes: Sequence[MergeNote]
) -> list[str]:
    out = []
    if gathered.not_replied:
        out.append(
            f"Đơn vị chưa gửi báo cáo ({len(gathered.not_replied)}): "
            f"{'; '.join(gathered.not_replied)}."
        )
    out.extend(f"Chưa đưa vào dự thảo — {n}." for n in gathered.not_counted)
    if gathered.late:
        out.append(f"Đơn vị gửi sau hạn: {'; '.join(gathered.late)}.")
    out.extend(f"Mục {s.code} trống: {s.empty_note}" for s in sections if s.empty_note)
    out.extend(n.text for n in notes)
    return out


def _basis(cycle: Cycle, regime: Regime) -> str:
    if cycle.request_ref and cycle.request_date and cycle.request_from:
        return SuperiorRequest(
            ref=cycle.request_ref, date=cycle.request_date, sender=cycle.request_from
        ).sentence()
    return "chế độ báo cáo định kỳ theo quy định"


def section_heading(code: str, title: str, parent: str) -> str:
    """ "3. Kết quả", "a) Đào tạo" for a lettered subsection "3a", "2.1. Cải cách thể chế" for a
    dotted one (its full code: ".1)" would read as a broken heading)."""
    label = code[len(parent) :] if parent and code.startswith(parent) else ""
    if label.isalpha():
        return f"{label}) {title}"
    return f"{code}. {title}"


def _opened_on(cycle: Cycle) -> date:
    return cycle.opened_at.date() if cycle.opened_at else cycle.window_end


def _draft_place_date(place: str, drafted_on: date) -> str:
    # A draft leaves the day and month blank for the clerk, who dates it on the day of issue;
    # the year is the year the draft is made (a Q4 report drafted in February is dated in the
    # new year), never the period's.
    return f"{place}, ngày      tháng      năm {drafted_on.year}"
