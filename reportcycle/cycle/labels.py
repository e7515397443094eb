"""The Vietnamese words for the codes a coordinator sees: one mapping, for the terminal, the
Prefect UI's artifacts and the demo. `--json` output keeps the codes."""

from __future__ import annotations

from collections.abc import Mapping

LABELS = {
    # a reply (InboundStatus / the status's reply outcome)
    "accepted": "đã nhận",
    "needs_review": "chờ xem xét",
    "rejected": "bị từ chối",
    "ignored": "bỏ qua",
    "stored": "chưa xử lý",
    # a request or message in the outbox (RequestStatus / MessageStatus)
    "queued": "chờ gửi",
    "sending": "đang gửi",
    "sent": "đã gửi",
    "failed": "gửi lỗi",
    "uncertain": "chưa rõ đã gửi",
    "not_queued": "chưa xếp gửi",
    # a cycle (CycleStatus)
    "open": "đang mở",
    "consolidating": "đang tổng hợp",
    "closed": "đã đóng",
    # a report version (ReportKind / ReportStatus)
    "draft": "dự thảo",
    "edited": "bản đã sửa",
    "final": "bản chính thức",
    "awaiting": "chờ phê duyệt",
    "superseded": "đã thay bằng bản mới",
    "changes_requested": "yêu cầu chỉnh sửa",
    "approved": "đã duyệt",
    "issued": "đã phát hành",
}
NOT_RECEIVED = "chưa nhận"


def label(code: str | None, *, none: str = "—") -> str:
    """The Vietnamese word for a status code; an unknown code is shown as it is."""
    if not code:
        return none
    return LABELS.get(str(code), str(code))


def counts(outcomes: Mapping[str, int]) -> str:
    """ "đã nhận: 2, chờ xem xét: 1" for {"accepted": 2, "needs_review": 1}."""
    return ", ".join(f"{label(k)}: {v}" for k, v in sorted(outcomes.items()))
