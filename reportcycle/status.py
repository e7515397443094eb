"""What a cycle looks like now: the data behind `reportcycle status` and the flow artifacts.

The JSON form is a stable schema (`reportcycle.status/1`, documented in README.md); later
versions only add fields.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from models.tables import Cycle, DataRequest, MessageStatus, OutboundMessage

SCHEMA = "reportcycle.status/1"


def find_cycle(db: Session, ref: str) -> Cycle:
    """A cycle by code, or by numeric id."""
    query = select(Cycle).where(Cycle.code == ref)
    found = db.exec(query).first()
    if found is None and ref.isdigit():
        found = db.get(Cycle, int(ref))
    if found is None:
        known = ", ".join(db.exec(select(Cycle.code).order_by(col(Cycle.id))).all()) or "none yet"
        raise LookupError(f"no cycle {ref!r}; known cycles: {known}")
    return found


def cycle_status(db: Session, cycle: Cycle) -> dict[str, Any]:
    requests = db.exec(
        select(DataRequest).where(DataRequest.cycle_id == cycle.id).order_by(col(DataRequest.id))
    ).all()
    messages = {
        m.request_id: m
        for m in db.exec(
            select(OutboundMessage).where(
                OutboundMessage.cycle_id == cycle.id, OutboundMessage.kind == "request"
            )
        ).all()
    }
    units = [_unit_row(r, messages.get(r.id)) for r in requests]
    totals = {"units": len(units)}
    for state in ("not_queued", *(s.value for s in MessageStatus)):
        totals[state] = sum(1 for u in units if u["request"]["status"] == state)
    return {
        "schema": SCHEMA,
        "cycle": {
            "code": cycle.code,
            "period": cycle.period_code,
            "status": cycle.status,
            "window_start": cycle.window_start.isoformat(),
            "window_end": cycle.window_end.isoformat(),
            "deadline": cycle.deadline.isoformat(),
            "opened_at": cycle.opened_at.isoformat(),
            "request_ref": cycle.request_ref,
        },
        "units": units,
        "totals": totals,
    }


def _unit_row(request: DataRequest, message: OutboundMessage | None) -> dict[str, Any]:
    return {
        "unit": request.unit_code,
        "name": request.unit_name,
        "sections": request.section_codes,
        "indicators": request.indicator_codes,
        "deadline": request.deadline.isoformat(),
        "request": {
            "status": message.status if message else "not_queued",
            "to": request.to_addresses,
            "queued_at": message.created_at.isoformat() if message else None,
            "sent_at": message.sent_at.isoformat() if message and message.sent_at else None,
            "attempts": message.attempts if message else 0,
            "message_id": message.message_id if message else None,
            "error": message.last_error if message else None,
        },
    }
