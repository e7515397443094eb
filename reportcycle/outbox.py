"""The outbox (DESIGN §3): every message is a row before it is sent, and is sent exactly once.

A sender claims due rows with one conditional UPDATE (only rows that UPDATE changed are its
own), commits the claim, sends the batch over one connection, then records each outcome.
A crash between sending and recording leaves rows "sending"; `recover_stuck` resolves them by
Message-ID where the server lets us look, and otherwise marks them "uncertain" for a person.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, func, or_, update
from sqlalchemy.orm import QueryableAttribute, defer
from sqlmodel import Session, col, select

from models.db import audit, session
from models.tables import MessageStatus, OutboundMessage
from reportcycle.outbox_queue import QueueItem, enqueue, enqueue_many
from reportcycle.smtp import MailTransport, OutgoingMail, SendResult

OnSent = Callable[[Session, OutboundMessage], None]
Row = OutboundMessage  # short alias for column expressions below
__all__ = [
    "QueueItem",
    "SendReport",
    "enqueue",
    "enqueue_many",
    "recover_stuck",
    "requeue_uncertain",
    "send_pending",
]
RAW = cast(QueryableAttribute[bytes], Row.raw)  # not loaded when only the status changes


@dataclass
class SendReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    recovered: int = 0  # "sending" rows resolved by recover_stuck (sent, requeued or uncertain)
    uncertain: int = 0
    failures: list[tuple[int, str]] = field(default_factory=list)


def _audit(
    db: Session, row: OutboundMessage, action: str, at: datetime, actor: str, **details: Any
) -> None:
    audit(
        db,
        at=at,
        action=action,
        entity="outboundmessage",
        entity_id=row.id,
        cycle_id=row.cycle_id,
        actor=actor,
        key=row.idempotency_key,
        message_id=row.message_id,
        **details,
    )


# --- sending -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Claimed:
    mail: OutgoingMail
    attempts: int


def _due(at: datetime, cycle_id: int | None) -> list[ColumnElement[bool]]:
    conditions = [
        col(Row.status) == MessageStatus.QUEUED,
        or_(col(Row.next_attempt_at).is_(None), col(Row.next_attempt_at) <= at),
    ]
    if cycle_id is not None:
        conditions.append(col(Row.cycle_id) == cycle_id)
    return conditions


def _next_due(db_url: str | None, cycle_id: int | None, at: datetime) -> datetime | None:
    """When the earliest queued row is due (`at` if one is due now); None if none is queued."""
    conditions = [col(Row.status) == MessageStatus.QUEUED]
    if cycle_id is not None:
        conditions.append(col(Row.cycle_id) == cycle_id)
    waiting, undated, earliest = (
        func.count(),
        func.count(col(Row.next_attempt_at)),
        func.min(col(Row.next_attempt_at)),
    )
    with session(db_url) as db:
        total, dated, first = db.execute(
            select(waiting, undated, earliest).where(*conditions)
        ).one()
    if total == 0:
        return None
    return at if dated < total else first


def _transition(
    db: Session, ids: Sequence[int], token: str | None, values: dict[str, Any]
) -> list[int]:
    """Move rows out of 'sending' where still held under `token`; the ids that moved."""
    stmt = (
        update(Row)
        .where(
            col(Row.id).in_(ids),
            col(Row.status) == MessageStatus.SENDING,
            col(Row.claimed_by) == token,
        )
        .values(**values)
        .returning(col(Row.id))
        .execution_options(synchronize_session=False)
    )
    return list(db.execute(stmt).scalars())


def _outcome(
    result: SendResult, attempts: int, at: datetime, retry_delays: Sequence[float]
) -> tuple[str, dict[str, Any]]:
    if result.outcome == "sent":
        return "message.sent", {
            "status": MessageStatus.SENT,
            "sent_at": at,
            "last_error": result.detail or None,
        }
    if result.outcome == "retry" and attempts <= len(retry_delays):
        delay = timedelta(seconds=retry_delays[attempts - 1])
        return "message.retry", {
            "status": MessageStatus.QUEUED,
            "next_attempt_at": at + delay,
            "last_error": result.detail,
        }
    detail = result.detail
    if result.outcome == "retry":
        detail = f"gave up after {attempts} attempts: {detail}"
    return "message.failed", {"status": MessageStatus.FAILED, "last_error": detail}


@dataclass
class _Sender:
    """One send_pending call: its claim token, its transport and what it has done."""

    transport: MailTransport
    token: str
    batch_size: int
    retry_delays: Sequence[float]
    on_sent: OnSent | None
    cycle_id: int | None
    db_url: str | None
    report: SendReport = field(default_factory=SendReport)

    def claim(self, at: datetime) -> list[_Claimed]:
        # SKIP LOCKED (PostgreSQL) hands concurrent senders disjoint batches; SQLite ignores
        # it and serialises writers. The outer status test is what makes a claim exclusive.
        # MATERIALIZED: as a plain IN (subquery) PostgreSQL may rescan the subquery per row,
        # and rows this UPDATE has just locked are then skipped, so LIMIT stops limiting.
        due = (
            select(Row.id)
            .where(*_due(at, self.cycle_id))
            .order_by(col(Row.id))
            .limit(self.batch_size)
            .with_for_update(skip_locked=True)
            .cte("due")
            .prefix_with("MATERIALIZED")
        )
        claim = {"status": MessageStatus.SENDING, "claimed_by": self.token, "claimed_at": at}
        stmt = (
            update(Row)
            .where(col(Row.id).in_(select(due.c.id)), col(Row.status) == MessageStatus.QUEUED)
            .values(**claim, attempts=Row.attempts + 1)
            .returning(
                col(Row.id),
                col(Row.sender),
                col(Row.recipients),
                col(Row.raw),
                col(Row.message_id),
                col(Row.attempts),
            )
            .execution_options(synchronize_session=False)
        )
        with session(self.db_url) as db:
            rows = db.execute(stmt).all()
            db.commit()  # the claim is durable before anything goes out
        claimed = [_Claimed(OutgoingMail(r[0], r[1], list(r[2]), r[3], r[4]), r[5]) for r in rows]
        return sorted(claimed, key=lambda c: c.mail.id)

    def send(self, batch: list[_Claimed]) -> list[SendResult]:
        # A row tried before may have reached the server although we never heard the 250
        # (a timeout after the data): where the transport can tell, do not send it twice.
        retried = [c.mail.message_id for c in batch if c.attempts > 1]
        delivered = (self.transport.delivered_message_ids(retried) if retried else None) or set()
        known = [
            SendResult(c.mail.id, "sent", "found on the server; not sent again")
            for c in batch
            if c.mail.message_id in delivered
        ]
        todo = [c.mail for c in batch if c.mail.message_id not in delivered]
        return known + (asyncio.run(self.transport.send(todo)) if todo else [])

    def mark(self, batch: list[_Claimed], results: list[SendResult], at: datetime) -> None:
        attempts = {c.mail.id: c.attempts for c in batch}
        # One UPDATE per distinct outcome (typically one: "sent"), not one per row.
        groups: dict[tuple[str, tuple[tuple[str, Any], ...]], list[int]] = defaultdict(list)
        for result in results:
            action, values = _outcome(result, attempts[result.id], at, self.retry_delays)
            groups[action, tuple(values.items())].append(result.id)
        with session(self.db_url) as db:
            for (action, pairs), ids in groups.items():
                # A row missing from `moved` outlived our lease and recover_stuck took it over.
                moved = _transition(db, ids, self.token, dict(pairs))
                found = select(Row).where(col(Row.id).in_(moved)).order_by(col(Row.id))
                for row in db.exec(found.options(defer(RAW))):
                    if action == "message.sent" and self.on_sent is not None:
                        self.on_sent(db, row)
                    self.count(action, row)
                    details = {"attempts": row.attempts, "detail": row.last_error}
                    _audit(db, row, action, at, self.token, **details)
            db.commit()

    def count(self, action: str, row: OutboundMessage) -> None:
        if action == "message.sent":
            self.report.sent += 1
        elif action == "message.retry":
            self.report.retried += 1
        else:
            self.report.failed += 1
            self.report.failures.append((row.id or 0, row.last_error or ""))


def send_pending(
    *,
    now: datetime,
    transport: MailTransport,
    worker: str,
    batch_size: int,
    retry_delays: Sequence[float],
    lease_seconds: int,
    cycle_id: int | None = None,
    on_sent: OnSent | None = None,
    max_wait_seconds: float = 60.0,
    sleep: Callable[[float], None] = time.sleep,
    monotonic: Callable[[], float] = time.monotonic,
    db_url: str | None = None,
) -> SendReport:
    """Send every due message, batch by batch, each over one connection.

    Rows that get a transient error come due again after `retry_delays` (real seconds); the
    call waits for them while they fall due within `max_wait_seconds` of `now`, so a relay
    that answers 421 once does not need another run. Its clock is `now` plus real elapsed time.
    """
    # The token keeps claims apart even when two senders share a name and a (fixed) clock.
    token = f"{worker}#{secrets.token_hex(4)}"
    sender = _Sender(transport, token, batch_size, retry_delays, on_sent, cycle_id, db_url)
    started = monotonic()

    def clock() -> datetime:
        return now + timedelta(seconds=monotonic() - started)

    resolved = _recover(now, transport, lease_seconds, cycle_id, on_sent, db_url)
    sender.report.recovered = len(resolved)
    sender.report.uncertain = sum(action == "message.uncertain" for _, action in resolved)
    horizon = now + timedelta(seconds=max_wait_seconds)
    while True:
        batch = sender.claim(clock())
        if batch:
            sender.mark(batch, sender.send(batch), clock())
            continue
        due = _next_due(db_url, cycle_id, clock())
        if due is None or due > horizon:
            return sender.report
        # A floor, so that rows another sender is claiming right now are not polled hot.
        sleep(max((due - clock()).total_seconds(), 0.01))


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
        row_id for row_id, _ in _recover(now, transport, lease_seconds, cycle_id, on_sent, db_url)
    ]


def _recover(
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
            if row.id is None or not _transition(db, [row.id], claimed_by, values):
                continue
            db.refresh(row)
            if action == "message.recovered_sent" and on_sent is not None:
                on_sent(db, row)
            _audit(db, row, action, now, "outbox", claimed_by=claimed_by)
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
    _audit(
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
