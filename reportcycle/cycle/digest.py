"""The secretariat's daily digest: where every open cycle stands."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, select

from models.inbound import InboundMessage, InboundStatus
from models.settings import Settings
from models.tables import Cycle, OutboundMessage
from reportcycle.calendar.dates import format_date_vi
from reportcycle.clock import VN_TZ
from reportcycle.cycle.status import cycle_status
from reportcycle.lookup import (
    cycle_context,
)
from reportcycle.outbox.messages import make_message
from reportcycle.outbox.queue import QueueItem, enqueue_many
from reportcycle.regime.schema import Regime
from reportcycle.vietnamese import format_share_vi


def sent_rungs(db: Session, cycle: Cycle) -> dict[str, set[int]]:
    keys = db.exec(
        select(OutboundMessage.idempotency_key).where(
            OutboundMessage.cycle_id == cycle.id, OutboundMessage.kind == "reminder"
        )
    ).all()
    sent: dict[str, set[int]] = defaultdict(set)
    for key in keys:
        _, unit, _, rung = key.rsplit("/", 3)
        sent[unit].add(int(rung) - 1)
    return sent


def queue_digest(
    db: Session, cycle: Cycle, regime: Regime, *, now: datetime, settings: Settings
) -> int:
    """One digest a working day per open cycle, to the secretariat."""
    today = now.astimezone(VN_TZ).date()
    message = make_message(
        "digest",
        sender=settings.mail_from,
        to=[settings.secretariat_address],
        domain=settings.reply_domain,
        now=now,
        context=_digest_context(db, cycle, regime, today=today, settings=settings),
    )
    created = enqueue_many(
        db,
        [QueueItem(f"{cycle.code}/digest/{today.isoformat()}", "digest", message, cycle.id)],
        now=now,
    )
    return len(created)


def _digest_context(
    db: Session, cycle: Cycle, regime: Regime, *, today: date, settings: Settings
) -> dict[str, Any]:
    status = cycle_status(db, cycle)
    sent = sent_rungs(db, cycle)
    totals = status["totals"]
    return {
        **cycle_context(cycle, regime, settings),
        "today_text": format_date_vi(today),
        "totals": totals,
        "rejected": _rejected_count(db, cycle),
        "escalated": _escalated(status, sent, regime),
        "waiting": _waiting(status, sent),
        "reporting_rate": f"{format_share_vi(totals['reporting_rate'])}",
        "on_time_rate": f"{format_share_vi(totals['on_time_rate'])}",
    }


def _escalated(status: dict[str, Any], sent: dict[str, set[int]], regime: Regime) -> list[str]:
    """Units that have been sent a reminder the regime escalates."""
    return sorted(
        {
            u["name"]
            for u in status["units"]
            for i in sent.get(u["unit"], set())
            if regime.reminders[i].escalate
        }
    )


def _rejected_count(db: Session, cycle: Cycle) -> int:
    return len(
        db.exec(
            select(InboundMessage.id).where(
                InboundMessage.cycle_id == cycle.id, InboundMessage.status == InboundStatus.REJECTED
            )
        ).all()
    )


def _waiting(status: dict[str, Any], sent: dict[str, set[int]]) -> list[dict[str, Any]]:
    """Units with no counted reply yet, or one that still lacks something."""
    return [
        {
            "name": u["name"],
            "reminders": len(sent.get(u["unit"], set())),
            "missing": u["reply"]["missing"],
        }
        for u in status["units"]
        if u["reply"]["counted_version"] is None or u["reply"]["missing"]
    ]
