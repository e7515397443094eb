"""Drafts of the consolidated report (DESIGN §8): one new version per flow run, made from the
contributions counted at that moment; a flow run resumed after its suspension finds its own
draft again instead of making another."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, func, select

from models.db import audit
from models.report import ReportKind, ReportStatus, ReportVersion
from models.settings import Settings
from models.tables import Cycle, CycleStatus
from reportcycle.clock import VN_TZ
from reportcycle.faults import checkpoint
from reportcycle.report.archive import archive
from reportcycle.report.build import build_report_context
from reportcycle.report.context import context_to_json
from reportcycle.report.gather import gather


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

    made = _draft_of_run(db, flow_run_id)
    if made is not None:
        archive(settings, cycle, made)
        return made, False
    version = next_version(db, cycle)
    label = f"DỰ THẢO lần {version} — {now.astimezone(VN_TZ):%d/%m/%Y %H:%M}"
    ctx, summary = build_report_context(
        gather(db, cycle), draft_label=label, drafted_on=now.astimezone(VN_TZ).date()
    )
    docx = render_docx(ctx)
    checkpoint("mid_render")  # rendered, nothing stored yet
    _supersede_awaiting(db, cycle)
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
    _audit_draft(db, row, cycle, summary, now)
    return row, True


def _draft_of_run(db: Session, flow_run_id: str | None) -> ReportVersion | None:
    if flow_run_id is None:
        return None
    return db.exec(select(ReportVersion).where(ReportVersion.flow_run_id == flow_run_id)).first()


def _supersede_awaiting(db: Session, cycle: Cycle) -> None:
    """Earlier drafts still waiting for a decision: the new draft replaces them."""
    for earlier in db.exec(
        select(ReportVersion).where(
            ReportVersion.cycle_id == cycle.id, ReportVersion.status == ReportStatus.AWAITING
        )
    ).all():
        earlier.status = ReportStatus.SUPERSEDED
        db.add(earlier)


def _audit_draft(
    db: Session, row: ReportVersion, cycle: Cycle, summary: dict[str, Any], now: datetime
) -> None:
    audit(
        db,
        at=now,
        action="report.draft",
        entity="reportversion",
        entity_id=row.id,
        cycle_id=cycle.id,
        version=row.version,
        path=row.path,
        counted=summary["counted"],
        units=summary["units"],
        not_replied=summary["not_replied"],
    )


def next_version(db: Session, cycle: Cycle) -> int:
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


def versions_of(db: Session, cycle: Cycle) -> list[ReportVersion]:
    """Every version of the cycle's report, in order: drafts, edited copies, the final."""
    return list(
        db.exec(
            select(ReportVersion)
            .where(ReportVersion.cycle_id == cycle.id)
            .order_by(col(ReportVersion.version))
        ).all()
    )
