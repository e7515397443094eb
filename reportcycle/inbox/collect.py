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
from sqlalchemy.orm import QueryableAttribute
from sqlmodel import Session, col, select

from models.db import insert_ignoring_duplicates, session
from models.inbound import InboundMessage, InboundStatus
from models.settings import Settings, get_settings
from reportcycle.faults import checkpoint
from reportcycle.inbox import mime_scan
from reportcycle.inbox.mailbox import Fetched, MailSource
from reportcycle.inbox.processing import Outcome, process_message
from reportcycle.inbox.recording import claim, record_outcomes
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
        rows = raw_rows(batch, source=source.name, now=now)
        with session() as db:
            report.stored += store_rows(db, rows)
            source.save_position(db, batch, now)
            held = hand_on(db, rows)
            db.commit()
        checkpoint("after_store")
        refs = [f.ref for f in batch]
        del batch, rows  # stored: only the small messages' bytes go on (bounded memory)
        process_stored(settings=settings, now=now, report=report, lookup=lookup, held=held)
        source.mark_processed(refs)
    return report


def store_raw(db: Session, batch: Sequence[Fetched], *, source: str, now: datetime) -> int:
    """Insert each message unless its Message-ID (or, without one, its bytes) is known;
    returns how many were new. Does not commit."""
    return store_rows(db, raw_rows(batch, source=source, now=now))


def raw_rows(batch: Sequence[Fetched], *, source: str, now: datetime) -> list[dict[str, Any]]:
    """The batch's rows, one per dedupe key (a message twice in a batch is stored once)."""
    return list({r["dedupe_key"]: r for r in (_raw_row(f, source, now) for f in batch)}.values())


def store_rows(db: Session, rows: Sequence[dict[str, Any]]) -> int:
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


# A stored message this small is processed from the bytes already in memory, not read back;
# at most HAND_ON_BUDGET bytes of a batch are kept so, bigger ones are read back one at a
# time (20 replies of 30 MB stay under 300 MB, issue 12).
HAND_ON_MAX = 2**20
HAND_ON_BUDGET = 32 * 2**20


def hand_on(db: Session, rows: Sequence[dict[str, Any]]) -> dict[int, bytes]:
    """{id: raw} of the rows just stored, still to process, whose bytes we hold: the row's
    id found by its dedupe key, and only if the stored bytes are these (same SHA-256)."""
    small, budget = {}, HAND_ON_BUDGET
    for row in rows:
        if row["size"] <= min(HAND_ON_MAX, budget):
            small[row["dedupe_key"]] = row
            budget -= row["size"]
    if not small:
        return {}
    found = db.exec(
        select(InboundMessage.id, InboundMessage.dedupe_key, InboundMessage.sha256).where(
            col(InboundMessage.dedupe_key).in_(list(small)),
            InboundMessage.status == InboundStatus.STORED,
        )
    ).all()
    return {i: small[k]["raw"] for i, k, sha in found if i and small[k]["sha256"] == sha}


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
    *,
    settings: Settings,
    now: datetime,
    report: CollectReport,
    lookup: DbLookup | None = None,
    held: dict[int, bytes] | None = None,
) -> None:
    """Give every stored, unprocessed message its outcome. Outcomes are committed in chunks;
    a chunk whose commit fails is redone one message per transaction, so one bad message
    cannot hold up the others (its error is raised once they are done). `held`: raw bytes
    already in memory by message id; the others are read from the database."""
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
    work = _Work(lookup or DbLookup(), settings, now, held if held is not None else {})
    failed: list[SQLAlchemyError] = []
    for start in range(0, len(ids), COMMIT_EVERY):
        chunk = ids[start : start + COMMIT_EVERY]
        try:
            statuses = _process_chunk(chunk, work)
        except SQLAlchemyError:
            statuses = _one_by_one(chunk, work, failed)
        for i in chunk:
            work.held.pop(i, None)
        for status in statuses:
            report.count(status)
    if failed:
        raise failed[0]  # those messages stay 'stored': the next run tries them again


@dataclass
class _Work:
    lookup: DbLookup
    settings: Settings
    now: datetime
    held: dict[int, bytes]


def _one_by_one(chunk: Sequence[int], work: _Work, failed: list[SQLAlchemyError]) -> list[str]:
    statuses = []
    for inbound_id in chunk:
        try:
            statuses += _process_chunk([inbound_id], work)
        except SQLAlchemyError as exc:
            failed.append(exc)
    return statuses


def _process_chunk(ids: Sequence[int], work: _Work) -> list[str]:
    """Claim the chunk's messages, decide each, record them all, commit."""
    with session() as db:
        claimed = claim(db, ids=ids, now=work.now)  # a racing collector's are not returned
        decided = [(inbound, _decide(db, inbound, work)) for inbound in claimed]
        record_outcomes(db, decided=decided, settings=work.settings, now=work.now)
        checkpoint("before_outcome_commit")
        db.commit()
    return [outcome.status for _, outcome in decided]


def _decide(db: Session, inbound: InboundMessage, work: _Work) -> Outcome:
    """One claimed message's outcome. Its raw bytes are dropped once parsed: a chunk must not
    keep each one's (possibly 40 MB) message until its commit."""
    raw = work.held.get(inbound.id or 0)
    if raw is None:
        raw = db.exec(select(RAW).where(col(InboundMessage.id) == inbound.id)).one()
    settings = work.settings
    try:
        outcome = process_message(
            raw,
            lookup=work.lookup,
            reply_local_part=settings.reply_local_part,
            now=work.now,
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
        inbound.details = {"error": "".join(traceback.format_exception_only(exc)).strip()}
    del raw
    checkpoint("after_parse")
    return outcome


def collect_mail(now: datetime) -> CollectReport:
    """The `collect-submissions` flow's step: the whole inbox the settings name, in one call
    (a task per message would cost Prefect ~10 ms each)."""
    settings = get_settings()
    with source_from_settings(settings) as source:
        return collect(source=source, settings=settings, now=now)
