"""Mail in (DESIGN §4): raw messages stored before processing, their outcomes, the units'
submissions (versions), and the reader's bookkeeping."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, LargeBinary, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.tables import _json, _ts


class InboundStatus(StrEnum):
    STORED = "stored"  # stored, not yet processed (a crash may leave it so; processed next run)
    ACCEPTED = "accepted"
    NEEDS_REVIEW = "needs_review"
    REJECTED = "rejected"
    IGNORED = "ignored"  # auto-replies, bounces, our own receipts: answered by nobody


class ReviewState(StrEnum):
    NONE = "none"  # accepted without review
    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class InboundMessage(SQLModel, table=True):
    """Every message that arrived, as it arrived, with its outcome."""

    id: int | None = Field(default=None, primary_key=True)
    dedupe_key: str = Field(unique=True)  # "mid:<Message-ID>", or "sha:<sha256>" without one
    sha256: str = Field(index=True)
    message_id: str | None = None
    source: str  # "maildir:/…/inbox" or "imap://user@host/INBOX"
    source_ref: str  # the Maildir key or "<uidvalidity>:<uid>"
    received_at: datetime = _ts(index=True)
    size: int
    raw: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    from_address: str | None = None
    subject: str | None = None
    status: InboundStatus = Field(default=InboundStatus.STORED, sa_type=String(16), index=True)
    reason: str | None = None  # machine code: "unknown_token", "macro_enabled", …
    explanation: str | None = None  # what the sender was told (Vietnamese)
    cycle_id: int | None = Field(default=None, foreign_key="cycle.id", index=True)
    request_id: int | None = Field(default=None, foreign_key="datarequest.id", index=True)
    processed_at: datetime | None = _ts(nullable=True)
    details: dict[str, Any] = _json(default=dict)


class Submission(SQLModel, table=True):
    """One version of a unit's contribution; the latest accepted one counts, all are kept."""

    __table_args__ = (
        UniqueConstraint("request_id", "version", name="uq_submission_request_version"),
    )

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="datarequest.id", index=True)
    cycle_id: int = Field(foreign_key="cycle.id", index=True)
    inbound_id: int = Field(foreign_key="inboundmessage.id", unique=True)
    version: int
    received_at: datetime = _ts()
    late: bool = False
    kind: str  # "form", "converted" (.doc/.odt), "body" (text in the email)
    sections: dict[str, Any] = _json(default=dict)  # code -> list of blocks
    indicators: dict[str, Any] = _json(default=dict)  # code -> {raw, value, problem}
    missing_sections: list[str] = _json(default=list)
    missing_indicators: list[str] = _json(default=list)
    warnings: list[str] = _json(default=list)
    evidence: list[dict[str, Any]] = _json(default=list)  # PDFs and other files kept
    review: ReviewState = Field(default=ReviewState.NONE, sa_type=String(16), index=True)
    review_reason: str | None = None
    review_note: str | None = None
    reviewed_by: str | None = None
    reviewed_at: datetime | None = _ts(nullable=True)


class MailboxState(SQLModel, table=True):
    """An IMAP reader's place: restart neither re-reads nor skips (UIDVALIDITY/UID)."""

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(unique=True)
    uidvalidity: int
    last_uid: int = 0
    updated_at: datetime = _ts()
