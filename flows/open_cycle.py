"""Flow `open-cycle`: window and deadline, one request per unit, forms, emails (DESIGN §2)."""

from __future__ import annotations

from datetime import datetime

from prefect import flow
from pydantic import BaseModel

from flows import heartbeat
from flows.artifacts import Summary, publish_cycle
from reportcycle.clock import VN_TZ, resolve_now
from reportcycle.superior_request import SuperiorRequest
from tasks.cycles import create_cycle, queue_requests, record_request_outcomes
from tasks.mail import send_outbox

heartbeat.install()  # no 1 s wait for the heartbeat thread at the end of each run


class OpenCycleResult(BaseModel):
    cycle_id: int
    cycle_code: str
    created: bool
    queued: int
    sent: int
    failed: int


@flow(name="open-cycle", flow_run_name="open-cycle {period}", log_prints=True)
def open_cycle(
    regime_path: str,
    period: str,
    request: SuperiorRequest | None = None,
    now: datetime | None = None,
) -> OpenCycleResult:
    """Open the cycle of `period` for the regime in `regime_path`; running it again for the same
    regime and period creates and sends nothing new (it only finishes what a crash left)."""
    at = resolve_now(now)
    opened = create_cycle(regime_path, period, request, at)
    queued = queue_requests(opened.cycle_id, at)
    report = send_outbox(at, opened.cycle_id)
    record_request_outcomes(opened.cycle_id, at)
    lines = [
        f"- Thời điểm: {at.astimezone(VN_TZ):%d/%m/%Y %H:%M}",
        f"- Yêu cầu mới xếp hàng: {queued}",
        f"- Thư đã gửi: {report.sent}; lỗi: {report.failed}",
    ]
    title = "Mở kỳ báo cáo" if opened.created else "Mở lại kỳ báo cáo (đã mở trước đó)"
    publish_cycle(opened.cycle_id, Summary("open", title, lambda _: lines))
    return OpenCycleResult(
        cycle_id=opened.cycle_id,
        cycle_code=opened.code,
        created=opened.created,
        queued=queued,
        sent=report.sent,
        failed=report.failed,
    )
