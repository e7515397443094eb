"""Consolidation: drafts, the secretariat's decision, the number, the final and its
distribution (DESIGN §8). Every step is safe to run again: a flow run resumed after its
suspension starts from the top, and a process may die anywhere.

- `make_draft` renders a new draft version, one per flow run;
- `decide` records "request changes", or approves: takes the next number of the issuing body
  for the year (committed on its own, reused by a rerun), renders the final from exactly the
  approved draft (or from the edited DOCX handed in), converts it to PDF, archives it and
  queues one email per recipient with an address.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from sqlmodel import Session, col, func, select

from models.db import audit
from models.report import (
    IssuedNumber,
    ReportKind,
    ReportStatus,
    ReportVersion,
)
from models.settings import Settings
from models.tables import Cycle, CycleStatus
from reportcycle.calendar.dates import format_date_vi
from reportcycle.clock import VN_TZ
from reportcycle.faults import checkpoint
from reportcycle.lookup import regime_of
from reportcycle.regime.schema import Regime
from reportcycle.report.archive import archive, queue_distribution
from reportcycle.report.build import Stamp, build_report_context
from reportcycle.report.context import context_from_json, context_to_json
from reportcycle.report.gather import gather
from reportcycle.report.numbering import issue_number
from reportcycle.report.texts import ConsolidationError

# --- drafts -------------------------------------------------------------------------------


def make_draft(
    db: Session,
    cycle: Cycle,
    *,
    now: datetime,
    settings: Settings,
    flow_run_id: str | None = None,
) -> tuple[ReportVersion, bool]:
    """A new draft from the contributions counted now, and True; or, for a flow run that
    already made its draft (a resumed run), that draft and False. Earlier drafts still
    awaiting a decision are superseded."""
    from reportcycle.report.render import render_docx

    if flow_run_id is not None:
        made = db.exec(
            select(ReportVersion).where(ReportVersion.flow_run_id == flow_run_id)
        ).first()
        if made is not None:
            archive(settings, cycle, made)
            return made, False
    version = _next_version(db, cycle)
    local = now.astimezone(VN_TZ)
    label = f"DỰ THẢO lần {version} — {local:%d/%m/%Y %H:%M}"
    ctx, summary = build_report_context(gather(db, cycle), stamp=None, draft_label=label)
    docx = render_docx(ctx)
    for earlier in db.exec(
        select(ReportVersion).where(
            ReportVersion.cycle_id == cycle.id, ReportVersion.status == ReportStatus.AWAITING
        )
    ).all():
        earlier.status = ReportStatus.SUPERSEDED
        db.add(earlier)
    row = ReportVersion(
        cycle_id=cycle.id or 0,
        version=version,
        kind=ReportKind.DRAFT,
        status=ReportStatus.AWAITING,
        flow_run_id=flow_run_id,
        created_at=now,
        docx=docx,
        docx_sha256=hashlib.sha256(docx).hexdigest(),
        summary=summary,
        context=context_to_json(ctx),
    )
    db.add(row)
    if cycle.status == CycleStatus.OPEN:
        cycle.status = CycleStatus.CONSOLIDATING
        db.add(cycle)
    db.flush()
    archive(settings, cycle, row)
    audit(
        db,
        at=now,
        action="report.draft",
        entity="reportversion",
        entity_id=row.id,
        cycle_id=cycle.id,
        version=version,
        path=row.path,
        counted=summary["counted"],
        units=summary["units"],
        not_replied=summary["not_replied"],
    )
    return row, True


def _next_version(db: Session, cycle: Cycle) -> int:
    last = db.exec(
        select(func.max(ReportVersion.version)).where(ReportVersion.cycle_id == cycle.id)
    ).one()
    return (last or 0) + 1


def latest_draft(db: Session, cycle: Cycle) -> ReportVersion | None:
    return db.exec(
        select(ReportVersion)
        .where(ReportVersion.cycle_id == cycle.id, ReportVersion.kind == ReportKind.DRAFT)
        .order_by(col(ReportVersion.version).desc())
    ).first()


def final_of(db: Session, cycle: Cycle) -> ReportVersion | None:
    return db.exec(
        select(ReportVersion).where(
            ReportVersion.cycle_id == cycle.id, ReportVersion.kind == ReportKind.FINAL
        )
    ).first()


# --- the decision -------------------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    approve: bool
    at: datetime
    comment: str = ""
    edited: Path | None = None  # a DOCX the secretariat edited, to use as the final
    actor: str = "secretariat"


def decide(
    db: Session, cycle: Cycle, draft: ReportVersion, decision: Decision, *, settings: Settings
) -> ReportVersion:
    """Record the decision on `draft`; on approval return the final (made once)."""
    done = final_of(db, cycle)
    if done is not None:
        return done
    if draft.status == ReportStatus.SUPERSEDED:
        newer = latest_draft(db, cycle)
        raise ConsolidationError(
            f"draft {draft.version} was replaced by draft {newer.version if newer else '?'}; "
            "decide on the latest draft"
        )
    if not decision.approve:
        draft.status = ReportStatus.CHANGES_REQUESTED
        _decided(draft, decision)
        db.add(draft)
        audit(
            db,
            at=decision.at,
            actor=decision.actor,
            action="report.changes_requested",
            entity="reportversion",
            entity_id=draft.id,
            cycle_id=cycle.id,
            version=draft.version,
            comment=decision.comment,
        )
        return draft
    edited = _read_edited(decision.edited) if decision.edited else None
    regime = regime_of(db, cycle)
    on = decision.at.astimezone(VN_TZ).date()
    number = issue_number(db, cycle, regime, on=on, at=decision.at)
    db.commit()  # the number is taken for good: a rerun after a crash reuses it
    checkpoint("after_number")
    return _issue_final(db, cycle, regime, draft, decision, number, edited, settings=settings)


def _read_edited(path: Path) -> bytes:
    if not path.is_file():
        raise ConsolidationError(f"{path}: no such file / không tìm thấy tệp")
    data = path.read_bytes()
    if not data.startswith(b"PK"):
        raise ConsolidationError(
            f"{path}: not a .docx file; save the edited report as Word .docx and try again / "
            "tệp không phải .docx"
        )
    return data


def _issue_final(
    db: Session,
    cycle: Cycle,
    regime: Regime,
    draft: ReportVersion,
    decision: Decision,
    number: IssuedNumber,
    edited: bytes | None,
    *,
    settings: Settings,
) -> ReportVersion:
    from reportcycle.documents.convert import convert
    from reportcycle.report.finalize import finalize_edited
    from reportcycle.report.render import render_docx

    on = decision.at.astimezone(VN_TZ).date()
    stamp = Stamp(number.text, on)
    approved = context_from_json(draft.context)
    place_date = f"{regime.issuer.place}, {format_date_vi(on)}"
    number_line = f"Số: {number.text}"
    base = draft
    if edited is not None:
        base = _store_edited(db, cycle, draft, edited, decision, settings=settings)
        docx = finalize_edited(edited, number_line=number_line, place_date=place_date)
    else:
        final_ctx = replace(
            approved,
            number_line=number_line,
            place_date=place_date,
            draft=False,
            draft_label=None,
            review_notes=(),
        )
        docx = render_docx(final_ctx)
    pdf = convert(docx, source_suffix=".docx", target="pdf")
    final = ReportVersion(
        cycle_id=cycle.id or 0,
        version=_next_version(db, cycle),
        kind=ReportKind.FINAL,
        status=ReportStatus.ISSUED,
        based_on_id=base.id,
        created_at=decision.at,
        docx=docx,
        docx_sha256=hashlib.sha256(docx).hexdigest(),
        pdf=pdf,
        number_text=stamp.number_text,
        summary={**draft.summary, "number": stamp.number_text, "date": on.isoformat()},
        context=draft.context,
    )
    _decided(final, decision)
    db.add(final)
    for approved_row in {draft.id: draft, base.id: base}.values():
        approved_row.status = ReportStatus.APPROVED
        _decided(approved_row, decision)
        db.add(approved_row)
    cycle.status = CycleStatus.CLOSED
    db.add(cycle)
    db.flush()
    archive(settings, cycle, final)
    queued = queue_distribution(db, cycle, regime, final, on=on, now=decision.at, settings=settings)
    audit(
        db,
        at=decision.at,
        actor=decision.actor,
        action="report.approved",
        entity="reportversion",
        entity_id=final.id,
        cycle_id=cycle.id,
        draft_version=draft.version,
        edited=edited is not None,
        number=stamp.number_text,
        path=final.path,
        pdf_path=final.pdf_path,
        recipients=queued,
        comment=decision.comment,
    )
    return final


def _store_edited(
    db: Session,
    cycle: Cycle,
    draft: ReportVersion,
    data: bytes,
    decision: Decision,
    *,
    settings: Settings,
) -> ReportVersion:
    row = ReportVersion(
        cycle_id=cycle.id or 0,
        version=_next_version(db, cycle),
        kind=ReportKind.EDITED,
        status=ReportStatus.APPROVED,
        based_on_id=draft.id,
        created_at=decision.at,
        docx=data,
        docx_sha256=hashlib.sha256(data).hexdigest(),
        summary={"file": str(decision.edited)},
        context={},
    )
    db.add(row)
    db.flush()
    archive(settings, cycle, row)
    return row


def _decided(row: ReportVersion, decision: Decision) -> None:
    row.decided_at, row.decided_by = decision.at, decision.actor
    row.decision_comment = decision.comment or None
