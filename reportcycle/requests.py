"""Request emails: each unit's form rendered, its email composed and queued in the outbox.

Plain functions behind the `queue_requests` task; idempotent, so a rerun after a crash only
queues what is missing.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from models.db import audit
from models.settings import Settings
from models.tables import Cycle, DataRequest, MessageStatus, OutboundMessage, RequestStatus
from reportcycle import forms
from reportcycle.cycles import SuperiorRequest, regime_of
from reportcycle.messages import Attachment, make_message, reply_address, subject_tag
from reportcycle.outbox import enqueue
from reportcycle.regime import Regime
from reportcycle.workcal import format_date_short, format_date_vi, next_period, parse_period


def request_key(cycle: Cycle, request: DataRequest) -> str:
    return f"{cycle.code}/{request.unit_code}/request"


def unqueued_requests(db: Session, cycle: Cycle) -> list[DataRequest]:
    """Requests whose email is not yet in the outbox (all of them on a first run)."""
    queued = set(
        db.exec(
            select(OutboundMessage.request_id).where(
                OutboundMessage.cycle_id == cycle.id, OutboundMessage.kind == "request"
            )
        ).all()
    )
    rows = db.exec(
        select(DataRequest).where(DataRequest.cycle_id == cycle.id).order_by(col(DataRequest.id))
    ).all()
    return [r for r in rows if r.id not in queued]


def queue_request_emails(db: Session, *, cycle_id: int, now: datetime, settings: Settings) -> int:
    """Render each pending unit's form and queue its email; one template per assignment."""
    cycle = db.get(Cycle, cycle_id)
    if cycle is None:
        raise LookupError(f"no cycle with id {cycle_id}")
    regime = regime_of(cycle)
    pending = unqueued_requests(db, cycle)
    groups: dict[tuple[tuple[str, ...], tuple[str, ...]], list[DataRequest]] = defaultdict(list)
    for request in pending:
        groups[(tuple(request.section_codes), tuple(request.indicator_codes))].append(request)
    context = _cycle_context(cycle, regime, settings)
    queued = 0
    for (sections, indicators), requests in groups.items():
        template = forms.build_form_template(
            regime,
            section_codes=sections,
            indicator_codes=indicators,
            period_label=context["period_label"],
            deadline_text=context["deadline_text"],
            title_vars=context["title_vars"],
        )
        for request in requests:
            _queue_one(
                db,
                cycle=cycle,
                regime=regime,
                request=request,
                template=template,
                context=context,
                now=now,
                settings=settings,
            )
            queued += 1
    return queued


def _cycle_context(cycle: Cycle, regime: Regime, settings: Settings) -> dict[str, Any]:
    period = parse_period(cycle.period_code)
    title_vars = {"period": period.label_vi, "next_period": next_period(period).label_vi}
    if cycle.request_ref and cycle.request_date and cycle.request_from:
        basis = SuperiorRequest(
            ref=cycle.request_ref, date=cycle.request_date, sender=cycle.request_from
        ).sentence()
    else:
        basis = f"chế độ báo cáo định kỳ ({regime.name})"
    return {
        "period_label": period.label_vi,
        "title_vars": title_vars,
        "report_title": regime.report_title.format(**title_vars),
        "basis": basis,
        "issuer_short": regime.issuer.short_name,
        "window_start": format_date_short(cycle.window_start),
        "window_end": format_date_short(cycle.window_end),
        "deadline_text": format_date_vi(cycle.deadline),
        "signature": f"Văn phòng {regime.issuer.name}",
        "cycle_code": cycle.code,
    }


def _queue_one(
    db: Session,
    *,
    cycle: Cycle,
    regime: Regime,
    request: DataRequest,
    template: bytes,
    context: dict[str, Any],
    now: datetime,
    settings: Settings,
) -> None:
    reply = reply_address(settings.reply_local_part, request.token, settings.reply_domain)
    form = forms.stamp_form(
        template,
        token=request.token,
        unit_code=request.unit_code,
        unit_name=request.unit_name,
        reply_address=reply,
        cycle_code=cycle.code,
    )
    filename = forms.form_filename(request.unit_name, cycle.period_code)
    message = make_message(
        "request",
        sender=settings.mail_from,
        to=request.to_addresses,
        reply_to=reply,
        domain=settings.reply_domain,
        context={
            **context,
            "unit_name": request.unit_name,
            "tag": subject_tag(request.token),
            "token": request.token,
            "reply_address": reply,
            "form_filename": filename,
            "sections": [regime.section(c) for c in request.section_codes],
            "indicators": [regime.indicator(c) for c in request.indicator_codes],
            "now": now,
        },
        attachments=[Attachment(filename, form)],
        headers={"X-Reportcycle-Token": request.token},
    )
    enqueue(
        db,
        key=request_key(cycle, request),
        kind="request",
        message=message,
        now=now,
        cycle_id=cycle.id,
        request_id=request.id,
    )
    request.form_filename, request.form_sha256 = filename, hashlib.sha256(form).hexdigest()
    audit(
        db,
        at=now,
        action="request.queued",
        entity="datarequest",
        entity_id=request.id,
        cycle_id=cycle.id,
        unit=request.unit_code,
        message_id=message["Message-ID"],
    )


def sync_request_status(db: Session, *, cycle_id: int, now: datetime) -> None:
    """Carry each request email's outcome onto its request (sent, or failed with reasons)."""
    pairs: Sequence[tuple[DataRequest, OutboundMessage]] = db.exec(
        select(DataRequest, OutboundMessage)
        .join(OutboundMessage, col(OutboundMessage.request_id) == col(DataRequest.id))
        .where(DataRequest.cycle_id == cycle_id, OutboundMessage.kind == "request")
    ).all()
    for request, message in pairs:
        new = {
            MessageStatus.SENT: RequestStatus.SENT,
            MessageStatus.FAILED: RequestStatus.FAILED,
        }.get(MessageStatus(message.status))
        if new is not None and request.status != new:
            request.status, request.sent_at = new, message.sent_at
            audit(
                db,
                at=now,
                action=f"request.{new.value}",
                entity="datarequest",
                entity_id=request.id,
                cycle_id=cycle_id,
                unit=request.unit_code,
                error=message.last_error,
            )
