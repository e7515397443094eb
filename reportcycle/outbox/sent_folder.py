"""A relay's sent folder over IMAP: which Message-IDs it holds. Many relays (Exchange, Gmail,
most hosted mail) keep a copy of every message they accept in the account's Sent folder; where
one is configured (REPORTCYCLE_SENT_FOLDER_URL), the message a crash left in doubt is looked up
there instead of being marked uncertain (DESIGN §3)."""

from __future__ import annotations

import contextlib
import imaplib
from collections.abc import Collection
from pathlib import Path

from reportcycle.inbox.imap_address import ImapTarget, imap_mailbox, log_in, ssl_context
from reportcycle.inbox.mailbox import MailSourceError


class ImapSentFolder:
    def __init__(
        self,
        url: str,
        *,
        starttls: bool = True,
        validate_certs: bool = True,
        cafile: Path | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.target = ImapTarget.parse(url)
        self.starttls, self.validate_certs, self.cafile = starttls, validate_certs, cafile
        self.timeout = timeout

    def message_ids(self, wanted: Collection[str]) -> set[str] | None:
        """The ones of `wanted` found in the folder; None if the folder cannot be read (then
        nobody can tell, and the caller treats the messages as uncertain)."""
        if not wanted:
            return set()
        try:
            conn = self._connect()
        except (OSError, imaplib.IMAP4.error, MailSourceError):
            return None
        try:
            typ, _ = conn.select(imap_mailbox(self.target.folder), readonly=True)
            if typ != "OK":
                return None
            found = set()
            for message_id in wanted:
                quoted = '"' + message_id.replace("\\", "\\\\").replace('"', '\\"') + '"'
                typ, data = conn.uid("SEARCH", "HEADER", "Message-ID", quoted)
                if typ != "OK":
                    return None
                if data and data[0] and data[0].split():
                    found.add(message_id)
            return found
        except (OSError, imaplib.IMAP4.error):
            return None
        finally:
            with contextlib.suppress(OSError, imaplib.IMAP4.error):
                conn.logout()

    def _connect(self) -> imaplib.IMAP4:
        t = self.target
        context = ssl_context(self.cafile, validate_certs=self.validate_certs)
        if t.implicit_tls:
            conn: imaplib.IMAP4 = imaplib.IMAP4_SSL(
                t.host, t.port, ssl_context=context, timeout=self.timeout
            )
        else:
            conn = imaplib.IMAP4(t.host, t.port, timeout=self.timeout)
            if self.starttls:
                conn.starttls(context)  # refuses (IMAP4.error) rather than log in in clear
        log_in(conn, t)
        return conn
