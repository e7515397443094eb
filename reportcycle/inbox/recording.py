"""Recording what was decided about a reply: the message's outcome and the unit's submission."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from models.db import audit
from models.inbound import InboundMessage, InboundStatus, ReviewState, Submission
from models.settings import Settings
from reportcycle.inbox.answers import queue_replies
from reportcycle.inbox.processing import Outcome


def record_outcome(
    db: Session, *, inbound: InboundMessage, outcome: Outcome, settings: Settings, now: datetime
) -> bool:
    """The outcome, the submission version and the answers, in the caller's transaction.

    The status moves from 'stored' with a conditional UPDATE; False if it had already moved."""
    request = outcome.request
    values: dict[str, Any] = {
        "status": outcome.status,
        "reason": outcome.reason,
        "explanation": outcome.explanation or None,
        "request_id": request.request_id if request else None,
        "cycle_id": request.cycle_id if request else None,
        "processed_at": now,
        "details": {
            **inbound.details,
            "review_reasons": outcome.review_reasons,
            "late": outcome.late,
            "signals": outcome.signals,
            "signals_text": outcome.signals_text,
        },
    }
    moved = db.execute(
        update(InboundMessage)
        .where(
            col(InboundMessage.id) == inbound.id,
            col(InboundMessage.status) == InboundStatus.STORED,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        return False
    for name, value in values.items():  # what the UPDATE wrote, without reloading the raw bytes
        set_committed_value(inbound, name, value)
    submission = _add_submission(db, inbound, outcome, now) if outcome.contribution else None
    queue_replies(
        db, inbound=inbound, outcome=outcome, submission=submission, settings=settings, now=now
    )
    audit(
        db,
        at=now,
        action=f"inbound.{outcome.status}",
        entity="inboundmessage",
        entity_id=inbound.id,
        cycle_id=inbound.cycle_id,
        reason=outcome.reason,
        sender=outcome.sender,
        unit=request.unit_code if request else None,
        submission=submission.id if submission else None,
    )
    return True


def _add_submission(
    db: Session, inbound: InboundMessage, outcome: Outcome, now: datetime
) -> Submission:
    request, contribution = outcome.request, outcome.contribution
    assert request is not None
    assert contribution is not None
    assert inbound.id is not None
    latest = db.exec(
        select(func.max(Submission.version)).where(Submission.request_id == request.request_id)
    ).one()
    submission = Submission(
        request_id=request.request_id,
        cycle_id=request.cycle_id,
        inbound_id=inbound.id,
        version=(latest or 0) + 1,
        received_at=inbound.received_at,
        late=outcome.late,
        kind=contribution.kind,
        sections=contribution.sections,
        indicators=contribution.indicators,
        missing_sections=contribution.missing_sections,
        missing_indicators=contribution.missing_indicators,
        warnings=contribution.warnings,
        evidence=contribution.evidence,
        review=ReviewState.PENDING if outcome.status == "needs_review" else ReviewState.NONE,
        review_reason=",".join(outcome.review_reasons) or None,
    )
    db.add(submission)
    db.flush()
    return submission
