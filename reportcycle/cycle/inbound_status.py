"""Every message a unit sent for a cycle, with what became of it: a unit whose replies were
all refused is not "nothing received" (status, review list)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import Row
from sqlalchemy import select as sa_select
from sqlmodel import Session, col

from models.inbound import InboundMessage
from models.tables import Cycle

MESSAGE_COLUMNS: tuple[Any, ...] = tuple(
    col(c)
    for c in (
        InboundMessage.id,
        InboundMessage.request_id,
        InboundMessage.received_at,
        InboundMessage.from_address,
        InboundMessage.subject,
        InboundMessage.status,
        InboundMessage.reason,
        InboundMessage.explanation,
    )
) + (col(InboundMessage.details)["signals"].label("signals"),)  # not all of the details


def inbound_by_request(db: Session, cycle: Cycle) -> dict[int, list[dict[str, Any]]]:
    """request id -> its messages, oldest first, each with its outcome and why."""
    rows = (
        db.connection()
        .execute(
            sa_select(*MESSAGE_COLUMNS)  # not the raw bytes, up to MBs each
            .where(col(InboundMessage.cycle_id) == cycle.id)
            .order_by(col(InboundMessage.received_at), col(InboundMessage.id))
        )
        .all()
    )
    out: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for m in rows:
        if m.request_id is not None:
            out[m.request_id].append(message_row(m))
    return dict(out)


def message_row(m: Row[Any]) -> dict[str, Any]:
    return {
        "id": m.id,
        "received_at": m.received_at.isoformat(),
        "from": m.from_address,
        "subject": m.subject,
        "outcome": str(m.status),
        "reason": m.reason,
        "explanation": m.explanation,
        "signals": m.signals,
    }
