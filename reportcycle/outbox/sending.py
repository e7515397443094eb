"""The outbox (DESIGN §3): every message is a row before it is sent, and is sent exactly once.

A sender claims due rows with one conditional UPDATE (only rows that UPDATE changed are its
own), commits the claim, and sends the batch over one connection; the journal marks each row
"attempted" just before its DATA and records each answer before the next message (journal.py).
A crash leaves rows "sending": those never attempted go back to the queue; the one in flight
is resolved by Message-ID where the server lets us look, else marked "uncertain" (recovery.py).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, or_, update
from sqlmodel import col, select

from models.db import session
from models.settings import get_settings
from models.tables import MessageStatus
from reportcycle.outbox.journal import BatchJournal, SendReport
from reportcycle.outbox.recovery import recover_pending
from reportcycle.outbox.rows import OnSent, Row
from reportcycle.outbox.smtp import MailTransport, OutgoingMail, SendResult, open_transport

__all__ = ["SendReport", "send_outbox", "send_pending", "worker_name"]


# --- sending -------------------------------------------------------------------------------


# What one connection group's messages may hold in memory at once. Each message costs several
# times its size while it goes out (the driver's copy, aiosmtplib's line-ending pass, the
# embedded server's copy), so 4 reports of 16 MB sent together took 376 MB: a message this
# big goes on its own, and small ones (requests, receipts) still go a batch at a time.
SEND_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class _Claimed:
    """A claimed row, without its bytes (loaded just before it goes: `_Sender.send`)."""

    id: int
    sender: str
    recipients: list[str]
    message_id: str
    attempts: int
    size: int  # of the raw message, in bytes


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
        claim = {
            "status": MessageStatus.SENDING,
            "claimed_by": self.token,
            "claimed_at": at,
            "attempted_at": None,
        }
        stmt = (
            update(Row)
            .where(col(Row.id).in_(select(due.c.id)), col(Row.status) == MessageStatus.QUEUED)
            .values(**claim, attempts=Row.attempts + 1)
            .returning(
                col(Row.id),
                col(Row.sender),
                col(Row.recipients),
                col(Row.message_id),
                col(Row.attempts),
                func.length(col(Row.raw)),
            )
            .execution_options(synchronize_session=False)
        )
        with session(self.db_url) as db:
            rows = db.execute(stmt).all()
            db.commit()  # the claim is durable before anything goes out
        claimed = [_Claimed(r[0], r[1], list(r[2]), r[3], r[4], r[5]) for r in rows]
        return sorted(claimed, key=lambda c: c.id)

    def send(self, batch: list[_Claimed], clock: Callable[[], datetime]) -> None:
        # A row tried before may have reached the server although we never heard the 250
        # (a timeout after the data): where the transport can tell, do not send it twice.
        retried = [c.message_id for c in batch if c.attempts > 1]
        delivered = (self.transport.delivered_message_ids(retried) if retried else None) or set()
        known = [
            SendResult(c.id, "sent", "found on the server; not sent again")
            for c in batch
            if c.message_id in delivered
        ]
        todo = [c for c in batch if c.message_id not in delivered]
        journal = BatchJournal(
            self.token,
            {c.id: c.attempts for c in batch},
            self.retry_delays,
            self.on_sent,
            self.db_url,
            clock,
            self.report,
        )
        results: list[SendResult] = []
        for group in _by_size(todo, SEND_BYTES):
            results += asyncio.run(self.transport.send(self._with_bytes(group), journal))
        journal.finish(known + results)

    def _with_bytes(self, group: list[_Claimed]) -> list[OutgoingMail]:
        """The group's messages with their bytes, read in one query (the rows are ours)."""
        with session(self.db_url) as db:
            raw = dict(
                db.execute(
                    select(col(Row.id), col(Row.raw)).where(col(Row.id).in_([c.id for c in group]))
                ).all()
            )
        return [OutgoingMail(c.id, c.sender, c.recipients, raw[c.id], c.message_id) for c in group]


def _by_size(claimed: list[_Claimed], budget: int) -> list[list[_Claimed]]:
    """Consecutive groups of at most `budget` bytes each (a bigger message alone), in order."""
    groups: list[list[_Claimed]] = []
    held = budget
    for c in claimed:
        if held + c.size > budget:
            groups.append([])
            held = 0
        groups[-1].append(c)
        held += c.size
    return groups


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

    resolved = recover_pending(now, transport, lease_seconds, cycle_id, on_sent, db_url)
    sender.report.recovered = len(resolved)
    sender.report.uncertain = sum(action == "message.uncertain" for _, action in resolved)
    horizon = now + timedelta(seconds=max_wait_seconds)
    while True:
        batch = sender.claim(clock())
        if batch:
            sender.send(batch, clock)
            continue
        due = _next_due(db_url, cycle_id, clock())
        if due is None or due > horizon:
            return sender.report
        # A floor, so that rows another sender is claiming right now are not polled hot.
        sleep(max((due - clock()).total_seconds(), 0.01))


def worker_name() -> str:
    """Who holds a claim: host, process and a random part, unique per sender."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def send_outbox(now: datetime, cycle_id: int | None = None) -> SendReport:
    """Every flow's last step: send every due message (of one cycle, or all) over one
    connection per batch, with the transport and limits the settings name."""
    settings = get_settings()
    with open_transport(settings) as transport:
        return send_pending(
            now=now,
            transport=transport,
            worker=worker_name(),
            batch_size=settings.send_batch_size,
            retry_delays=settings.send_retry_delays,
            lease_seconds=settings.sending_lease_seconds,
            cycle_id=cycle_id,
        )
