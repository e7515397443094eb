"""The outbox row's changes of state, shared by sending and recovery: each conditional on the
row still being held, each with its audit entry."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col

from models.db import audit
from models.tables import MessageStatus, OutboundMessage

OnSent = Callable[[Session, OutboundMessage], None]
Row = OutboundMessage  # short alias for column expressions


def audit_row(
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


def transition(
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
