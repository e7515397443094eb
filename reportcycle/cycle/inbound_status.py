"""Every message a unit sent for a cycle, with what became of it: a unit whose replies were
all refused is not "nothing received" (status, review list)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any, cast

from sqlalchemy.orm import QueryableAttribute, defer
from sqlmodel import Session, col, select

from models.inbound import InboundMessage
from models.tables import Cycle


def inbound_by_request(db: Session, cycle: Cycle) -> dict[int, list[dict[str, Any]]]:
    """request id -> its messages, oldest first, each with its outcome and why."""
    rows = db.exec(
        select(InboundMessage)
        .where(col(InboundMessage.cycle_id) == cycle.id)
        .order_by(col(InboundMessage.received_at), col(InboundMessage.id))
        .options(defer(cast(QueryableAttribute[bytes], InboundMessage.raw)))  # up to MBs each
    ).all()
    out: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for m in rows:
        if m.request_id is not None:
            out[m.request_id].append(message_row(m))
    return dict(out)


def message_row(m: InboundMessage) -> dict[str, Any]:
    return {
        "id": m.id,
        "received_at": m.received_at.isoformat(),
        "from": m.from_address,
        "subject": m.subject,
        "outcome": str(m.status),
        "reason": m.reason,
        "explanation": m.explanation,
        "signals": m.details.get("signals") if m.details else None,
    }
