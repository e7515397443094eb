"""Flow `chase-late-units`: reminders due today, escalations, the secretariat's digest."""

from __future__ import annotations

from datetime import datetime

from prefect import flow
from pydantic import BaseModel

from flows.artifacts import publish_open_cycles
from flows.naming import run_name
from reportcycle.clock import resolve_now
from tasks.chase import queue_reminders
from tasks.mail import send_outbox


class ChaseResult(BaseModel):
    skipped: str | None
    reminders: dict[str, int]
    digests: int
    sent: int


@flow(name="chase-late-units", flow_run_name=run_name("chase"), log_prints=True)
def chase_late_units(now: datetime | None = None) -> ChaseResult:
    """Runs daily; on a non-working day or outside office hours it sends nothing."""
    at = resolve_now(now)
    report = queue_reminders(at)
    sent = send_outbox(at)
    publish_open_cycles()
    return ChaseResult(
        skipped=report.skipped, reminders=report.reminders, digests=report.digests, sent=sent.sent
    )
