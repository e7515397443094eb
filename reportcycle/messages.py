"""Composing email: one `make_message(kind, …)` renders `<kind>-subject.txt`,
`<kind>-body.txt` and `<kind>-body.html` from templates/ (STYLE: Email)."""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from reportcycle.vntext import nfc, nfc_deep

TEMPLATES_DIR = Path(__file__).resolve().parents[1] / "templates"
TOKEN_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"
TOKEN_LENGTH = 20  # 100 bits: unguessable, and short enough for a plus-address


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    maintype: str = "application"
    subtype: str = "vnd.openxmlformats-officedocument.wordprocessingml.document"


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default=False),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


def render(name: str, context: Mapping[str, Any]) -> str:
    return nfc(_environment().get_template(name).render(**nfc_deep(dict(context))))


def new_token() -> str:
    return "".join(secrets.choice(TOKEN_ALPHABET) for _ in range(TOKEN_LENGTH))


def reply_address(local_part: str, token: str, domain: str) -> str:
    return f"{local_part}+{token}@{domain}"


def subject_tag(token: str) -> str:
    return f"RC-{token}"


def make_message(
    kind: str,
    *,
    sender: str,
    to: Sequence[str],
    context: Mapping[str, Any],
    domain: str,
    cc: Sequence[str] = (),
    reply_to: str | None = None,
    attachments: Sequence[Attachment] = (),
    headers: Mapping[str, str] | None = None,
) -> EmailMessage:
    """A multipart/alternative message (text + HTML) with attachments and a fresh Message-ID."""
    msg = EmailMessage()
    msg["Subject"] = render(f"{kind}-subject.txt", context).strip()
    msg["From"] = nfc(sender)
    msg["To"] = ", ".join(nfc(a) for a in to)
    if cc:
        msg["Cc"] = ", ".join(nfc(a) for a in cc)
    if reply_to:
        msg["Reply-To"] = reply_to
    msg["Message-ID"] = make_msgid(idstring=kind, domain=domain)
    if "now" in context:
        msg["Date"] = format_datetime(context["now"])
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(render(f"{kind}-body.txt", context), subtype="plain", cte="base64")
    msg.add_alternative(render(f"{kind}-body.html", context), subtype="html", cte="base64")
    for item in attachments:
        msg.add_attachment(
            item.content,
            maintype=item.maintype,
            subtype=item.subtype,
            filename=nfc(item.filename),
        )
    return msg


def display_address(name: str, addr_spec: str) -> str:
    username, _, domain = addr_spec.partition("@")
    return str(Address(display_name=nfc(name), username=username, domain=domain))
