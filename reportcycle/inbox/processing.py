"""Reading one reply: `process_message(raw) -> Outcome` (DESIGN §4).

A plain function: it parses, matches the reply to a request through every signal we planted
(plus-address token, subject tag, In-Reply-To/References, the form's token), checks the
sender, reads the form or the body, and decides. It writes nothing; the collector records
the outcome. The reader only feeds it.
"""

from __future__ import annotations

import email
import email.policy
import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.headerregistry import BaseHeader, HeaderRegistry
from email.message import EmailMessage
from email.utils import getaddresses
from typing import Any, Literal

from reportcycle.inbox import body_text, message_parts, mime_scan
from reportcycle.inbox.contribution import (
    Contribution,
    Files,
    from_body,
    from_form,
    read_attachments,
    too_large,
)
from reportcycle.inbox.matching import (
    Match,
    RequestLookup,
    RequestRef,
    first_message_id,
    match_request,
)
from reportcycle.vietnamese import nfc

Status = Literal["accepted", "needs_review", "rejected", "ignored"]


class _CachedHeaders(HeaderRegistry):
    """The default policy parses a header again on every access (get_content_type alone is
    called ~20 times a message); header objects are immutable, so parse each value once."""

    @functools.lru_cache(maxsize=4096)  # noqa: B019 — one registry per process, never freed
    def __call__(self, name: str, value: str) -> BaseHeader:
        return super().__call__(name, value)


POLICY = email.policy.default.clone(header_factory=_CachedHeaders())


@dataclass
class Outcome:
    status: Status
    reason: str  # machine code, e.g. "accepted", "unknown_sender", "macro"
    explanation: str = ""  # what the sender is told, Vietnamese
    request: RequestRef | None = None
    sender: str | None = None
    subject: str = ""
    message_id: str | None = None
    contribution: Contribution | None = None
    review_reasons: list[str] = field(default_factory=list)
    late: bool = False
    signals: list[dict[str, Any]] = field(default_factory=list)  # which signal said what
    signals_text: str = ""  # the same for the reviewer, Vietnamese


def process_message(
    raw: bytes,
    *,
    lookup: RequestLookup,
    reply_local_part: str,
    now: datetime,
    max_attachment_bytes: int,
    own_addresses: Sequence[str] = (),
) -> Outcome:
    oversized = _oversized_part(raw, max_attachment_bytes)
    if oversized is not None:  # refused from its headers: never parsed or decoded whole
        return _refuse_unread(
            raw, oversized, max_attachment_bytes, lookup, reply_local_part, own_addresses
        )
    message = _parse(raw)
    base = _blank_outcome(message)
    skipped = _skip_reason(message, base.sender, own_addresses)
    if skipped is not None:
        return _with(base, "ignored", skipped)
    files = read_attachments(message_parts.attachments(message), max_bytes=max_attachment_bytes)
    if files.rejection is not None:
        return _with(
            base,
            "rejected",
            files.rejection.reason,
            files.rejection.explanation,
            request=match_request(message, lookup, reply_local_part, None).request,
        )
    match = match_request(
        message, lookup, reply_local_part, files.form.token if files.form else None
    )
    base.signals = [s.as_json() for s in match.signals]
    base.signals_text = match.verdict()
    if match.request is None:
        return _with(base, "rejected", match.reason, match.explanation)
    request = match.request
    base.request, base.late = request, now.date() > request.deadline
    contribution = _read_contribution(message, files, request)
    if contribution is None:
        return _with(base, "rejected", "empty", EMPTY_REPLY)
    if contribution.is_empty():
        return _with(base, "rejected", "empty_form", EMPTY_FORM)
    return _judge(base, match, contribution)


def _parse(raw: bytes) -> EmailMessage:
    """The parsed message; big bodies are decoded from the raw bytes, not parsed as text."""
    text, big = mime_scan.skeleton(raw)
    message = email.message_from_bytes(text, policy=POLICY)
    assert isinstance(message, EmailMessage)
    for part in message.walk() if big else ():
        found = big.get(str(part.get_payload()).strip()) if not part.is_multipart() else None
        if found is not None:
            data = mime_scan.payload(raw, found)
            del part["Content-Transfer-Encoding"]
            part["Content-Transfer-Encoding"] = "binary"  # payload as is: decoded already
            # Not set_payload: it turns bytes into a surrogate-escaped str, twice their size,
            # and get_payload(decode=True) turns it back: two more copies of a big file.
            part._payload = data  # type: ignore[attr-defined]  # noqa: SLF001
    return message


def _oversized_part(raw: bytes, max_bytes: int) -> mime_scan.PartSize | None:
    if len(raw) * 3 // 4 <= max_bytes:
        return None  # no part can be over the limit: skip the scan
    return next((p for p in mime_scan.leaf_parts(raw) if p.decoded_size > max_bytes), None)


def _refuse_unread(
    raw: bytes,
    part: mime_scan.PartSize,
    max_bytes: int,
    lookup: RequestLookup,
    reply_local_part: str,
    own_addresses: Sequence[str],
) -> Outcome:
    """A reply with a part over the limit, decided on the headers alone (bounded memory)."""
    message = mime_scan.headers_of(raw, POLICY)
    base = _blank_outcome(message)
    skipped = _skip_reason(message, base.sender, own_addresses)
    if skipped is not None:
        return _with(base, "ignored", skipped)
    kind = part.headers.get_content_type()
    name = message_parts.filename(part.headers) or f"phần nội dung thư ({kind})"
    rejection = too_large(name, part.decoded_size, max_bytes)
    return _with(
        base,
        "rejected",
        rejection.reason,
        rejection.explanation,
        request=match_request(message, lookup, reply_local_part, None).request,
    )


def _blank_outcome(message: EmailMessage) -> Outcome:
    """An outcome carrying what every answer needs to know of the message, not yet decided."""
    return Outcome(
        "ignored",
        "",
        sender=_sender(message),
        subject=nfc(str(message.get("Subject", ""))),
        message_id=first_message_id(message.get("Message-ID", "")),
    )


def _skip_reason(
    message: EmailMessage, sender: str | None, own_addresses: Sequence[str]
) -> str | None:
    """Why the message is no reply to read (a bounce or auto-reply, no sender, our own)."""
    if message_parts.is_bounce(message) or message_parts.is_auto_reply(message):
        return "auto_reply"
    if sender is None:
        return "no_sender"
    if sender in {a.lower() for a in own_addresses}:
        return "own_message"
    return None


def _read_contribution(
    message: EmailMessage, files: Files, request: RequestRef
) -> Contribution | None:
    """The form if there is one, else the body without its quoted part; None if that is empty."""
    if files.form is not None:
        return from_form(files, request)
    text = body_text.strip_quoted(body_text.body_text(message))
    if not text.strip():
        return None
    return from_body(text, files, request)


def _judge(base: Outcome, match: Match, contribution: Contribution) -> Outcome:
    """Accepted, unless a signal, the contribution or the sender gives a reason to look."""
    assert base.request is not None
    reasons = list(match.doubts) + contribution.review_reasons()
    if base.sender not in {e.lower() for e in base.request.unit_emails}:
        reasons.insert(0, "unknown_sender")
    base.contribution, base.review_reasons = contribution, reasons
    return _with(
        base, "needs_review" if reasons else "accepted", reasons[0] if reasons else "accepted"
    )


EMPTY_REPLY = (
    "Thư trả lời không có phiếu đính kèm và không có nội dung. Hãy trả lời thư đề nghị, "
    "đính kèm phiếu đã điền (.docx) rồi gửi lại."
)
EMPTY_FORM = (
    "Phiếu đính kèm chưa được điền: mọi mục và số liệu đều trống. Hãy điền vào các ô trắng "
    "của phiếu, lưu lại rồi gửi lại."
)


def _with(
    base: Outcome, status: Status, reason: str, explanation: str = "", **changes: Any
) -> Outcome:
    base.status, base.reason, base.explanation = status, reason, explanation
    for name, value in changes.items():
        setattr(base, name, value)
    return base


def _sender(message: EmailMessage) -> str | None:
    pairs = getaddresses([str(v) for v in message.get_all("From", [])])
    addresses = [a.strip().lower() for _, a in pairs if "@" in a]
    return addresses[0] if addresses else None
