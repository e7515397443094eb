"""The `consolidate-report` flow's steps as plain functions, each in its own session: render
this run's draft, record the secretariat's decision. They hand the flow a `VersionInfo`, never
an ORM row."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlmodel import col, select

from models.db import session
from models.report import ReportStatus, ReportVersion
from models.settings import get_settings
from reportcycle.faults import checkpoint
from reportcycle.lookup import find_cycle
from reportcycle.report import approval, drafts
from reportcycle.report.errors import ConsolidationError


class VersionInfo(BaseModel):
    id: int
    cycle_id: int
    cycle_code: str
    version: int
    kind: str
    status: str
    path: str | None
    pdf_path: str | None
    number: str | None
    summary: dict[str, Any]
    resumed: bool = False  # a draft this flow run made before it was suspended


def _info(row: ReportVersion, cycle_code: str) -> VersionInfo:
    return VersionInfo(
        id=row.id or 0,
        cycle_id=row.cycle_id,
        cycle_code=cycle_code,
        version=row.version,
        kind=row.kind,
        status=row.status,
        path=row.path,
        pdf_path=row.pdf_path,
        number=row.number_text,
        summary=row.summary,
    )


def render_draft(cycle_ref: str, now: datetime, flow_run_id: str | None) -> VersionInfo:
    """The draft of this flow run (the same one again when the run is resumed)."""
    with session() as db:
        cycle = find_cycle(db, cycle_ref)
        row, rendered = drafts.make_draft(
            db, cycle, now=now, settings=get_settings(), flow_run_id=flow_run_id
        )
        db.commit()
        return _info(row, cycle.code).model_copy(update={"resumed": not rendered})


def record_decision(cycle_ref: str, draft_id: int, decision: approval.Decision) -> VersionInfo:
    """Approve (number, final DOCX and PDF, distribution queued) or request changes."""
    with session() as db:
        cycle = find_cycle(db, cycle_ref)
        draft = db.get(ReportVersion, draft_id)
        if draft is None:
            raise ConsolidationError(f"draft #{draft_id} does not exist")
        row = approval.decide(db, cycle, draft, decision, settings=get_settings())
        db.commit()
        if row.kind == "final":
            checkpoint("after_archive_commit")  # final archived and committed, nothing sent
        return _info(row, cycle.code)


def superseded_runs(cycle_ref: str) -> list[tuple[str, int]]:
    """(flow run id, version) of every superseded draft of the cycle made by a flow run."""
    with session() as db:
        cycle = find_cycle(db, cycle_ref)
        rows = db.exec(
            select(ReportVersion.flow_run_id, ReportVersion.version).where(
                ReportVersion.cycle_id == cycle.id,
                ReportVersion.status == ReportStatus.SUPERSEDED,
                col(ReportVersion.flow_run_id).is_not(None),
            )
        ).all()
    return [(run_id, version) for run_id, version in rows if run_id is not None]
