"""An IMAP folder as a mail source, with UIDVALIDITY/UID bookkeeping so nothing is read twice."""

from __future__ import annotations

import contextlib
import imaplib
import re
import ssl
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, Self

from sqlmodel import Session, select

from models.db import session
from models.inbound import MailboxState
from reportcycle.inbox.imap_address import ImapTarget, imap_mailbox, log_in, ssl_context
from reportcycle.inbox.mailbox import (
    DONE_KEYWORD,
    FETCH_BUDGET_BYTES,
    URL_HINT,
    Fetched,
    MailSourceError,
)

TLS_HINT = (
    "if the server's certificate comes from a private CA, set REPORTCYCLE_IMAP_CAFILE to that "
    "CA's certificate (REPORTCYCLE_IMAP_VALIDATE_CERTS=false only for a test server)"
)
_SIZE = re.compile(rb"\bRFC822\.SIZE (\d+)")
_UID = re.compile(rb"\bUID (\d+)")


class ImapSource:
    """An IMAP folder read by UID; the position (UIDVALIDITY, last UID) lives in the DB."""

    def __init__(
        self,
        url: str,
        *,
        starttls: bool = True,
        validate_certs: bool = True,
        cafile: Path | None = None,
        processed: Literal["flag", "move"] = "flag",
        processed_folder: str = "Reportcycle/Processed",
        timeout: float = 60.0,
        db_url: str | None = None,
    ) -> None:
        self.target = target = ImapTarget.parse(url)
        scheme = "imaps" if target.implicit_tls else "imap"
        self.name = f"{scheme}://{target.user}@{target.where}/{target.folder}"
        self.starttls, self.validate_certs, self.cafile = starttls, validate_certs, cafile
        self.processed, self.processed_folder = processed, processed_folder
        self.timeout, self.db_url = timeout, db_url
        self.uidvalidity = 0
        self.reset_reason: str | None = None  # why a saved position was dropped (not 1st run)
        self._cursor = 0  # highest UID handed out (or saved); the next fetch starts above it
        self._conn: imaplib.IMAP4 | None = None
        self._caps: set[str] = set()
        self._keywords = True  # does the folder keep our own keyword?
        self._folder_ready = False

    def __enter__(self) -> Self:
        try:
            self._open()
            self._load_position()
        except BaseException:
            self._close()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._close()

    def _open(self) -> None:
        self._conn = conn = self._connect()
        folder, where = self.target.folder, self.target.where
        with _failing(f"opening the IMAP folder {folder!r} on {where}"):
            typ, data = conn.select(imap_mailbox(folder))
            if typ != "OK":
                raise MailSourceError(
                    f"the IMAP folder {folder!r} cannot be opened on {where}: {_text(data)}; "
                    "check the folder at the end of REPORTCYCLE_INBOX_URL"
                )
            validity = conn.response("UIDVALIDITY")[1][0]
            flags = conn.response("PERMANENTFLAGS")[1][0]
        if not validity:
            raise MailSourceError(f"the IMAP server {where} sent no UIDVALIDITY for {folder!r}")
        self.uidvalidity = int(validity)
        # Without "\*" in PERMANENTFLAGS the server would refuse or drop our keyword.
        self._keywords = not flags or b"\\*" in flags

    def _connect(self) -> imaplib.IMAP4:
        t, context = self.target, self._ssl_context()
        with _failing(f"connecting to the IMAP server {t.where}"):
            conn = (
                imaplib.IMAP4_SSL(t.host, t.port, ssl_context=context, timeout=self.timeout)
                if t.implicit_tls
                else imaplib.IMAP4(t.host, t.port, timeout=self.timeout)
            )
        try:
            if self.starttls and not t.implicit_tls:
                if "STARTTLS" not in conn.capabilities:
                    raise MailSourceError(
                        f"the IMAP server {t.where} does not offer STARTTLS, so logging in "
                        "would send the password in clear; use imaps:// (port 993) in "
                        "REPORTCYCLE_INBOX_URL, or set REPORTCYCLE_IMAP_STARTTLS=false only "
                        "if the network to the server is trusted"
                    )
                with _failing(f"STARTTLS with the IMAP server {t.where}"):
                    conn.starttls(context)
            with _failing(f"IMAP login to {t.where} as {t.user}"):
                log_in(conn, t)
                data = _ok(conn.capability(), "CAPABILITY")  # MOVE etc. show after login
        except BaseException:
            with contextlib.suppress(OSError):  # a failed handshake has closed it already
                conn.shutdown()
            raise
        self._caps = set(_text(data).upper().split())
        return conn

    def _ssl_context(self) -> ssl.SSLContext:
        return ssl_context(self.cafile, validate_certs=self.validate_certs)

    def _load_position(self) -> None:
        with session(self.db_url) as db:
            row = db.exec(select(MailboxState).where(MailboxState.source == self.name)).first()
        self._cursor, self.reset_reason = 0, None
        if row is not None and row.uidvalidity == self.uidvalidity:
            self._cursor = row.last_uid
        elif row is not None:  # the saved UIDs now name other messages, or none
            self.reset_reason = (
                f"UIDVALIDITY changed from {row.uidvalidity} to {self.uidvalidity}: re-reading "
                "the folder; duplicates are recognised by Message-ID"
            )

    def _exchange(self, action: str, command: Callable[[imaplib.IMAP4], list[Any]]) -> list[Any]:
        """One command; if the server dropped us (idle while the collector processed a batch),
        log in again once and repeat it. Ours are all safe to repeat (SEARCH, FETCH, STORE +,
        MOVE by UID); a new UIDVALIDITY in between would make our UIDs meaningless."""
        with _failing(f"{action} on {self.target.where}"):
            if self._conn is None:
                raise RuntimeError("use the IMAP source inside a `with` block")
            try:
                return command(self._conn)
            except (imaplib.IMAP4.abort, OSError):
                validity = self.uidvalidity
                self._close()
                self._open()
                if self.uidvalidity != validity:
                    raise MailSourceError(
                        f"UIDVALIDITY of {self.target.folder!r} changed from {validity} to "
                        f"{self.uidvalidity} during the run; the next run re-reads the folder"
                    ) from None
                return command(self._conn)

    def fetch_new(self, limit: int) -> list[Fetched]:
        while uids := self._search_after(self._cursor)[:limit]:
            uids = self._within_budget(uids)
            batch = self._fetch(uids)
            self._cursor = uids[-1]  # UIDs expunged meanwhile never come back: skip them too
            if batch:
                return batch
        return []

    def _search_after(self, after: int) -> list[int]:
        query = f"UID {after + 1}:* UNKEYWORD {DONE_KEYWORD}"
        data = self._exchange("searching", lambda c: _ok(c.uid("SEARCH", query), "SEARCH"))
        # "n:*" always includes the highest UID, even when it is below n.
        return sorted(u for u in map(int, _text(data).split()) if u > after)

    def _within_budget(self, uids: list[int]) -> list[int]:
        """The first UIDs whose messages fit FETCH_BUDGET_BYTES (at least one): a batch is
        held whole in memory until stored, and replies may carry scans of tens of MB."""
        if len(uids) == 1:
            return uids
        query = ",".join(map(str, uids)), "(UID RFC822.SIZE)"
        data = self._exchange("sizing", lambda c: _ok(c.uid("FETCH", *query), "FETCH"))
        sizes: dict[int, int] = {}
        for item in data:
            if isinstance(item, bytes) and (u := _UID.search(item)) and (n := _SIZE.search(item)):
                sizes[int(u.group(1))] = int(n.group(1))
        taken: list[int] = []
        total = 0
        for uid in uids:
            total += sizes.get(uid, 0)
            if taken and total > FETCH_BUDGET_BYTES:
                break
            taken.append(uid)
        return taken

    def _fetch(self, uids: list[int]) -> list[Fetched]:
        # BODY.PEEK leaves \Seen alone: people see replies as unread until processed.
        query = ",".join(map(str, uids)), "(UID BODY.PEEK[])"
        data = self._exchange("fetching", lambda c: _ok(c.uid("FETCH", *query), "FETCH"))
        bodies: dict[int, bytes] = {}
        for i, item in enumerate(data):
            if not isinstance(item, tuple):
                continue  # the closing ")" or an unsolicited FLAGS update
            match = _UID.search(item[0])
            if match is None and i + 1 < len(data) and isinstance(data[i + 1], bytes):
                match = _UID.search(data[i + 1])  # the server put UID after the body
            if match is not None:
                bodies[int(match.group(1))] = item[1]
        return [
            Fetched(ref=f"{self.uidvalidity}:{uid}", raw=bodies[uid], uid=uid)
            for uid in uids
            if uid in bodies
        ]

    def save_position(self, db: Session, batch: Sequence[Fetched], now: datetime) -> None:
        uids = [f.uid for f in batch if f.uid is not None and self._uid(f.ref) is not None]
        if not uids:
            return
        row = db.exec(select(MailboxState).where(MailboxState.source == self.name)).first()
        if row is None:
            row = MailboxState(source=self.name, uidvalidity=self.uidvalidity)
        elif row.uidvalidity == self.uidvalidity:
            uids.append(row.last_uid)  # never move back
        row.uidvalidity, row.last_uid = self.uidvalidity, max(uids)
        row.updated_at = now
        db.add(row)

    def mark_processed(self, refs: Sequence[str]) -> None:
        uids = ",".join(str(u) for u in sorted({self._uid(r) or 0 for r in refs} - {0}))
        if uids:
            self._exchange("marking messages processed", lambda c: self._mark(c, uids))

    def _mark(self, conn: imaplib.IMAP4, uids: str) -> list[Any]:
        done = f"(\\Seen {DONE_KEYWORD})" if self._keywords else "(\\Seen)"
        # Flag first, also when moving: a move cut short leaves them flagged, not re-read.
        _ok(conn.uid("STORE", uids, "+FLAGS.SILENT", done), "STORE")
        if self.processed == "flag":
            return []
        folder = imap_mailbox(self.processed_folder)
        if not self._folder_ready:
            typ, data = conn.create(folder)
            if typ == "OK":
                conn.subscribe(folder)  # mail clients show only subscribed folders
            elif not conn.list('""', folder)[1][0]:
                raise MailSourceError(
                    f"cannot create the IMAP folder {self.processed_folder!r}: {_text(data)}; "
                    "check REPORTCYCLE_IMAP_PROCESSED_FOLDER"
                )
            self._folder_ready = True
        if "MOVE" in self._caps:
            return _ok(conn.uid("MOVE", uids, folder), "MOVE")
        # No MOVE: copy, and delete only once the copy is safely stored.
        _ok(conn.uid("COPY", uids, folder), "COPY")
        _ok(conn.uid("STORE", uids, "+FLAGS.SILENT", "(\\Deleted)"), "STORE")
        if "UIDPLUS" in self._caps:  # a plain EXPUNGE would also purge others' \Deleted mail
            _ok(conn.uid("EXPUNGE", uids), "EXPUNGE")
        return []

    def _uid(self, ref: str) -> int | None:
        """The UID in one of our refs; None for a ref from another UIDVALIDITY (stale)."""
        validity, _, uid = ref.partition(":")
        return int(uid) if validity == str(self.uidvalidity) and uid.isdigit() else None

    def _close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(OSError, imaplib.IMAP4.error):
                conn.logout()


def _ok(result: tuple[str, list[Any]], command: str) -> list[Any]:
    typ, data = result
    if typ != "OK":
        raise imaplib.IMAP4.error(f"{command} answered {typ}: {_text(data)}")
    return data


def _text(data: Any) -> str:
    """Server words from imaplib's bytes lists and exception arguments, for people."""
    items = data if isinstance(data, list | tuple) else [data]
    words = (i.decode(errors="replace") if isinstance(i, bytes) else str(i) for i in items if i)
    return " ".join(words)


@contextlib.contextmanager
def _failing(action: str, hint: str = URL_HINT) -> Iterator[None]:
    """Network, TLS and protocol failures as one error that says what to do."""
    try:
        yield
    except ssl.SSLError as exc:  # before OSError, of which it is one
        raise MailSourceError(f"{action} failed: TLS error: {exc}; {TLS_HINT}") from exc
    except (OSError, imaplib.IMAP4.error) as exc:
        # imaplib's errors carry the server's words as bytes; socket errors read fine as is.
        detail = _text(exc.args[0]) if isinstance(exc, imaplib.IMAP4.error) and exc.args else ""
        raise MailSourceError(f"{action} failed: {detail or exc}; {hint}") from exc
