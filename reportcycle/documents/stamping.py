"""Stamping a unit's copy of a form: placeholders replaced in the zip's members without
rebuilding the document (a form costs microseconds, not a python-docx load)."""

from __future__ import annotations

import io
import re
import struct
import unicodedata
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from xml.sax.saxutils import escape

PLACEHOLDER = re.compile(rb"@@RC_([A-Z_]+)@@")


# --- stamping -------------------------------------------------------------------------------

_LOCAL = struct.Struct("<4s5H3L2H")
_CENTRAL = struct.Struct("<4s6H3L5H2L")
_END = struct.Struct("<4s4H2LH")


INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@dataclass(frozen=True)
class _Member:
    name: bytes
    flags: int
    dos_time: tuple[int, int]  # time, date
    raw: bytes  # as stored in the template
    method: int
    crc: int
    size: int
    text: bytes | None  # decompressed, when it holds placeholders


@lru_cache(maxsize=32)
def _split_template(template: bytes) -> tuple[_Member, ...]:
    members = []
    with zipfile.ZipFile(io.BytesIO(template)) as zf:
        for i in zf.infolist():
            local = _LOCAL.unpack_from(template, i.header_offset)
            start = i.header_offset + _LOCAL.size + local[9] + local[10]
            year, month, day, hour, minute, second = i.date_time
            dos = (hour << 11 | minute << 5 | second // 2, (year - 1980) << 9 | month << 5 | day)
            raw, text = template[start : start + i.compress_size], zf.read(i)
            placeholders = text if PLACEHOLDER.search(text) else None
            flags = i.flag_bits & 0x0806  # UTF-8 names, deflate level; no data descriptor
            member = (i.filename.encode(), flags, dos, raw, i.compress_type, i.CRC, i.file_size)
            members.append(_Member(*member, placeholders))
    if not any(m.text for m in members):
        raise ValueError("not a form template: it holds no @@RC_...@@ placeholder")
    return tuple(members)


def xml_value(value: str) -> bytes:
    """A value made safe for an XML text node: NFC, escaped, characters XML 1.0 forbids gone."""
    text = INVALID_XML.sub("", unicodedata.normalize("NFC", value))
    return escape(text, {'"': "&quot;"}).encode("utf-8")


def stamp(template: bytes, values: Mapping[bytes, bytes]) -> bytes:
    """A copy of the template zip with each @@RC_KEY@@ replaced by values[KEY] (XML-escaped
    already). Members without placeholders are copied as stored, not recompressed."""

    def fill(match: re.Match[bytes]) -> bytes:
        if match.group(1) not in values:
            raise ValueError(f"no value for placeholder {match.group(0)!r}")
        return values[match.group(1)]

    out, directory = io.BytesIO(), []
    for m in _split_template(template):
        method, crc, raw, size = m.method, m.crc, m.raw, m.size
        if m.text is not None:
            data = PLACEHOLDER.sub(fill, m.text)
            packer = zlib.compressobj(6, zlib.DEFLATED, -15)
            method, crc, size = zipfile.ZIP_DEFLATED, zlib.crc32(data), len(data)
            raw = packer.compress(data) + packer.flush()
        head = (m.flags, method, *m.dos_time, crc, len(raw), size, len(m.name))
        directory.append(_CENTRAL.pack(b"PK\x01\x02", 20, 20, *head, 0, 0, 0, 0, 0, out.tell()))
        directory.append(m.name)
        out.write(_LOCAL.pack(b"PK\x03\x04", 20, *head, 0) + m.name + raw)
    start, central = out.tell(), b"".join(directory)
    count = len(directory) // 2
    out.write(central + _END.pack(b"PK\x05\x06", 0, 0, count, count, len(central), start, 0))
    return out.getvalue()
