"""What a cycle looks like now: the data behind `reportcycle status` and the flow artifacts.

The JSON form is a stable schema (`reportcycle.status/1`, documented in README.md); later
versions only add fields.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from models.db import session
from models.inbound import ReviewState
from models.tables import Cycle, CycleStatus, DataRequest, MessageStatus, OutboundMessage
from models.types import JsonOnce, json_as_text
from reportcycle.cycle.inbound_status import inbound_by_request
from reportcycle.lookup import SubmissionState, counted_submission, find_cycle, submission_states

SCHEMA = "reportcycle.status/1"  # additions only: "reply" per unit, rates in totals
REQUEST_COLUMNS: tuple[Any, ...] = tuple(
    col(c)
    for c in (
        DataRequest.id,
        DataRequest.unit_code,
        DataRequest.unit_name,
        DataRequest.deadline,
        DataRequest.to_addresses,
    )
) + (json_as_text(col(DataRequest.section_codes)), json_as_text(col(DataRequest.indicator_codes)))
MESSAGE_COLUMNS: tuple[Any, ...] = tuple(
    col(c)
    for c in (
        OutboundMessage.request_id,
        OutboundMessage.status,
        OutboundMessage.created_at,
        OutboundMessage.sent_at,
        OutboundMessage.attempts,
        OutboundMessage.message_id,
        OutboundMessage.last_error,
    )
)


def cycle_status(db: Session, cycle: Cycle) -> dict[str, Any]:
    """Columns, not ORM objects, and no email or reply text: 5,000 units in well under 1 s."""
    requests = (
        db.connection()
        .execute(
            sa_select(*REQUEST_COLUMNS)
            .where(col(DataRequest.cycle_id) == cycle.id)
            .order_by(col(DataRequest.id))
        )
        .all()
    )
    messages = {
        m.request_id: m
        for m in db.connection()
        .execute(
            sa_select(*MESSAGE_COLUMNS).where(
                col(OutboundMessage.cycle_id) == cycle.id, col(OutboundMessage.kind) == "request"
            )
        )
        .all()
    }
    versions = submission_states(db, cycle)
    inbound = inbound_by_request(db, cycle)
    decode = JsonOnce()
    units = [
        {
            **_unit_row(r, messages.get(r.id), decode),
            "reply": _reply(versions.get(r.id or 0, []), inbound.get(r.id or 0, [])),
            "messages": inbound.get(r.id or 0, []),
        }
        for r in requests
    ]
    totals: dict[str, Any] = {"units": len(units)}
    for state in ("not_queued", *(s.value for s in MessageStatus)):
        totals[state] = sum(1 for u in units if u["request"]["status"] == state)
    counted = [u["reply"] for u in units if u["reply"]["counted_version"] is not None]
    totals["received"] = sum(1 for u in units if u["reply"]["received"])
    totals["counted"] = len(counted)
    totals["late"] = sum(1 for u in units if u["reply"]["late"])
    totals["needs_review"] = sum(1 for u in units if u["reply"]["outcome"] == "needs_review")
    totals["reporting_rate"] = round(len(counted) / len(units), 4) if units else 0.0
    on_time = sum(1 for r in counted if not r["counted_late"])
    totals["on_time_rate"] = round(on_time / len(units), 4) if units else 0.0
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
        "report": _report(db, cycle),
        "children": _children(db, cycle),
    }


def _children(db: Session, cycle: Cycle) -> list[dict[str, Any]]:
    """The lower bodies' cycles that report up to this one, each with its own progress."""
    from reportcycle.cycle.parents import child_cycles

    out = []
    for child, unit in child_cycles(db, cycle):
        data = cycle_status(db, child)
        totals = data["totals"]
        out.append(
            {
                "unit": unit,
                "cycle": child.code,
                "status": child.status,
                "deadline": child.deadline.isoformat(),
                "totals": {k: totals[k] for k in ("units", "counted", "late", "reporting_rate")},
                "report": data["report"],
                "children": data["children"],
            }
        )
    return out


def _report(db: Session, cycle: Cycle) -> dict[str, Any] | None:
    """The latest version of the cycle's report, if there is one."""
    from models.report import ReportVersion

    latest = db.exec(
        select(ReportVersion)
        .where(ReportVersion.cycle_id == cycle.id)
        .order_by(col(ReportVersion.version).desc())
    ).first()
    if latest is None:
        return None
    return {
        "version": latest.version,
        "kind": latest.kind,
        "status": latest.status,
        "number": latest.number_text,
        "created_at": latest.created_at.isoformat(),
        "path": latest.path,
        "pdf_path": latest.pdf_path,
        **_signature(latest.pdf),
    }


def _signature(pdf: bytes | None) -> dict[str, Any]:
    """Whether the final PDF carries a digital signature, read from the PDF itself."""
    from reportcycle.report.signing import signed_by

    by = signed_by(pdf)
    return {"signed": by is not None, "signed_by": by}


def _reply(versions: list[SubmissionState], messages: list[dict[str, Any]]) -> dict[str, Any]:
    counted = counted_submission(versions)
    latest = versions[-1] if versions else None
    # no version kept (every message refused): the last message's outcome, not "nothing"
    outcome = messages[-1]["outcome"] if messages else None
    if latest is not None:
        outcome = {
            ReviewState.NONE: "accepted",
            ReviewState.ACCEPTED: "accepted",
            ReviewState.PENDING: "needs_review",
            ReviewState.REJECTED: "rejected",
        }[ReviewState(latest.review)]
    arrived = [m["received_at"] for m in messages]
    return {
        "received": bool(versions or messages),
        "first_received_at": min(arrived, default=None),
        "last_received_at": max(arrived, default=None),
        "rejected": sum(1 for m in messages if m["outcome"] == "rejected"),
        "versions": len(versions),
        "outcome": outcome,
        "late": bool(versions) and versions[0].late,
        "counted_version": counted.version if counted else None,
        "counted_late": counted.late if counted else None,
        "missing": (counted.missing_sections + counted.missing_indicators) if counted else [],
    }


def _unit_row(request: Row[Any], message: Row[Any] | None, decode: JsonOnce) -> dict[str, Any]:
    return {
        "unit": request.unit_code,
        "name": request.unit_name,
        "sections": decode(request.section_codes),
        "indicators": decode(request.indicator_codes),
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


def read_status(cycle_ref: str) -> dict[str, Any]:
    """`cycle_status` in a session of its own, for the flows' artifacts."""
    with session() as db:
        return cycle_status(db, find_cycle(db, cycle_ref))


def open_cycle_ids() -> list[int]:
    """Every cycle not yet closed, oldest first."""
    with session() as db:
        ids = db.exec(
            select(Cycle.id).where(col(Cycle.status) != CycleStatus.CLOSED).order_by(col(Cycle.id))
        ).all()
    return [i for i in ids if i is not None]
