"""Flow `collect-submissions`: new replies read, stored, matched, acknowledged (DESIGN §2)."""

from __future__ import annotations

from datetime import datetime

from prefect import flow
from pydantic import BaseModel

from flows.artifacts import publish_open_cycles
from flows.naming import run_name
from reportcycle.clock import resolve_now
from tasks.inbox import collect_mail
from tasks.mail import send_outbox


class CollectResult(BaseModel):
    fetched: int
    stored: int
    outcomes: dict[str, int]
    replies_sent: int


@flow(name="collect-submissions", flow_run_name=run_name("collect"), log_prints=True)
def collect_submissions(now: datetime | None = None) -> CollectResult:
    at = resolve_now(now)
    report = collect_mail(at)
    sent = send_outbox(at)
    publish_open_cycles()
    return CollectResult(
        fetched=report.fetched,
        stored=report.stored,
        outcomes=report.outcomes,
        replies_sent=sent.sent,
    )
