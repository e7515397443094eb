"""Where an IMAP inbox is: the URL of the settings parsed, and folder names written as IMAP
wants them."""

from __future__ import annotations

import base64
import imaplib
import re
import ssl
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from reportcycle.inbox.mailbox import URL_HINT, MailSourceError


@dataclass(frozen=True)
class ImapTarget:
    implicit_tls: bool
    host: str
    port: int
    user: str
    password: str
    folder: str

    @classmethod
    def parse(cls, url: str) -> ImapTarget:
        parts = urlsplit(url)
        if parts.scheme not in {"imap", "imaps"} or not parts.hostname:
            raise MailSourceError(
                "the inbox URL must look like imap://user:password@host:143/INBOX or "
                f"imaps://user:password@host:993/INBOX; {URL_HINT}"
            )
        if parts.username is None or parts.password is None:
            raise MailSourceError(f"the inbox URL has no user or no password; {URL_HINT}")
        implicit_tls = parts.scheme == "imaps"
        return cls(
            implicit_tls=implicit_tls,
            host=parts.hostname,
            port=parts.port or (993 if implicit_tls else 143),
            user=unquote(parts.username),
            password=unquote(parts.password),
            folder=unquote(parts.path.lstrip("/")) or "INBOX",
        )

    @property
    def where(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def imap_mailbox(name: str) -> str:
    """A folder name as IMAP wants it: modified UTF-7 (RFC 3501 §5.1.3), quoted.

    Folder names here are often Vietnamese ("Đã xử lý"), and imaplib encodes nothing.
    """
    out: list[str] = []
    for run in re.findall(r"[\x20-\x7e]+|[^\x20-\x7e]+", name):
        if run.isascii() and run.isprintable():
            out.append(run.replace("&", "&-"))
        else:
            encoded = base64.b64encode(run.encode("utf-16-be")).rstrip(b"=").replace(b"/", b",")
            out.append(f"&{encoded.decode()}-")
    text = "".join(out).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def ssl_context(cafile: Path | None, *, validate_certs: bool) -> ssl.SSLContext:
    """The TLS context for an IMAP server: the system's CAs, or the site's own CA file."""
    context = ssl.create_default_context(cafile=str(cafile) if cafile else None)
    if not validate_certs:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def log_in(conn: imaplib.IMAP4, target: ImapTarget) -> None:
    if "AUTH=PLAIN" in conn.capabilities:  # UTF-8 credentials; LOGIN is ASCII-only
        conn.authenticate("PLAIN", lambda _: f"\0{target.user}\0{target.password}".encode())
    else:
        conn.login(target.user, target.password)
