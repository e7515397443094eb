"""Sizes of a raw message's parts, found without decoding them (issue 12: bounded memory).

The email package keeps every part's body as a str and decodes an attachment whole before
anyone can ask its size, so a 30 MB attachment costs hundreds of MB before it is refused.
This walks the MIME structure over the raw bytes by offsets (`bytes.find`, no slices of
bodies): only header blocks are parsed; a body's decoded size is computed from its length,
its line breaks and its padding (exact for base64, 7bit, 8bit and binary).
"""

from __future__ import annotations

import binascii
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage, Message
from email.parser import BytesHeaderParser
from email.policy import Policy
from email.policy import default as default_policy

_MAX_DEPTH = 20
_WHITESPACE = (b"\r", b"\n", b" ", b"\t")


@dataclass(frozen=True)
class PartSize:
    headers: Message  # the part's headers only
    decoded_size: int  # exact, or (quoted-printable) a lower bound
    start: int = 0  # where its (encoded) body lies in the raw message
    end: int = 0
    encoding: str = "7bit"


def header_end(raw: bytes, start: int = 0, end: int | None = None) -> tuple[int, int]:
    """Where the header block starting at `start` ends, and where its body starts."""
    stop = len(raw) if end is None else end
    if raw.startswith((b"\r\n", b"\n"), start):  # no headers at all
        return start, start + (2 if raw.startswith(b"\r\n", start) else 1)
    candidates = [
        (at, at + len(mark))
        for mark in (b"\r\n\r\n", b"\n\n")
        if (at := raw.find(mark, start, stop)) >= 0
    ]
    return min(candidates) if candidates else (stop, stop)


def headers_of(raw: bytes, policy: Policy = default_policy) -> EmailMessage:
    """The top-level headers only, parsed from the header block (the body is never read)."""
    _, body = header_end(raw)
    parsed = BytesHeaderParser(policy=policy).parsebytes(raw[:body])
    assert isinstance(parsed, EmailMessage)
    return parsed


def leaf_parts(raw: bytes) -> Iterator[PartSize]:
    """Every non-multipart part of the message (attached messages opened), with its size."""
    yield from _walk(raw, 0, len(raw), 0)


def _walk(raw: bytes, start: int, end: int, depth: int) -> Iterator[PartSize]:
    if depth > _MAX_DEPTH:
        return
    head_end, body = header_end(raw, start, end)
    headers = BytesHeaderParser(policy=default_policy).parsebytes(raw[start:head_end] + b"\n\n")
    content_type = headers.get_content_type()
    encoding = str(headers.get("Content-Transfer-Encoding", "7bit")).strip().lower()
    boundary = headers.get_boundary() if headers.get_content_maintype() == "multipart" else None
    if boundary:
        for part_start, part_end in _parts(raw, body, end, boundary.encode("latin-1")):
            yield from _walk(raw, part_start, part_end, depth + 1)
    elif content_type == "message/rfc822" and encoding in ("7bit", "8bit", "binary"):
        yield from _walk(raw, body, end, depth + 1)
    else:
        yield PartSize(headers, _decoded_size(raw, body, end, encoding), body, end, encoding)


def _parts(raw: bytes, start: int, end: int, boundary: bytes) -> Iterator[tuple[int, int]]:
    """(start, end) of each body part between the delimiter lines of `boundary`."""
    delimiter = b"--" + boundary
    at = _delimiter(raw, delimiter, start, end)
    while at >= 0:
        line_end = raw.find(b"\n", at, end)
        if raw.startswith(delimiter + b"--", at) or line_end < 0:
            return  # the close delimiter, or a truncated message
        following = _delimiter(raw, delimiter, line_end + 1, end)
        part_end = end if following < 0 else following
        # The line break before a delimiter belongs to the delimiter (RFC 2046 §5.1.1).
        if raw.startswith(b"\r\n", part_end - 2):
            part_end -= 2
        elif raw.startswith(b"\n", part_end - 1):
            part_end -= 1
        yield line_end + 1, max(part_end, line_end + 1)
        at = following


def _delimiter(raw: bytes, delimiter: bytes, start: int, end: int) -> int:
    """The next delimiter at the start of a line, or -1."""
    at = raw.find(delimiter, start, end)
    while at > start and raw[at - 1 : at] != b"\n":
        at = raw.find(delimiter, at + 1, end)
    return at


def _decoded_size(raw: bytes, start: int, end: int, encoding: str) -> int:
    length = end - start
    if encoding == "base64":
        spaces = sum(raw.count(w, start, end) for w in _WHITESPACE)
        chars = length - spaces
        padding = raw.count(b"=", max(start, end - 8), end)
        return max(chars * 3 // 4 - padding, 0)
    if encoding == "quoted-printable":
        return length // 3  # "=XX" is the densest form: the decoded size is at least this
    return length


BIG_PART = 1 << 20  # a leaf body this large is left out of the email package's parse
_MARK = b"X-Reportcycle-Part-"


def skeleton(raw: bytes, big: int | None = None) -> tuple[bytes, dict[str, PartSize]]:
    """The message with each big base64 or binary leaf body replaced by a one-line marker,
    and the parts the markers stand for. The email package needs ~9 times a message's size
    to parse it (a str per line); the skeleton is small, and `payload` decodes each big body
    straight from the raw bytes."""
    big = BIG_PART if big is None else big
    pieces: list[bytes] = []
    parts: dict[str, PartSize] = {}
    at = 0
    for number, part in enumerate(leaf_parts(raw)):
        plain = part.encoding in ("base64", "7bit", "8bit", "binary")
        plain = plain and part.headers.get_content_maintype() != "message"  # parsed, not read
        if part.end - part.start < big or not plain:
            continue
        mark = f"{_MARK.decode()}{number}"
        pieces += [raw[at : part.start], mark.encode()]
        parts[mark] = part
        at = part.end
    if not parts:
        return raw, {}
    pieces.append(raw[at:])
    return b"".join(pieces), parts


def payload(raw: bytes, part: PartSize) -> bytes:
    """A big part's decoded bytes, from the raw message."""
    if part.encoding != "base64":
        return raw[part.start : part.end]
    return binascii.a2b_base64(memoryview(raw)[part.start : part.end])  # no copy of the text
