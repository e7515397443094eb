"""Mail in: where replies come from — a local Maildir or an IMAP folder (DESIGN §4, STYLE
"external systems"). The collector drives a source like this:

    with source_from_settings(settings) as source:
        while batch := source.fetch_new(limit=settings.collect_batch_size):
            with session() as db:
                store_raw(db, batch)             # deduplicated by Message-ID / content hash
                source.save_position(db, batch, now)  # in the same transaction as the raw rows
                db.commit()
            ...process the stored messages, commit their outcomes...
            source.mark_processed([f.ref for f in batch])

A crash before the commit re-reads the batch and the store drops the duplicates; after it, the
saved position skips the batch and the stored rows are processed on the next run. So
`mark_processed` only tidies the mailbox for people: missing it never causes a re-read. If a
batch cannot be stored, leave the `with` block rather than go on: the next batch's position
would pass over it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, Self

from sqlmodel import Session

DONE_KEYWORD = "$ReportcycleDone"
# A fetched batch is held whole until stored: a source stops adding messages once a batch has
# this many bytes (at least one message), so 20 replies of 30 MB are not all in memory at once.
FETCH_BUDGET_BYTES = 48 * 2**20
URL_HINT = "check REPORTCYCLE_INBOX_URL"


class MailSourceError(ValueError):
    """The mailbox cannot be read; the message says what was wrong and what to do."""


@dataclass(frozen=True)
class Fetched:
    ref: str  # the Maildir key, or "<uidvalidity>:<uid>"
    raw: bytes
    uid: int | None = None


class MailSource(Protocol):
    name: str  # stable id for bookkeeping and display; never contains a password

    def __enter__(self) -> Self: ...

    def __exit__(self, *exc_info: object) -> None: ...

    def fetch_new(self, limit: int) -> list[Fetched]:
        """Up to `limit` messages not yet returned in this session, oldest first."""
        ...

    def save_position(self, db: Session, batch: Sequence[Fetched], now: datetime) -> None:
        """Remember the batch as read, in the caller's transaction (no commit)."""
        ...

    def mark_processed(self, refs: Sequence[str]) -> None:
        """Mark messages whose outcome is committed, so people see them as handled."""
        ...
