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


# How much each signal weighs. The form's token and the thread (In-Reply-To/References) are
# what the unit's software carried over untouched; the subject tag survives most clients; the
# plus-address is the weakest: address books autocomplete an old cycle's reply address.
WEIGHTS = {"form": 3, "thread": 3, "subject": 2, "address": 1}
SIGNAL_VI = {
    "form": "mã trong phiếu",
    "thread": "thư được trả lời (In-Reply-To/References)",
    "subject": "mã [RC-…] trong tiêu đề",
    "address": "mã trong địa chỉ nhận",
}


@dataclass(frozen=True)
class Signal:
    """What one signal said: the request it names (None: a token that is no open request's)."""

    kind: str  # a key of WEIGHTS
    value: str
    request: RequestRef | None

    def describe(self) -> str:
        said = (
            f"{self.request.cycle_code} / {self.request.unit_code}"
            if self.request
            else "không khớp yêu cầu nào đang mở"
        )
        return f"{SIGNAL_VI[self.kind]} ({self.value}) → {said}"

    def as_json(self) -> dict[str, object]:
        return {
            "signal": self.kind,
            "value": self.value,
            "weight": WEIGHTS[self.kind],
            "cycle": self.request.cycle_code if self.request else None,
            "unit": self.request.unit_code if self.request else None,
            "request_id": self.request.request_id if self.request else None,
        }


@dataclass
class Match:
    request: RequestRef | None
    reason: str = ""
    explanation: str = ""
    doubts: list[str] = field(default_factory=list)
    signals: list[Signal] = field(default_factory=list)

    def verdict(self) -> str:
        """For the reviewer: which signal said what, and what was chosen and why."""
        lines = [s.describe() for s in self.signals]
        if self.request is not None and self.doubts:
            lines.append(
                f"chọn {self.request.cycle_code} / {self.request.unit_code}: "
                "các tín hiệu nặng hơn (phiếu, thư được trả lời) chỉ về yêu cầu này"
            )
        return "; ".join(lines)


def match_request(
    message: EmailMessage, lookup: RequestLookup, local_part: str, form_token: str | None
) -> Match:
    """The request the signals point to by weight (WEIGHTS); any disagreement, or a token
    that is no open request's beside a known one, sends the reply to a person with the
    signals shown. Only unknown tokens reject."""
    signals = _signals(message, lookup, local_part, form_token)
    known = [s for s in signals if s.request is not None]
    if not known:
        if signals:
            return Match(None, "unknown_token", UNKNOWN_TOKEN, signals=signals)
        return Match(None, "no_token", NO_TOKEN)
    score: dict[int, int] = {}
    for s in known:
        assert s.request is not None
        score[s.request.request_id] = score.get(s.request.request_id, 0) + WEIGHTS[s.kind]
    best = max(known, key=lambda s: (score[s.request.request_id], -known.index(s)))  # type: ignore[union-attr]
    disagree = len(score) > 1 or len(known) < len(signals)
    return Match(best.request, doubts=["signals_disagree"] if disagree else [], signals=signals)


def _signals(
    message: EmailMessage, lookup: RequestLookup, local_part: str, form_token: str | None
) -> list[Signal]:
    found = [Signal("form", form_token, lookup.by_token(form_token.lower()))] if form_token else []
    references = " ".join(str(message.get(h, "")) for h in ("In-Reply-To", "References"))
    for mid in dict.fromkeys(_MESSAGE_ID.findall(references)):
        ref = lookup.by_message_id(mid)
        if ref is not None:  # a thread we did not start (a forward) says nothing
            found.append(Signal("thread", mid, ref))
    for token in dict.fromkeys(
        t.lower() for t in _SUBJECT_TAG.findall(str(message.get("Subject", "")))
    ):
        found.append(Signal("subject", token, lookup.by_token(token)))
    for token in dict.fromkeys(t.lower() for t in _address_tokens(message, local_part)):
        found.append(Signal("address", token, lookup.by_token(token)))
    return _one_thread_signal(found)


def _one_thread_signal(found: list[Signal]) -> list[Signal]:
    """A References chain names every message of the thread (the request, its reminders): one
    thread signal per request, so a long chain does not outweigh the form."""
    seen: set[int] = set()
    out = []
    for s in found:
        if s.kind == "thread" and s.request is not None:
            if s.request.request_id in seen:
                continue
            seen.add(s.request.request_id)
        out.append(s)
    return out


def _address_tokens(message: EmailMessage, local_part: str) -> list[str]:
    pattern = re.compile(rf"{re.escape(local_part)}\+({TOKEN})@", re.IGNORECASE)
    headers = ("To", "Cc", "Delivered-To", "X-Original-To", "Envelope-To")
    values = " ".join(str(v) for h in headers for v in message.get_all(h, []))
    return pattern.findall(values)
