"""Flow `collect-submissions`: new replies read, stored, matched, acknowledged (DESIGN §2)."""

from __future__ import annotations

from datetime import datetime

from prefect import flow
from pydantic import BaseModel

from flows import heartbeat
from flows.artifacts import Summary, publish_open_cycles
from flows.naming import run_name
from reportcycle.clock import VN_TZ, resolve_now
from reportcycle.cycle.labels import counts
from tasks.inbox import collect_mail
from tasks.mail import send_outbox

heartbeat.install()  # no 1 s wait for the heartbeat thread at the end of each run


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
    outcomes = counts(report.outcomes) or "không có"
    lines = [
        f"- Thời điểm: {at.astimezone(VN_TZ):%d/%m/%Y %H:%M}",
        f"- Thư đã đọc: {report.fetched}; thư mới lưu: {report.stored}",
        f"- Kết quả (mọi kỳ đang mở): {outcomes}",
        f"- Biên nhận và thư trả lời đã gửi: {sent.sent}",
    ]
    publish_open_cycles(Summary("collect", "Thu nhận thư trả lời", lambda _: lines))
    return CollectResult(
        fetched=report.fetched,
        stored=report.stored,
        outcomes=report.outcomes,
        replies_sent=sent.sent,
    )
