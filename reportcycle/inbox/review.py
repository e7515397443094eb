"""A person's decisions on replies the collector could not accept alone (unknown sender, text
in the body, a partial form, legacy encoding, an error): `reportcycle review …`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from models.db import audit
from models.inbound import InboundMessage, InboundStatus, ReviewState, Submission
from models.settings import Settings
from models.tables import Cycle, DataRequest
from reportcycle.inbox.answers import REASONS_VI, queue_replies
from reportcycle.inbox.processing import Outcome
from reportcycle.inbox.requests_lookup import request_ref


def pending_reviews(db: Session, cycle_code: str | None = None) -> list[dict[str, Any]]:
    """Submissions waiting for a decision, and messages whose processing failed."""
    return _pending_submissions(db, cycle_code) + _failed_messages(db)


def _pending_submissions(db: Session, cycle_code: str | None) -> list[dict[str, Any]]:
    query = (
        select(Submission, InboundMessage, DataRequest, Cycle)
        .join(InboundMessage, col(InboundMessage.id) == col(Submission.inbound_id))
        .join(DataRequest, col(DataRequest.id) == col(Submission.request_id))
        .join(Cycle, col(Cycle.id) == col(Submission.cycle_id))
        .where(col(Submission.review) == ReviewState.PENDING)
        .order_by(col(Submission.id))
    )
    if cycle_code:
        query = query.where(col(Cycle.code) == cycle_code)
    return [_submission_row(s, m, r, c) for s, m, r, c in db.exec(query).all()]


def _submission_row(s: Submission, m: InboundMessage, r: DataRequest, c: Cycle) -> dict[str, Any]:
    return {
        "id": s.id,
        "message": m.id,
        "unit": r.unit_code,
        "unit_name": r.unit_name,
        "cycle": c.code,
        "version": s.version,
        "received_at": m.received_at.isoformat(),
        "sender": m.from_address,
        "subject": m.subject,
        "kind": s.kind,
        "reasons": [_reason(x, m) for x in (s.review_reason or "").split(",") if x],
        "missing": s.missing_sections + s.missing_indicators,
        "signals": (m.details or {}).get("signals") or [],
        "warnings": s.warnings,
    }


def _reason(code: str, m: InboundMessage) -> str:
    """The reason in words; for disagreeing signals, which signal said what."""
    text = REASONS_VI.get(code, code)
    said = (m.details or {}).get("signals_text")
    return f"{text}: {said}" if code == "signals_disagree" and said else text


def rejected_messages(db: Session, cycle_code: str | None = None) -> list[dict[str, Any]]:
    """Messages refused without a person (a macro file, an empty form, an unknown token…):
    nothing to decide, but the secretariat sees each one, for which unit, and why."""
    query = (
        select(InboundMessage, DataRequest, Cycle)
        .join(DataRequest, col(DataRequest.id) == col(InboundMessage.request_id), isouter=True)
        .join(Cycle, col(Cycle.id) == col(InboundMessage.cycle_id), isouter=True)
        .where(col(InboundMessage.status) == InboundStatus.REJECTED)
        .order_by(col(InboundMessage.id))
    )
    if cycle_code:
        query = query.where(col(Cycle.code) == cycle_code)
    return [
        {
            "id": None,
            "message": m.id,
            "unit": r.unit_code if r else None,
            "unit_name": r.unit_name if r else None,
            "cycle": c.code if c else None,
            "received_at": m.received_at.isoformat(),
            "sender": m.from_address,
            "subject": m.subject,
            "kind": "rejected",
            "reasons": [m.explanation or m.reason or ""],
            "missing": [],
            "warnings": [],
        }
        for m, r, c in db.exec(query).all()
    ]


def _failed_messages(db: Session) -> list[dict[str, Any]]:
    failed = db.exec(
        select(InboundMessage).where(
            col(InboundMessage.status) == InboundStatus.NEEDS_REVIEW,
            col(InboundMessage.reason) == "internal_error",
        )
    ).all()
    return [
        {
            "id": None,
            "message": m.id,
            "unit": None,
            "cycle": None,
            "sender": m.from_address,
            "subject": m.subject,
            "received_at": m.received_at.isoformat(),
            "kind": "error",
            "reasons": [m.details.get("error", "error")],
            "missing": [],
            "warnings": [],
        }
        for m in failed
    ]


def decide(
    db: Session,
    *,
    submission_id: int,
    accept: bool,
    note: str | None,
    actor: str,
    settings: Settings,
    now: datetime,
) -> Submission:
    """Accept (it counts, the unit gets its receipt) or reject (the unit is told why)."""
    submission = _decidable(db, submission_id, accept=accept, note=note)
    inbound = db.get(InboundMessage, submission.inbound_id)
    request = db.get(DataRequest, submission.request_id)
    assert inbound is not None
    assert request is not None
    _record_decision(submission, inbound, accept=accept, note=note, actor=actor, now=now)
    queue_replies(
        db,
        inbound=inbound,
        outcome=_decision_outcome(db, submission, inbound, request, accept=accept, note=note),
        submission=submission if accept else None,
        settings=settings,
        now=now,
        step="/reviewed",
    )
    audit(
        db,
        at=now,
        actor=actor,
        action="submission.accepted" if accept else "submission.rejected",
        entity="submission",
        entity_id=submission.id,
        cycle_id=submission.cycle_id,
        note=note,
        unit=request.unit_code,
    )
    return submission


def _decidable(db: Session, submission_id: int, *, accept: bool, note: str | None) -> Submission:
    """The submission, if it is waiting for review and the decision is complete."""
    submission = db.get(Submission, submission_id)
    if submission is None:
        raise LookupError(f"no submission {submission_id}; see `reportcycle review list`")
    if submission.review != ReviewState.PENDING:
        raise ValueError(
            f"submission {submission_id} is not waiting for review "
            f"(it is {submission.review}); nothing changed"
        )
    if not accept and not note:
        raise ValueError("a rejection needs --note: the unit is told what to fix")
    return submission


def _record_decision(
    submission: Submission,
    inbound: InboundMessage,
    *,
    accept: bool,
    note: str | None,
    actor: str,
    now: datetime,
) -> None:
    submission.review = ReviewState.ACCEPTED if accept else ReviewState.REJECTED
    submission.review_note, submission.reviewed_by, submission.reviewed_at = note, actor, now
    inbound.status = InboundStatus.ACCEPTED if accept else InboundStatus.REJECTED
    if not accept:
        inbound.explanation = note


def _decision_outcome(
    db: Session,
    submission: Submission,
    inbound: InboundMessage,
    request: DataRequest,
    *,
    accept: bool,
    note: str | None,
) -> Outcome:
    """The outcome the collector would have reached had it decided itself, for the replies."""
    return Outcome(
        "accepted" if accept else "rejected",
        "reviewed",
        note or "",
        request=request_ref(db, request),
        sender=inbound.from_address,
        subject=inbound.subject or "",
        message_id=inbound.message_id,
        late=submission.late,
    )


def retry(db: Session, *, message_id: int, actor: str, now: datetime) -> None:
    """Process a message again (after a fix): only messages that failed with an error."""
    inbound = db.get(InboundMessage, message_id)
    if inbound is None:
        raise LookupError(f"no message {message_id}")
    if inbound.reason != "internal_error":
        raise ValueError(
            f"message {message_id} was processed ({inbound.status}); only messages "
            "that failed with an error can be retried"
        )
    inbound.status, inbound.reason = InboundStatus.STORED, None
    audit(
        db,
        at=now,
        actor=actor,
        action="inbound.retry",
        entity="inboundmessage",
        entity_id=inbound.id,
    )
