"""Messages a crash left `sending`: resolved by Message-ID where the server lets us check, else
marked `uncertain` for a person; `resend` puts one back in the queue."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from models.db import session
from models.tables import MessageStatus, OutboundMessage
from reportcycle.outbox.rows import OnSent, Row, audit_row, transition
from reportcycle.outbox.smtp import MailTransport

# --- recovery ------------------------------------------------------------------------------

UNCERTAIN_NOTE = (
    "the sender stopped while sending (claimed by {by} at {at}) and the mail server cannot "
    "tell whether the message arrived, so it is not sent again automatically; check with a "
    "recipient, then `reportcycle outbox resend {id}` if it did not arrive"
)


def _resolution(row: OutboundMessage, delivered: set[str] | None) -> tuple[str, dict[str, Any]]:
    if delivered is None:
        note = UNCERTAIN_NOTE.format(by=row.claimed_by, at=row.claimed_at, id=row.id)
        return "message.uncertain", {"status": MessageStatus.UNCERTAIN, "last_error": note}
    if row.message_id in delivered:
        return "message.recovered_sent", {
            "status": MessageStatus.SENT,
            "sent_at": row.claimed_at,
            "last_error": None,
        }
    # Not on the server: the sender died before the data went out; sending now is the first.
    return "message.requeued", {
        "status": MessageStatus.QUEUED,
        "next_attempt_at": None,
        "last_error": "requeued: the sender stopped before sending",
    }


def recover_stuck(
    *,
    now: datetime,
    transport: MailTransport,
    lease_seconds: int,
    cycle_id: int | None = None,
    on_sent: OnSent | None = None,
    db_url: str | None = None,
) -> list[int]:
    """Resolve rows left "sending" longer than the lease; returns the ids resolved."""
    return [
        row_id
        for row_id, _ in recover_pending(now, transport, lease_seconds, cycle_id, on_sent, db_url)
    ]


def recover_pending(
    now: datetime,
    transport: MailTransport,
    lease_seconds: int,
    cycle_id: int | None,
    on_sent: OnSent | None,
    db_url: str | None,
) -> list[tuple[int, str]]:
    conditions = [
        col(Row.status) == MessageStatus.SENDING,
        col(Row.claimed_at) < now - timedelta(seconds=lease_seconds),
    ]
    if cycle_id is not None:
        conditions.append(col(Row.cycle_id) == cycle_id)
    resolved: list[tuple[int, str]] = []
    with session(db_url) as db:
        stuck = list(db.exec(select(Row).where(*conditions).order_by(col(Row.id))).all())
        if not stuck:
            return resolved
        delivered = transport.delivered_message_ids([r.message_id for r in stuck])
        for row in stuck:
            action, values = _resolution(row, delivered)
            claimed_by = row.claimed_by
            # Conditional on the claim we saw: another recoverer may have resolved it already.
            if row.id is None or not transition(db, [row.id], claimed_by, values):
                continue
            db.refresh(row)
            if action == "message.recovered_sent" and on_sent is not None:
                on_sent(db, row)
            audit_row(db, row, action, now, "outbox", claimed_by=claimed_by)
            resolved.append((row.id, action))
        db.commit()
    return resolved


def requeue_uncertain(db: Session, message_id: int, now: datetime, actor: str) -> OutboundMessage:
    """Put an uncertain (or failed) message back in the queue, by a person's decision.

    Does not commit. The retry ladder starts again; the audit trail keeps what went before.
    """
    row = db.get(Row, message_id)
    if row is None:
        raise LookupError(f"no outbound message with id {message_id}")
    if row.status not in (MessageStatus.UNCERTAIN, MessageStatus.FAILED):
        raise ValueError(
            f"message {message_id} is {row.status}; only uncertain or failed "
            "messages can be sent again"
        )
    audit_row(
        db,
        row,
        "message.resend",
        now,
        actor,
        previous_status=str(row.status),
        previous_error=row.last_error,
        previous_attempts=row.attempts,
    )
    row.status = MessageStatus.QUEUED
    row.attempts = 0
    row.next_attempt_at = None
    row.claimed_by = None
    row.claimed_at = None
    row.last_error = None
    db.add(row)
    return row
