"""Collecting replies: store every raw message first, then process it, exactly once
(DESIGN §4). The plain functions behind the `collect-submissions` flow."""

from __future__ import annotations

import hashlib
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parseaddr
from typing import Any, cast

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import QueryableAttribute, defer
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from models.db import insert_ignoring_duplicates, session
from models.inbound import InboundMessage, InboundStatus
from models.settings import Settings, get_settings
from reportcycle.faults import checkpoint
from reportcycle.inbox import mime_scan
from reportcycle.inbox.mailbox import Fetched, MailSource
from reportcycle.inbox.processing import Outcome, process_message
from reportcycle.inbox.recording import record_outcome
from reportcycle.inbox.requests_lookup import DbLookup
from reportcycle.inbox.sources import source_from_settings
from reportcycle.vietnamese import nfc


@dataclass
class CollectReport:
    fetched: int = 0
    stored: int = 0  # new messages; the rest were already stored (delivered twice)
    outcomes: dict[str, int] = field(default_factory=dict)

    def count(self, status: str) -> None:
        self.outcomes[status] = self.outcomes.get(status, 0) + 1


def collect(*, source: MailSource, settings: Settings, now: datetime) -> CollectReport:
    """Fetch, store, process, acknowledge, mark processed; safe to kill and rerun anywhere."""
    report, lookup = CollectReport(), DbLookup()
    process_stored(settings=settings, now=now, report=report, lookup=lookup)  # crash leftovers
    while batch := source.fetch_new(limit=settings.collect_batch_size):
        report.fetched += len(batch)
        checkpoint("after_fetch")
        with session() as db:
            report.stored += store_raw(db, batch, source=source.name, now=now)
            source.save_position(db, batch, now)
            db.commit()
        checkpoint("after_store")
        refs = [f.ref for f in batch]
        batch = []  # stored: let the raw bytes go before processing (bounded memory)
        process_stored(settings=settings, now=now, report=report, lookup=lookup)
        source.mark_processed(refs)
    return report


def store_raw(db: Session, batch: Sequence[Fetched], *, source: str, now: datetime) -> int:
    """Insert each message unless its Message-ID (or, without one, its bytes) is known;
    returns how many were new. Does not commit."""
    rows = list({r["dedupe_key"]: r for r in (_raw_row(f, source, now) for f in batch)}.values())
    if not rows:
        return 0
    known = set(
        db.exec(
            select(InboundMessage.dedupe_key).where(
                col(InboundMessage.dedupe_key).in_([r["dedupe_key"] for r in rows])
            )
        ).all()
    )
    stmt = insert_ignoring_duplicates(db, InboundMessage, "dedupe_key")
    db.connection().execute(stmt, rows)  # a concurrent collector's rows are skipped, not errors
    return len(rows) - len(known)


def _raw_row(fetched: Fetched, source: str, now: datetime) -> dict[str, Any]:
    headers = mime_scan.headers_of(fetched.raw)  # the header block only, not the body as str
    digest = hashlib.sha256(fetched.raw).hexdigest()
    message_id = (str(headers.get("Message-ID", "")).strip() or None) if headers else None
    return {
        "dedupe_key": f"mid:{message_id}" if message_id else f"sha:{digest}",
        "sha256": digest,
        "message_id": message_id,
        "source": source,
        "source_ref": fetched.ref,
        "received_at": now,
        "size": len(fetched.raw),
        "raw": fetched.raw,
        "from_address": parseaddr(str(headers.get("From", "")))[1] or None,
        "subject": nfc(str(headers.get("Subject", "")))[:500],
        "status": InboundStatus.STORED,
        "details": {},
    }


RAW = cast(QueryableAttribute[bytes], InboundMessage.raw)
COMMIT_EVERY = 50  # messages per transaction: one commit each cost a quarter of the time


def process_stored(
    *, settings: Settings, now: datetime, report: CollectReport, lookup: DbLookup | None = None
) -> None:
    """Give every stored, unprocessed message its outcome. Outcomes are committed in chunks;
    a chunk whose commit fails is redone one message per transaction, so one bad message
    cannot hold up the others."""
    with session() as db:
        ids = [
            i
            for i in db.exec(
                select(InboundMessage.id)
                .where(InboundMessage.status == InboundStatus.STORED)
                .order_by(col(InboundMessage.id))
            ).all()
            if i is not None
        ]
    lookup = lookup or DbLookup()
    for start in range(0, len(ids), COMMIT_EVERY):
        chunk = ids[start : start + COMMIT_EVERY]
        try:
            statuses = _process_chunk(chunk, lookup=lookup, settings=settings, now=now)
        except SQLAlchemyError:
            statuses = [
                s
                for i in chunk
                for s in _process_chunk([i], lookup=lookup, settings=settings, now=now)
            ]
        for status in statuses:
            report.count(status)


def _process_chunk(
    ids: Sequence[int], *, lookup: DbLookup, settings: Settings, now: datetime
) -> list[str]:
    with session() as db:
        statuses = [process_one(db, i, lookup=lookup, settings=settings, now=now) for i in ids]
        checkpoint("before_outcome_commit")
        db.commit()
    return [s for s in statuses if s]


def process_one(
    db: Session, inbound_id: int, *, lookup: DbLookup, settings: Settings, now: datetime
) -> str | None:
    """Decide one stored message and record the outcome in the caller's transaction."""
    # The raw bytes are read apart and dropped after parsing: the session keeps a chunk of
    # rows until its commit, and must not keep each one's (possibly 40 MB) message with it.
    inbound = db.get(InboundMessage, inbound_id, options=[defer(RAW)])
    if inbound is None or inbound.status != InboundStatus.STORED:
        return None
    raw = db.exec(select(RAW).where(col(InboundMessage.id) == inbound_id)).one()
    try:
        outcome = process_message(
            raw,
            lookup=lookup,
            reply_local_part=settings.reply_local_part,
            now=now,
            max_attachment_bytes=settings.max_attachment_bytes,
            own_addresses=[parseaddr(settings.mail_from)[1]],
        )
    except Exception as exc:  # noqa: BLE001 — nothing is dropped: a person looks at it
        outcome = Outcome(
            "needs_review",
            "internal_error",
            review_reasons=["internal_error"],
            subject=inbound.subject or "",
            sender=inbound.from_address,
        )
        set_committed_value(
            inbound, "details", {"error": "".join(traceback.format_exception_only(exc)).strip()}
        )
    del raw
    checkpoint("after_parse")
    if not record_outcome(db, inbound=inbound, outcome=outcome, settings=settings, now=now):
        return None  # another collector recorded it first; nothing was written
    return outcome.status


def collect_mail(now: datetime) -> CollectReport:
    """The `collect-submissions` flow's step: the whole inbox the settings name, in one call
    (a task per message would cost Prefect ~10 ms each)."""
    settings = get_settings()
    with source_from_settings(settings) as source:
        return collect(source=source, settings=settings, now=now)
