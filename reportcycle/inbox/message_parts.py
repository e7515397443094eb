"""The files of a reply and what kind of message it is: attachments, auto-replies, bounces."""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import dataclass
from email.errors import HeaderParseError
from email.header import decode_header, make_header
from email.message import EmailMessage, Message
from email.utils import parseaddr

from reportcycle.inbox.body_text import part_payload
from reportcycle.vietnamese import nfc


@dataclass(frozen=True)
class AttachmentInfo:
    """An attached file. `filename` is for showing and for its extension only, never a path."""

    filename: str
    content_type: str
    data: bytes
    size: int


_MAX_DEPTH = 20  # forwarded inside forwarded …: deeper than any real mail
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def attachments(message: EmailMessage) -> list[AttachmentInfo]:
    """Attached files, including those of attached (forwarded) messages, in message order."""
    found: list[AttachmentInfo] = []
    _collect(message, found, 0)
    return found


def _collect(part: Message, found: list[AttachmentInfo], depth: int) -> None:
    if depth > _MAX_DEPTH:
        return
    if part.get_content_type() in ("message/rfc822", "message/global"):
        payload = part.get_payload()
        inner = payload[0] if isinstance(payload, list) and payload else None
        if not isinstance(inner, Message):
            # message/global, or an rfc822 part sent base64-encoded: parse the decoded bytes
            inner = email.message_from_bytes(part_payload(part), policy=email.policy.default)
        _collect(inner, found, depth + 1)
    elif part.is_multipart():
        for sub in part.get_payload():
            if isinstance(sub, Message):
                _collect(sub, found, depth + 1)
    elif _is_attachment(part):
        data = part_payload(part)
        found.append(AttachmentInfo(_filename(part), part.get_content_type(), data, len(data)))


def _is_attachment(part: Message) -> bool:
    disposition = part.get_content_disposition()
    if disposition == "attachment":
        return True
    # inline with a name (Apple Mail, pasted pictures); a name and no disposition at all
    # (older Outlook, Lotus Notes) unless it is a text part, which is the body.
    named = bool(part.get_filename())
    return named and (disposition == "inline" or part.get_content_maintype() != "text")


def filename(part: Message) -> str:
    """The part's file name as shown to people (see `_filename`)."""
    return _filename(part)


def _filename(part: Message) -> str:
    """RFC 2231 (filename*=utf-8''…) or RFC 2047 (=?utf-8?B?…?=) decoded, NFC, no controls."""
    name = part.get_filename() or ""
    if "=?" in name:  # encoded-words inside a quoted parameter: not standard, but common
        try:
            name = str(make_header(decode_header(name)))
        except (HeaderParseError, LookupError, UnicodeDecodeError):
            pass
    return _CONTROL.sub("", nfc(name)).strip()


_AUTO_SUBJECTS = ("auto:", "automatic reply:", "autoreply:", "out of office",
                  "trả lời tự động:", "tự động trả lời:")  # casefolded  # fmt: skip


def is_auto_reply(message: EmailMessage) -> bool:
    """An out-of-office or other automatic answer (RFC 3834 Auto-Submitted, the X-Autoreply
    family, Precedence, or the subject prefixes of Outlook, Gmail and their Vietnamese UIs)."""
    auto_submitted = _header(message, "Auto-Submitted").split(";")[0].strip().lower()
    if auto_submitted and auto_submitted != "no":
        return True
    if any(message.get(name) is not None for name in ("X-Autoreply", "X-Autorespond")):
        return True
    if _header(message, "Precedence").lower() in ("bulk", "auto_reply", "junk"):
        return True
    return nfc(_header(message, "Subject")).casefold().startswith(_AUTO_SUBJECTS)


def is_bounce(message: EmailMessage) -> bool:
    """A delivery status notification: multipart/report; report-type=delivery-status, or a
    message from MAILER-DAEMON/postmaster with an empty envelope sender (Return-Path <>)."""
    report_type = str(message.get_param("report-type", "")).lower()
    if message.get_content_type() == "multipart/report" and report_type == "delivery-status":
        return True
    return_path = message.get("Return-Path")
    if return_path is None or str(return_path).strip() not in ("", "<>"):
        return False
    local_part = parseaddr(_header(message, "From"))[1].split("@")[0].lower()
    return local_part in ("mailer-daemon", "postmaster")


def _header(message: Message, name: str) -> str:
    return str(message.get(name, "")).strip()
