"""A lower body's approved report as its contribution to the parent cycle (README "Reports
that feed a higher report"): no email round trip. When the final is issued, the parent
cycle's request for this body gets a submission, in the same transaction as the final (so a
rerun of the approval, which finds the final, never adds a second one): the narrative by
section, and the indicators aggregated over the lower cycle's units (a `sum` is summed, so
that it sums again a level up), attributed to the body as the parent names it."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlmodel import Session, col, select

from models.db import audit
from models.inbound import InboundMessage, InboundStatus, ReviewState, Submission
from models.report import ReportVersion
from models.tables import Cycle, DataRequest
from reportcycle.clock import VN_TZ
from reportcycle.cycle.parents import parent_cycle, parent_request
from reportcycle.regime.schema import Aggregate, Regime
from reportcycle.report.context import Para, ReportContext, TableBlock, context_from_json
from reportcycle.report.errors import ConsolidationError
from reportcycle.report.gather import gather
from reportcycle.report.merge import INDICATOR_HEADER, UnitContribution
from reportcycle.vietnamese import format_number_vi


def contribute_to_parent(
    db: Session, cycle: Cycle, regime: Regime, final: ReportVersion, draft: ReportVersion
) -> Submission | None:
    """The parent's submission made from `final` (approved from `draft`); None without a
    parent regime."""
    spec = regime.parent
    if spec is None:
        return None
    parent = parent_cycle(db, regime, cycle.period_code)
    request = parent_request(db, parent, spec.unit) if parent else None
    if parent is None or request is None:
        raise ConsolidationError(
            f"the parent cycle of {cycle.code} ({spec.regime}, {cycle.period_code}) or its unit "
            f"{spec.unit} is not there; open the parent's cycle, then approve again"
        )
    at = final.created_at
    inbound = _message(db, cycle, regime, final, parent, request)
    sections = _sections(context_from_json(final.context), spec.sections, request.section_codes)
    indicators = _indicators(db, cycle, regime, draft, request.indicator_codes)
    latest = db.exec(
        select(Submission.version)
        .where(Submission.request_id == request.id)
        .order_by(col(Submission.version).desc())
    ).first()
    submission = Submission(
        request_id=request.id or 0,
        cycle_id=parent.id or 0,
        inbound_id=inbound.id or 0,
        version=(latest or 0) + 1,
        received_at=at,
        late=at.astimezone(VN_TZ).date() > request.deadline,
        kind="rollup",
        sections=sections,
        indicators=indicators,
        missing_sections=[c for c in request.section_codes if not sections.get(c)],
        missing_indicators=[c for c in request.indicator_codes if c not in indicators],
        evidence=[{"rollup_from": cycle.code, "number": final.number_text}],
        review=ReviewState.NONE,
    )
    db.add(submission)
    db.flush()
    audit(
        db,
        at=at,
        action="rollup.contributed",
        entity="submission",
        entity_id=submission.id,
        cycle_id=parent.id,
        child_cycle=cycle.code,
        unit=spec.unit,
        number=final.number_text,
        late=submission.late,
    )
    return submission


def _message(
    db: Session,
    cycle: Cycle,
    regime: Regime,
    final: ReportVersion,
    parent: Cycle,
    request: DataRequest,
) -> InboundMessage:
    """The inbound row a submission hangs from: the issued DOCX as its raw, once per lower
    cycle (its dedupe key)."""
    at = final.created_at
    docx = final.docx or b""
    inbound = InboundMessage(
        dedupe_key=f"rollup:{cycle.code}",
        sha256=hashlib.sha256(docx).hexdigest(),
        source=f"rollup:{cycle.code}",
        source_ref=final.number_text or str(final.version),
        received_at=at,
        size=len(docx),
        raw=docx,
        subject=f"Báo cáo số {final.number_text} của {regime.issuer.name}",
        status=InboundStatus.ACCEPTED,
        cycle_id=parent.id,
        request_id=request.id,
        processed_at=at,
        details={"rollup_from": cycle.code, "report_version": final.version},
    )
    db.add(inbound)
    db.flush()
    return inbound


def _sections(
    ctx: ReportContext, mapping: dict[str, str], wanted: list[str]
) -> dict[str, list[dict[str, Any]]]:
    """The final's narrative by the parent's section codes; its indicator tables are left out
    (the values go up as indicators, to be aggregated again)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for section in ctx.sections:
        code = mapping.get(section.code, section.code)
        if code not in wanted:
            continue
        for block in section.blocks:
            if isinstance(block, TableBlock):
                if block.header != INDICATOR_HEADER:
                    out.setdefault(code, []).append(
                        {"type": "table", "rows": [list(block.header), *map(list, block.rows)]}
                    )
            elif isinstance(block, Para):
                text = block.text.removeprefix("- ") if block.bullet else block.text
                style = "bullet" if block.bullet else "para"
                out.setdefault(code, []).append({"type": "paragraph", "style": style, "text": text})
    return out


def _indicators(
    db: Session, cycle: Cycle, regime: Regime, draft: ReportVersion, wanted: list[str]
) -> dict[str, dict[str, Any]]:
    """Each indicator the parent asks for, over the contributions the approved draft had."""
    contributions = [
        c
        for c in gather(db, cycle).contributions
        if c.received_at is None or c.received_at <= draft.created_at
    ]
    out: dict[str, dict[str, Any]] = {}
    for indicator in regime.indicators:
        if indicator.code not in wanted:
            continue
        values = [
            (c, number)
            for c in contributions
            if (number := _number(c.indicators.get(indicator.code))) is not None
        ]
        if not values:
            continue
        if indicator.aggregate == Aggregate.SUM:
            total = sum((n for _, n in values), Decimal(0))
        else:  # the latest (a list has no single value a level up: its latest stands for it)
            total = max(values, key=lambda item: _arrival(item[0]))[1]
        out[indicator.code] = {"raw": format_number_vi(total), "value": str(total), "problem": None}
    return out


def _number(value: Mapping[str, Any] | None) -> Decimal | None:
    if not value or value.get("problem") or value.get("value") is None:
        return None
    try:
        return Decimal(str(value["value"]))
    except InvalidOperation:
        return None


def _arrival(contribution: UnitContribution) -> float:
    return contribution.received_at.timestamp() if contribution.received_at else 0.0
