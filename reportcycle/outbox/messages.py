"""Composing email: one `make_message(kind, …)` renders `<kind>-subject.txt`,
`<kind>-body.txt` and `<kind>-body.html` from templates/ (STYLE: Email)."""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.utils import make_msgid
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from reportcycle.outbox.mime import ComposedMessage, Part, compose
from reportcycle.vietnamese import nfc, nfc_deep

TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "templates"
TOKEN_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"
TOKEN_LENGTH = 20  # 100 bits: unguessable, and short enough for a plus-address


DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    content_type: str = DOCX_TYPE


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
    now: datetime,
    cc: Sequence[str] = (),
    reply_to: str | None = None,
    attachments: Sequence[Attachment] = (),
    headers: Mapping[str, str] | None = None,
) -> ComposedMessage:
    """Text and HTML from `<kind>-…` templates, attachments, and a fresh Message-ID."""
    return compose(
        sender=nfc(sender),
        to=[nfc(a) for a in to],
        cc=[nfc(a) for a in cc],
        reply_to=reply_to,
        subject=render(f"{kind}-subject.txt", context).strip(),
        text=render(f"{kind}-body.txt", context),
        html=render(f"{kind}-body.html", context),
        message_id=make_msgid(idstring=kind, domain=domain),
        date=now,
        attachments=[Part(a.content, a.content_type, nfc(a.filename)) for a in attachments],
        headers=headers,
    )


def display_address(name: str, addr_spec: str) -> str:
    username, _, domain = addr_spec.partition("@")
    return str(Address(display_name=nfc(name), username=username, domain=domain))
