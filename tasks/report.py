"""Consolidation tasks: thin wrappers over reportcycle.consolidate (each its own session)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE
from pydantic import BaseModel

from models.db import session
from models.report import ReportVersion
from models.settings import get_settings
from reportcycle.lookup import find_cycle
from reportcycle.report import approval
from reportcycle.report.texts import ConsolidationError


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


def make_draft_now(cycle_ref: str, now: datetime, flow_run_id: str | None) -> VersionInfo:
    with session() as db:
        cycle = find_cycle(db, cycle_ref)
        row, rendered = approval.make_draft(
            db, cycle, now=now, settings=get_settings(), flow_run_id=flow_run_id
        )
        db.commit()
        return _info(row, cycle.code).model_copy(update={"resumed": not rendered})


@task(name="render_draft", cache_policy=NO_CACHE)
def make_draft(cycle_ref: str, now: datetime, flow_run_id: str | None) -> VersionInfo:
    """Render the draft of this flow run (the same one again when the run is resumed)."""
    return make_draft_now(cycle_ref, now, flow_run_id)


def decide_now(cycle_ref: str, draft_id: int, decision: approval.Decision) -> VersionInfo:
    with session() as db:
        cycle = find_cycle(db, cycle_ref)
        draft = db.get(ReportVersion, draft_id)
        if draft is None:
            raise ConsolidationError(f"draft #{draft_id} does not exist")
        row = approval.decide(db, cycle, draft, decision, settings=get_settings())
        db.commit()
        return _info(row, cycle.code)


@task(name="record_decision", cache_policy=NO_CACHE)
def decide(cycle_ref: str, draft_id: int, decision: approval.Decision) -> VersionInfo:
    """Approve (number, final DOCX and PDF, distribution queued) or request changes."""
    return decide_now(cycle_ref, draft_id, decision)
