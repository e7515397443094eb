"""The embedded local SMTP server: every message it receives lands in a Maildir.

It is the "local and just as real" mail-out system (STYLE, external systems): with no relay
configured, the outbox sends to it over real SMTP, and the Maildir is the record of what left.
"""

from __future__ import annotations

import contextlib
import itertools
import mailbox
import os
import socket
import time
import unicodedata
from email.parser import BytesHeaderParser
from email.policy import default as default_policy
from pathlib import Path
from types import TracebackType
from typing import Any

from aiosmtpd.controller import Controller

LOOPBACK = "127.0.0.1"
# Reports with scanned annexes are large; a relay would refuse well before this.
DATA_SIZE_LIMIT = 64 * 1024 * 1024


class MaildirHandler:
    """aiosmtpd handler: deliver each message into a Maildir, bytes as received."""

    def __init__(self, maildir: Path) -> None:
        self.maildir = maildir
        maildir.parent.mkdir(parents=True, exist_ok=True)  # Maildir() creates only the leaf
        mailbox.Maildir(maildir, create=True)  # creates tmp/, new/ and cur/
        self._host = socket.gethostname().replace("/", "_").replace(":", "_")
        self._count = itertools.count()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw: bytes = envelope.original_content or envelope.content
        # Return-Path / X-Original-To keep the envelope, which the headers alone may not show
        # (Bcc recipients); an MDA adds the same. UTF-8 only appears under SMTPUTF8.
        trace = (
            f"Return-Path: <{envelope.mail_from}>\r\n"
            f"X-Original-To: {', '.join(envelope.rcpt_tos)}\r\n"
        ).encode()
        self._deliver(trace + raw)
        return "250 2.0.0 OK: delivered to Maildir"

    def _deliver(self, data: bytes) -> None:
        """Maildir delivery: write into tmp/, then rename into new/ (atomic on one disk).

        Not `mailbox.Maildir.add`: it fsyncs every message, which stalls the event loop for
        ~30% of a bulk send. A rename survives a killed process, which is what the outbox's
        recovery relies on; surviving power loss is the job of a real mail server.
        """
        name = f"{time.time_ns()}.P{os.getpid()}Q{next(self._count)}.{self._host}"
        tmp = self.maildir / "tmp" / name
        tmp.write_bytes(data)
        os.rename(tmp, self.maildir / "new" / name)


def free_port(host: str = LOOPBACK) -> int:
    """A port nobody listens on right now (aiosmtpd cannot take port 0, DESIGN §10)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def make_controller(handler: Any, host: str, port: int) -> Controller:
    return Controller(
        handler,
        hostname=host,
        port=port,
        enable_SMTPUTF8=True,
        data_size_limit=DATA_SIZE_LIMIT,
    )


class LocalMailServer:
    """A throwaway SMTP server on a free loopback port that delivers into `maildir`."""

    def __init__(self, maildir: Path, handler: Any | None = None) -> None:
        self.maildir = maildir
        self.handler = handler if handler is not None else MaildirHandler(maildir)
        self.host = LOOPBACK
        self.port = 0
        self._controller: Controller | None = None

    def start(self) -> None:
        # Between closing the probe socket and binding, another process may take the port.
        for attempt in range(5):
            self.port = free_port(self.host)
            controller = make_controller(self.handler, self.host, self.port)
            try:
                controller.start()
            except OSError:
                if attempt == 4:
                    raise
                continue
            self._controller = controller
            return

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> LocalMailServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def run_mail_server(maildir: Path, host: str = LOOPBACK, port: int = 8025) -> None:
    """Serve until Ctrl-C (the `reportcycle mail-server` command)."""
    controller = make_controller(MaildirHandler(maildir), host, port)
    controller.start()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()


def _header_block(path: Path) -> bytes:
    lines: list[bytes] = []
    with path.open("rb") as handle:
        for line in handle:
            if line in (b"\r\n", b"\n"):
                break
            lines.append(line)
    return b"".join(lines)


def maildir_message_ids(maildir: Path) -> set[str]:
    """Message-ID values of every message in the Maildir (reads headers only)."""
    if not maildir.exists():
        return set()
    parser = BytesHeaderParser(policy=default_policy)
    found: set[str] = set()
    for sub in ("new", "cur"):
        folder = maildir / sub
        if not folder.is_dir():
            continue
        for path in folder.iterdir():
            # A reader may move a file from new/ to cur/ while we look: new/ is listed first,
            # so a file gone from new/ is found in cur/.
            with contextlib.suppress(FileNotFoundError):
                value = parser.parsebytes(_header_block(path)).get("Message-ID")
                if value:
                    found.add(normalize_message_id(str(value)))
    return found


def normalize_message_id(value: str) -> str:
    return unicodedata.normalize("NFC", value).strip()
