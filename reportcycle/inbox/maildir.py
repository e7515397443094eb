"""A local Maildir as a mail source: the default inbox, and what the tests and the demo use."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Self

from sqlmodel import Session

from reportcycle.inbox.mailbox import FETCH_BUDGET_BYTES, Fetched


class MaildirSource:
    """A local Maildir: waiting messages sit in new/, processed ones go to cur/ marked Seen.

    The folder itself is the position, so `save_position` has nothing to do.
    """

    def __init__(self, path: Path) -> None:
        self.path = path.resolve()
        self.name = f"maildir:{self.path}"
        for sub in ("tmp", "new", "cur"):
            (self.path / sub).mkdir(parents=True, exist_ok=True)
        self._returned: set[str] = set()

    def __enter__(self) -> Self:
        self._returned = set()  # a restart offers the unprocessed messages again
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._returned = set()

    def fetch_new(self, limit: int) -> list[Fetched]:
        batch: list[Fetched] = []
        size = 0
        new = self.path / "new"
        # Delivery names start with the time, so name order is arrival order.
        for key in sorted(os.listdir(new)):
            if len(batch) >= limit:
                break
            if key.startswith(".") or key in self._returned:
                continue
            try:
                if batch and size + (new / key).stat().st_size > FETCH_BUDGET_BYTES:
                    break  # a batch is held whole in memory: big mail makes it shorter
                raw = (new / key).read_bytes()
            except FileNotFoundError:  # another reader took it after the listing
                continue
            # Remembered even if never marked: a message that fails processing must not
            # come back in the same run, or the collector's loop would never end.
            self._returned.add(key)
            batch.append(Fetched(ref=key, raw=raw))
            size += len(raw)
        return batch

    def save_position(self, db: Session, batch: Sequence[Fetched], now: datetime) -> None:
        return None

    def mark_processed(self, refs: Sequence[str]) -> None:
        for key in refs:
            if Path(key).name != key:
                continue  # not a key this source handed out
            # Standard Maildir: read messages live in cur/ with the Seen flag in the info.
            with contextlib.suppress(FileNotFoundError):  # already moved: marking twice is fine
                os.rename(self.path / "new" / key, self.path / "cur" / f"{key}:2,S")
