"""What we answer to a reply: a receipt, a rejection with what to fix, and a note to the
secretariat when a person must look. Queued in the outbox like every other message."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlmodel import Session

from models.inbound import InboundMessage, Submission
from models.settings import Settings
from models.tables import Cycle
from reportcycle.calendar.dates import format_date_vi
from reportcycle.calendar.periods import next_period, parse_period
from reportcycle.clock import VN_TZ
from reportcycle.inbox.processing import Outcome
from reportcycle.lookup import regime_of
from reportcycle.outbox.messages import make_message, subject_tag
from reportcycle.outbox.queue import QueueItem, enqueue_many
from reportcycle.regime.schema import Regime
from reportcycle.vietnamese import format_measured_vi, format_number_vi

REASONS_VI = {
    "unknown_sender": "địa chỉ gửi chưa được đăng ký cho đơn vị",
    "body_only": "nội dung nằm trong thân thư, không có phiếu đính kèm",
    "partial": "phiếu chưa điền đủ các mục hoặc số liệu",
    "unreadable_figures": "có số liệu không đọc được là số",
    "legacy_encoding": "văn bản dùng bảng mã cũ (TCVN3/VNI) đã được chuyển đổi",
    "signals_disagree": "mã trong địa chỉ, tiêu đề và phiếu không trùng nhau",
    "internal_error": "hệ thống gặp lỗi khi đọc thư",
}


def received_text(at: datetime) -> str:
    local = at.astimezone(VN_TZ)
    return f"{local:%H:%M} {format_date_vi(local.date())}"


def queue_replies(
    db: Session,
    *,
    inbound: InboundMessage,
    outcome: Outcome,
    submission: Submission | None,
    settings: Settings,
    now: datetime,
    step: str = "",
) -> None:
    """Queue what this outcome calls for; idempotent per inbound message, kind and `step` (a
    person's decision after review is a step of its own: its receipt is a new message, not the
    "under review" one the collector sent)."""
    items = replies_for(
        db, inbound=inbound, outcome=outcome, submission=submission, settings=settings, now=now
    )
    enqueue_many(db, [_with_step(i, step) for i in items], now=now)


def replies_for(
    db: Session,
    *,
    inbound: InboundMessage,
    outcome: Outcome,
    submission: Submission | None,
    settings: Settings,
    now: datetime,
) -> list[QueueItem]:
    """The messages this outcome calls for, composed and not yet queued: the collector queues
    a whole chunk's with one `enqueue_many`."""
    cycle = db.get(Cycle, outcome.request.cycle_id) if outcome.request else None
    regime = regime_of(db, cycle) if cycle else None
    items = []
    if outcome.status == "rejected" and outcome.sender:
        context = _rejection_context(outcome, inbound, regime)
        items.append(_item(settings, now, inbound, "rejection", outcome.sender, context))
    trusted = "unknown_sender" not in outcome.review_reasons
    if submission is not None and cycle is not None and regime is not None and trusted:
        assert outcome.sender is not None
        context = _receipt_context(outcome, inbound, submission, cycle, regime)
        items.append(_item(settings, now, inbound, "receipt", outcome.sender, context))
    if outcome.status == "needs_review":
        context = _review_context(outcome, inbound, submission, cycle)
        to = settings.secretariat_address
        items.append(_item(settings, now, inbound, "review-needed", to, context, threaded=False))
    return items


def _with_step(item: QueueItem, step: str) -> QueueItem:
    """The secretariat's note is not per step: a review's decision needs no second one."""
    if not step or item.kind == "review-needed":
        return item
    return replace(item, key=f"{item.key}{step}")


def _item(
    settings: Settings,
    now: datetime,
    inbound: InboundMessage,
    kind: str,
    to: str,
    context: dict[str, Any],
    *,
    threaded: bool = True,
) -> QueueItem:
    headers = {}
    if threaded and inbound.message_id:
        headers = {
            "In-Reply-To": inbound.message_id,
            "References": inbound.message_id,
            "Auto-Submitted": "auto-replied",
        }
    message = make_message(
        kind,
        sender=settings.mail_from,
        to=[to],
        context=context,
        domain=settings.reply_domain,
        now=now,
        headers=headers,
    )
    return QueueItem(
        f"inbound/{inbound.id}/{kind}", kind, message, inbound.cycle_id, inbound.request_id
    )


def _base(regime: Regime | None, outcome: Outcome) -> dict[str, Any]:
    name = regime.issuer.short_name if regime else "Văn phòng"
    return {
        "issuer_short": name,
        "signature": f"Văn phòng {regime.issuer.name}" if regime else "Văn phòng",
        "tag": subject_tag(outcome.request.token) if outcome.request else None,
    }


def _rejection_context(
    outcome: Outcome, inbound: InboundMessage, regime: Regime | None
) -> dict[str, Any]:
    return {
        **_base(regime, outcome),
        "addressee": outcome.request.unit_name if outcome.request else outcome.sender,
        "their_subject": _without_tag(outcome.subject) or "(không có tiêu đề)",
        "received_text": received_text(inbound.received_at),
        "explanation": outcome.explanation,
    }


def _without_tag(subject: str) -> str:
    """Their subject less our "[RC-…]" tag: the template adds it once ("[RC-x] [RC-x]" else)."""
    return " ".join(_TAG.sub(" ", subject).split())


_TAG = re.compile(r"\[RC-[a-z2-7]{20}\]", re.IGNORECASE)


def _receipt_context(
    outcome: Outcome, inbound: InboundMessage, submission: Submission, cycle: Cycle, regime: Regime
) -> dict[str, Any]:
    period = parse_period(cycle.period_code)
    variables = {"period": period.label_vi, "next_period": next_period(period).label_vi}
    request = outcome.request
    assert request is not None
    sections = []
    for code, blocks in submission.sections.items():
        if blocks:
            sections.append(
                {
                    "code": code,
                    "title": regime.section(code).title.format(**variables),
                    "count": sum(b["type"] == "paragraph" for b in blocks),
                    "tables": sum(b["type"] == "table" for b in blocks),
                }
            )
    indicators, unreadable = _indicator_lines(submission, regime)
    missing = [
        f"Mục {c}. {regime.section(c).title.format(**variables)}"
        for c in submission.missing_sections
    ]
    missing += [f"Số liệu: {regime.indicator(c).label}" for c in submission.missing_indicators]
    missing += unreadable
    return {
        **_base(regime, outcome),
        "unit_name": request.unit_name,
        "report_title": regime.report_title.format(**variables),
        "version": submission.version,
        "received_text": received_text(inbound.received_at),
        "late": submission.late,
        "deadline_text": format_date_vi(request.deadline),
        "sections": sections,
        "indicators": indicators,
        "missing": missing,
        "warnings": submission.warnings,
        "under_review": outcome.status == "needs_review",
        "review_reasons": [REASONS_VI.get(r, r) for r in outcome.review_reasons],
    }


def _review_context(
    outcome: Outcome, inbound: InboundMessage, submission: Submission | None, cycle: Cycle | None
) -> dict[str, Any]:
    return {
        "inbound_id": inbound.id,
        "sender": outcome.sender or "",
        "their_subject": outcome.subject,
        "received_text": received_text(inbound.received_at),
        "unit_name": outcome.request.unit_name if outcome.request else None,
        "cycle_code": cycle.code if cycle else None,
        "review_reasons": [REASONS_VI.get(r, r) for r in outcome.review_reasons],
        "reason_codes": outcome.review_reasons,
        "signals_text": outcome.signals_text,
        "submission_id": submission.id if submission else "?",
    }


def _indicator_lines(
    submission: Submission, regime: Regime
) -> tuple[list[dict[str, str]], list[str]]:
    """The figures read ("Số liệu đã đọc"), and those that could not be, for "Còn thiếu": a
    figure we could not read is not one we have."""
    read, unreadable = [], []
    for code, value in submission.indicators.items():
        if not value["raw"]:
            continue
        indicator = regime.indicator(code)
        if value.get("problem"):
            unreadable.append(
                f"Số liệu: {indicator.label}: “{value['raw']}” chưa đọc được "
                f"({_vietnamese(value['problem'])}); đề nghị ghi lại bằng chữ số, ví dụ "
                "“1.234” hoặc “12,5”"
            )
            continue
        if value["value"] is None:  # a text indicator: the unit's words
            raw = value["raw"]
            read.append({"label": indicator.label, "value": raw, "measure": "", "shown": raw})
            continue
        number = format_number_vi(Decimal(value["value"]))
        read.append(
            {
                "label": indicator.label,
                "value": number,
                "measure": indicator.measure,
                "shown": format_measured_vi(number, indicator.measure),
            }
        )
    return read, unreadable


def _vietnamese(problem: str) -> str:
    """The Vietnamese half of a "vi / en" message: the unit reads Vietnamese."""
    return problem.split(" / ")[0].strip()
