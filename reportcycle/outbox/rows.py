"""The outbox row's changes of state, shared by sending and recovery: each conditional on the
row still being held, each with its audit entry."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any, NamedTuple, Protocol

from sqlalchemy import Update, bindparam, update
from sqlmodel import Session, col

from models.db import audit_many
from models.tables import MessageStatus, OutboundMessage

OnSent = Callable[[Session, OutboundMessage], None]
Row = OutboundMessage  # short alias for column expressions


class _Audited(Protocol):
    """What an outbox audit entry names of its row: a loaded row, or a transition's `Moved`."""

    @property
    def id(self) -> int | None: ...
    @property
    def cycle_id(self) -> int | None: ...
    @property
    def idempotency_key(self) -> str: ...
    @property
    def message_id(self) -> str: ...


def audit_entry(
    row: _Audited, action: str, at: datetime, actor: str, **details: Any
) -> dict[str, Any]:
    """The audit event of one outbox row's change, as `audit_many` takes it."""
    return {
        "at": at,
        "actor": actor,
        "action": action,
        "entity": "outboundmessage",
        "entity_id": row.id,
        "cycle_id": row.cycle_id,
        "details": {"key": row.idempotency_key, "message_id": row.message_id, **details},
    }


def audit_row(
    db: Session, row: OutboundMessage, action: str, at: datetime, actor: str, **details: Any
) -> None:
    audit_many(db, [audit_entry(row, action, at, actor, **details)])


class Moved(NamedTuple):
    """What a transition returns of each row it moved: what its audit entry names."""

    id: int
    cycle_id: int | None
    idempotency_key: str
    message_id: str
    attempts: int
    last_error: str | None


def transition(
    db: Session, ids: Sequence[int], token: str | None, values: dict[str, Any]
) -> list[Moved]:
    """Move rows out of 'sending' where still held under `token`; the rows that moved."""
    binds = {f"new_{k}": v for k, v in values.items()}
    rows = db.execute(_transition(tuple(values)), {"ids": list(ids), "token": token, **binds})
    return [Moved(*r) for r in rows]


@lru_cache(maxsize=16)
def _transition(names: tuple[str, ...]) -> Update:
    # Built once per set of columns it sets: building it took most of a message's send time
    # (~1 ms of SQLAlchemy against 0.15 ms of SQLite for two dozen coercions, sent each time).
    return (
        update(Row)
        .where(
            col(Row.id).in_(bindparam("ids", expanding=True)),
            col(Row.status) == MessageStatus.SENDING,
            col(Row.claimed_by) == bindparam("token"),
        )
        .values({name: bindparam(f"new_{name}") for name in names})
        .returning(*(col(getattr(Row, name)) for name in Moved._fields))
        .execution_options(synchronize_session=False)
    )


def audit_moved(db: Session, moved: Sequence[Moved], action: str, at: datetime, actor: str) -> None:
    """One audit entry per moved row, in one INSERT."""
    entries = [
        audit_entry(m, action, at, actor, attempts=m.attempts, detail=m.last_error) for m in moved
    ]
    audit_many(db, entries)
