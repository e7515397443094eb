"""Matching a reply to its request through every signal we planted (DESIGN §4): the reply
token in the plus-address and in the subject tag, the In-Reply-To/References chain, and the
token in the form's document properties."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from email.message import EmailMessage
from typing import Protocol

TOKEN = r"[a-z2-7]{20}"
_SUBJECT_TAG = re.compile(rf"\[RC-({TOKEN})\]", re.IGNORECASE)
_MESSAGE_ID = re.compile(r"<[^<>\s]+>")


@dataclass(frozen=True)
class RequestRef:
    """What matching needs to know of a request."""

    request_id: int
    cycle_id: int
    cycle_code: str
    token: str
    unit_code: str
    unit_name: str
    unit_emails: tuple[str, ...]
    section_codes: tuple[str, ...]
    indicator_codes: tuple[str, ...]
    deadline: date
    text_indicator_codes: tuple[str, ...] = ()  # answered in words ("Tốt"), not numbers


class RequestLookup(Protocol):
    def by_token(self, token: str) -> RequestRef | None: ...

    def by_message_id(self, message_id: str) -> RequestRef | None: ...


UNKNOWN_TOKEN = (
    "Mã yêu cầu trong thư (địa chỉ trả lời, tiêu đề [RC-…] hoặc phiếu) không khớp với yêu cầu "
    "nào đang mở. Có thể thư được gửi nhầm kỳ báo cáo hoặc phiếu của đơn vị khác. Hãy trả lời "
    "(Reply) đúng thư đề nghị mà đơn vị đã nhận, kèm phiếu của chính đơn vị."
)
NO_TOKEN = (
    "Không xác định được thư này trả lời cho đề nghị cung cấp thông tin nào. Hãy dùng chức năng "
    "Trả lời (Reply) trên thư đề nghị đã nhận, giữ nguyên tiêu đề có mã [RC-…] và đính kèm "
    "phiếu đã điền."
)


def first_message_id(value: object) -> str | None:
    found = _MESSAGE_ID.findall(str(value))
    return found[0] if found else None


@dataclass
class Match:
    request: RequestRef | None
    reason: str = ""
    explanation: str = ""
    doubts: list[str] = field(default_factory=list)


def match_request(
    message: EmailMessage, lookup: RequestLookup, local_part: str, form_token: str | None
) -> Match:
    """The request every signal points to; a token that is ours in form but unknown rejects."""
    tokens = _address_tokens(message, local_part) + _SUBJECT_TAG.findall(
        str(message.get("Subject", ""))
    )
    if form_token:
        tokens.append(form_token)
    found: list[RequestRef] = []
    unknown = False
    for token in tokens:
        ref = lookup.by_token(token.lower())
        unknown |= ref is None
        if ref is not None:
            found.append(ref)
    references = " ".join(str(message.get(h, "")) for h in ("In-Reply-To", "References"))
    found += [r for mid in _MESSAGE_ID.findall(references) if (r := lookup.by_message_id(mid))]
    if not found:
        if unknown:
            return Match(None, "unknown_token", UNKNOWN_TOKEN)
        return Match(None, "no_token", NO_TOKEN)
    distinct = {r.request_id for r in found}
    doubts = ["signals_disagree"] if len(distinct) > 1 or unknown else []
    return Match(found[0], doubts=doubts)


def _address_tokens(message: EmailMessage, local_part: str) -> list[str]:
    pattern = re.compile(rf"{re.escape(local_part)}\+({TOKEN})@", re.IGNORECASE)
    headers = ("To", "Cc", "Delivered-To", "X-Original-To", "Envelope-To")
    values = " ".join(str(v) for h in headers for v in message.get_all(h, []))
    return pattern.findall(values)
