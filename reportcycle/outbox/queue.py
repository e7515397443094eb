"""Putting messages in the outbox (DESIGN §3), one at a time or a whole batch at once.

A batch is one multi-row INSERT … ON CONFLICT DO NOTHING per chunk plus one bulk insert of
audit events: queuing a 1,000-unit cycle row by row through the ORM cost ~5 s.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from typing import Any

from sqlmodel import Session, col, select

from models.db import audit_many, insert_ignoring_duplicates
from models.tables import MessageStatus, OutboundMessage
from reportcycle.outbox.mime import ComposedMessage, from_email_message

CHUNK = 500  # rows per INSERT batch; the IN (…) lookup stays well under SQLite's limits


@dataclass(frozen=True)
class QueueItem:
    key: str  # idempotency key, e.g. "<cycle>/<unit>/request"
    kind: str
    message: ComposedMessage
    cycle_id: int | None = None
    request_id: int | None = None


def enqueue(
    db: Session,
    *,
    key: str,
    kind: str,
    message: ComposedMessage | EmailMessage,
    now: datetime,
    cycle_id: int | None = None,
    request_id: int | None = None,
) -> tuple[OutboundMessage, bool]:
    """Queue `message` under idempotency `key`; (row, True) if new, (existing row, False).

    Does not commit: the caller commits the row with the state change that caused it.
    """
    if isinstance(message, EmailMessage):
        message = from_email_message(message)
    created = enqueue_many(db, [QueueItem(key, kind, message, cycle_id, request_id)], now=now)
    row = db.exec(select(OutboundMessage).where(OutboundMessage.idempotency_key == key)).one()
    return row, bool(created)


def enqueue_many(db: Session, items: Sequence[QueueItem], *, now: datetime) -> dict[str, int]:
    """Queue every item whose key is new; returns {key: row id} of the rows created.

    Does not commit. Keys already in the outbox are left as they are (idempotency).
    """
    created: dict[str, int] = {}
    for start in range(0, len(items), CHUNK):
        chunk = items[start : start + CHUNK]
        created.update(_insert_new(db, [_values(item, now) for item in chunk]))
    audit_many(
        db,
        [
            {
                "at": now,
                "actor": "outbox",
                "action": "message.queued",
                "entity": "outboundmessage",
                "entity_id": created[item.key],
                "cycle_id": item.cycle_id,
                "details": {
                    "key": item.key,
                    "message_id": item.message.message_id,
                    "kind": item.kind,
                },
            }
            for item in items
            if item.key in created
        ],
    )
    return created


def _values(item: QueueItem, now: datetime) -> dict[str, Any]:
    message = item.message
    return {
        "idempotency_key": item.key,
        "kind": item.kind,
        "cycle_id": item.cycle_id,
        "request_id": item.request_id,
        "message_id": message.message_id,
        "sender": message.sender,
        "recipients": message.recipients,
        "subject": unicodedata.normalize("NFC", message.subject),
        "raw": message.raw,
        "status": MessageStatus.QUEUED,
        "attempts": 0,
        "created_at": now,
    }


def _insert_new(db: Session, rows: list[dict[str, Any]]) -> dict[str, int]:
    stmt = insert_ignoring_duplicates(db, OutboundMessage, "idempotency_key")
    if len(rows) == 1:  # the common case (a receipt): one statement
        returning = stmt.values(rows[0]).returning(
            col(OutboundMessage.id), col(OutboundMessage.idempotency_key)
        )
        return {key: row_id for row_id, key in db.execute(returning).all()}
    db.connection().execute(stmt, rows)  # executemany: one prepared statement for the lot
    # Message-IDs are fresh for every call, so rows carrying ours are the ones just created.
    ours = [r["message_id"] for r in rows]
    found = db.execute(
        select(col(OutboundMessage.id), col(OutboundMessage.idempotency_key)).where(
            col(OutboundMessage.message_id).in_(ours)
        )
    ).all()
    return {key: row_id for row_id, key in found}
