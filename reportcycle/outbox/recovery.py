"""Messages a crash left `sending`. A row never attempted (no DATA began) goes back to the queue;
the one whose DATA was in flight is resolved by Message-ID where the server lets us check,
else marked `uncertain` for a person; `resend` puts one back in the queue."""

from __future__ import annotations

import os
import socket
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
    "recipient, then `reportcycle outbox resend {id}` if it did not arrive (or `reportcycle "
    "outbox resend --cycle CODE` for every such message of a cycle)"
)


NEVER_ATTEMPTED = "requeued: the sender stopped before this message's turn; it never went out"


def _resolution(row: OutboundMessage, delivered: set[str] | None) -> tuple[str, dict[str, Any]]:
    if row.attempted_at is None:
        # Claimed but never attempted: nothing went out, and the claim does not count.
        return "message.requeued", {
            "status": MessageStatus.QUEUED,
            "attempts": max(row.attempts - 1, 0),
            "next_attempt_at": None,
            "last_error": NEVER_ATTEMPTED,
        }
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
    conditions = [col(Row.status) == MessageStatus.SENDING]
    if cycle_id is not None:
        conditions.append(col(Row.cycle_id) == cycle_id)
    expired = now - timedelta(seconds=lease_seconds)
    resolved: list[tuple[int, str]] = []
    with session(db_url) as db:
        held = db.exec(select(Row).where(*conditions).order_by(col(Row.id))).all()
        stuck = [r for r in held if _stuck(r, expired)]
        if not stuck:
            return resolved
        in_flight = [r.message_id for r in stuck if r.attempted_at is not None]
        delivered = transport.delivered_message_ids(in_flight) if in_flight else set()
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


def _stuck(row: OutboundMessage, expired: datetime) -> bool:
    """Past its lease, or held by a sender known to be dead (it will never finish it).

    A dead sender's connections closed with it, so nothing of it is still in flight: a row it
    never attempted goes back to the queue, the one it was sending is resolved now.
    """
    if row.claimed_at is not None and row.claimed_at < expired:
        return True
    return claimant_gone(row.claimed_by)


def claimant_gone(claimed_by: str | None) -> bool:
    """Whether the claim's process (worker_name: host:pid:…) is dead, on this very host.

    Only a certain answer counts: another host, a name of another form, or a live pid (which
    may be a reused one) leave the row to its lease. A never-attempted row is safe to requeue
    even under a live sender, since its attempt mark is conditional on the claim.
    """
    parts = (claimed_by or "").split(":")
    if len(parts) < 3 or parts[0] != socket.gethostname() or not parts[1].isdigit():
        return False
    pid = int(parts[1])
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


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
    row.attempted_at = None
    row.last_error = None
    db.add(row)
    return row


def uncertain_messages(db: Session, cycle_id: int | None = None) -> list[OutboundMessage]:
    """Every message in doubt (of one cycle, or all), oldest first: what a bulk resend sends."""
    conditions = [col(Row.status) == MessageStatus.UNCERTAIN]
    if cycle_id is not None:
        conditions.append(col(Row.cycle_id) == cycle_id)
    return list(db.exec(select(Row).where(*conditions).order_by(col(Row.id))).all())
