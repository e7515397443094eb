"""The sender's journal while a batch goes out: each message is marked "attempted" in a
committed transaction just before its SMTP transaction, and each answer is committed with the
next message's mark (on its own after a connection's last message). So a sender killed at
any moment leaves at most one message per connection whose fate is unknown (the one whose
DATA was in flight); every other claimed row either has its outcome or is known never to have
gone out, and goes back to the queue (DESIGN §3).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import bindparam, update
from sqlalchemy.orm import QueryableAttribute, defer
from sqlmodel import Session, col, select

from models.db import session
from models.tables import MessageStatus
from reportcycle.faults import checkpoint
from reportcycle.outbox.rows import Moved, OnSent, Row, audit_moved, transition
from reportcycle.outbox.smtp import OutgoingMail, SendResult

RAW = cast(QueryableAttribute[bytes], Row.raw)  # not loaded when only the status changes


@dataclass
class SendReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    recovered: int = 0  # "sending" rows resolved by recover_stuck (sent, requeued or uncertain)
    uncertain: int = 0
    failures: list[tuple[int, str]] = field(default_factory=list)


def outcome(
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


def mark_attempted(db: Session, row_id: int, token: str, at: datetime) -> bool:
    """Note that the row is about to go out, if this sender still holds it."""
    found = db.execute(_MARK_ATTEMPTED, {"row_id": row_id, "token": token, "at": at})
    return found.first() is not None


# Built once: building it each time was most of the mark's cost (see `rows._transition`).
_MARK_ATTEMPTED = (
    update(Row)
    .where(
        col(Row.id) == bindparam("row_id"),
        col(Row.status) == MessageStatus.SENDING,
        col(Row.claimed_by) == bindparam("token"),
    )
    .values(attempted_at=bindparam("at"))
    .returning(col(Row.id))
    .execution_options(synchronize_session=False)
)


@dataclass
class BatchJournal:
    """One batch's bookkeeping; the transport calls `attempt` and `done` per message."""

    token: str
    attempts: dict[int, int]  # row id -> attempts, as claimed
    retry_delays: Sequence[float]
    on_sent: OnSent | None
    db_url: str | None
    clock: Callable[[], datetime]
    report: SendReport
    written: set[int] = field(default_factory=set)

    def attempt(self, mail: OutgoingMail, answered: SendResult | None = None) -> bool:
        # One commit for the answer to the message before and the mark of this one: a kill
        # before it leaves that message in doubt and this one unattempted, after it this one
        # in doubt, so still one per connection, at half the commits a message.
        with session(self.db_url) as db:
            if answered is not None:
                self._record(db, [answered])
            ours = mark_attempted(db, mail.id, self.token, self.clock())
            db.commit()
        if answered is not None:
            checkpoint("between_messages")  # one message out and recorded, the next not yet
        return ours

    def done(self, result: SendResult) -> None:
        with session(self.db_url) as db:
            self._record(db, [result])
            db.commit()
        if len(self.written) < len(self.attempts):
            checkpoint("between_messages")  # other connections' messages not recorded yet

    def finish(self, results: Sequence[SendResult]) -> None:
        """Record every answer not recorded yet (rows never attempted, rows found sent)."""
        todo = {r.id: r for r in results if r.id not in self.written}
        if todo:
            with session(self.db_url) as db:
                self._record(db, list(todo.values()))
                db.commit()

    def _record(self, db: Session, results: Sequence[SendResult]) -> None:
        at = self.clock()
        # One UPDATE per distinct outcome (typically one: "sent"), not one per row.
        groups: dict[tuple[str, tuple[tuple[str, Any], ...]], list[int]] = defaultdict(list)
        for result in results:
            action, values = outcome(result, self.attempts[result.id], at, self.retry_delays)
            groups[action, tuple(values.items())].append(result.id)
            self.written.add(result.id)
        for (action, pairs), ids in groups.items():
            # A row missing from `moved` outlived our lease and recovery took it over.
            moved = sorted(transition(db, ids, self.token, dict(pairs)))
            if action == "message.sent" and self.on_sent is not None and moved:
                found = select(Row).where(col(Row.id).in_([m.id for m in moved]))
                for row in db.exec(found.order_by(col(Row.id)).options(defer(RAW))):
                    self.on_sent(db, row)
            for m in moved:
                self._count(action, m)
            audit_moved(db, moved, action, at, self.token)

    def _count(self, action: str, row: Moved) -> None:
        if action == "message.sent":
            self.report.sent += 1
        elif action == "message.retry":
            self.report.retried += 1
        else:
            self.report.failed += 1
            self.report.failures.append((row.id, row.last_error or ""))
