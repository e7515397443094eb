"""The application database: the source of truth for cycles, requests and mail (DESIGN §1)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, LargeBinary, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime


def _ts(*, nullable: bool = False, index: bool = False) -> Any:
    return Field(sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


def _json(*, default: Any) -> Any:
    return Field(default_factory=default, sa_column=Column(JSON, nullable=False))


class CycleStatus(StrEnum):
    OPEN = "open"
    CONSOLIDATING = "consolidating"
    CLOSED = "closed"


class RequestStatus(StrEnum):
    QUEUED = "queued"  # the request email is in the outbox
    SENT = "sent"
    FAILED = "failed"  # the server refused it permanently; see the message's last_error


class MessageStatus(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"  # claimed by a sender; on restart resolved by its Message-ID
    SENT = "sent"
    FAILED = "failed"  # permanent refusal (5xx) or retries exhausted
    UNCERTAIN = "uncertain"  # a sender died mid-send and the server cannot tell us


class Regime(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True, index=True)
    name: str
    source_path: str
    content_sha256: str  # of the file as last loaded
    loaded_at: datetime = _ts()


class RegimeVersion(SQLModel, table=True):
    """A regime as it was at one point: cycles keep the version they opened with, so later
    edits of the file (renamed units, new sections) never rewrite an earlier cycle."""

    id: int | None = Field(default=None, primary_key=True)
    regime_id: int = Field(foreign_key="regime.id", index=True)
    sha256: str = Field(unique=True)
    body: dict[str, Any] = _json(default=dict)
    loaded_at: datetime = _ts()


class Unit(SQLModel, table=True):
    """A contributing unit. Its current name and addresses; requests keep a snapshot."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True, index=True)
    name: str
    emails: list[str] = _json(default=list)
    head_email: str | None = None
    active: bool = True
    updated_at: datetime = _ts()
    # Lineage: the unit it became (renamed into, merged into) when it stopped being one.
    successor_id: int | None = Field(default=None, foreign_key="unit.id", index=True)
    ended_at: datetime | None = _ts(nullable=True)


class Cycle(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("regime_id", "period_code", name="uq_cycle_regime_period"),)

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True, index=True)
    regime_id: int = Field(foreign_key="regime.id", index=True)
    period_code: str
    window_start: date
    window_end: date
    deadline: date
    status: CycleStatus = Field(default=CycleStatus.OPEN, sa_type=String(16))
    request_ref: str | None = None
    request_date: date | None = None
    request_from: str | None = None
    regime_sha256: str = Field(index=True)  # the RegimeVersion the cycle opened with
    opened_at: datetime = _ts()


class DataRequest(SQLModel, table=True):
    """One unit's part of a cycle: what it is asked for, by when, and the reply token."""

    __table_args__ = (UniqueConstraint("cycle_id", "unit_id", name="uq_request_cycle_unit"),)

    id: int | None = Field(default=None, primary_key=True)
    cycle_id: int = Field(foreign_key="cycle.id", index=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    unit_code: str
    unit_name: str
    to_addresses: list[str] = _json(default=list)
    section_codes: list[str] = _json(default=list)
    indicator_codes: list[str] = _json(default=list)
    token: str = Field(unique=True, index=True)
    deadline: date
    status: RequestStatus = Field(default=RequestStatus.QUEUED, sa_type=String(16))
    form_filename: str | None = None  # set when the form is rendered and queued
    form_sha256: str | None = None
    created_at: datetime = _ts()
    sent_at: datetime | None = _ts(nullable=True)


class OutboundMessage(SQLModel, table=True):
    """The outbox (DESIGN §3): a message exists here, rendered, before anything is sent."""

    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str = Field(unique=True, index=True)
    kind: str
    cycle_id: int | None = Field(default=None, foreign_key="cycle.id", index=True)
    request_id: int | None = Field(default=None, foreign_key="datarequest.id", index=True)
    message_id: str = Field(unique=True)
    sender: str
    recipients: list[str] = _json(default=list)
    subject: str
    raw: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    status: MessageStatus = Field(default=MessageStatus.QUEUED, sa_type=String(16), index=True)
    attempts: int = 0
    last_error: str | None = None
    claimed_by: str | None = None
    claimed_at: datetime | None = _ts(nullable=True)
    # Committed just before this row's SMTP DATA: a claimed row without it never went out.
    attempted_at: datetime | None = _ts(nullable=True)
    next_attempt_at: datetime | None = _ts(nullable=True)
    created_at: datetime = _ts()
    sent_at: datetime | None = _ts(nullable=True)


class AuditEvent(SQLModel, table=True):
    """Every state change, in order: who, what, on which entity, with which details."""

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _ts(index=True)
    actor: str
    action: str = Field(index=True)
    entity: str
    entity_id: int | None = None
    cycle_id: int | None = Field(default=None, foreign_key="cycle.id", index=True)
    details: dict[str, Any] = _json(default=dict)
