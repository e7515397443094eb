"""Where an IMAP inbox is: the URL of the settings parsed, and folder names written as IMAP
wants them."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
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
