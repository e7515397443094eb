"""Flow `chase-late-units`: reminders due today, escalations, the secretariat's digest."""

from __future__ import annotations

from datetime import datetime

from prefect import flow
from pydantic import BaseModel

from flows import heartbeat
from flows.artifacts import Status, Summary, publish_open_cycles
from flows.naming import run_name
from reportcycle.clock import VN_TZ, resolve_now
from reportcycle.cycle.chase import ChaseReport
from reportcycle.outbox.sending import SendReport
from tasks.chase import queue_reminders
from tasks.mail import send_outbox

heartbeat.install()  # no 1 s wait for the heartbeat thread at the end of each run


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
    publish_open_cycles(
        Summary("chase", "Nhắc nhở đơn vị", lambda status: _chase_lines(at, report, sent, status))
    )
    return ChaseResult(
        skipped=report.skipped, reminders=report.reminders, digests=report.digests, sent=sent.sent
    )


def _chase_lines(at: datetime, report: ChaseReport, sent: SendReport, status: Status) -> list[str]:
    units = {u["unit"] for u in status["units"]}
    reminded = [f"{unit} (lần {rung})" for unit, rung in report.reminders.items() if unit in units]
    lines = [f"- Thời điểm: {at.astimezone(VN_TZ):%d/%m/%Y %H:%M}"]
    if report.skipped and not report.reminders:
        lines.append(f"- Không gửi gì: {report.skipped}")
    lines += [
        f"- Nhắc nhở: {', '.join(reminded) if reminded else 'không có'}",
        f"- Bản tổng hợp hằng ngày: {report.digests}; thư đã gửi: {sent.sent}",
    ]
    return lines
