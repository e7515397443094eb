"""DOCX plumbing for forms (DESIGN §5): defensive opening, block reading, custom properties,
fast stamping.

Reading works on the zip and the XML directly (lxml, entities and network off), so a reply costs
a parse of the parts we need rather than python-docx's package load. Stamping copies the
template's zip members as stored and re-deflates only the few that hold placeholders.
"""

from __future__ import annotations

import io
import re
import struct
import threading
import unicodedata
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal
from xml.sax.saxutils import escape

from lxml import etree

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
NS = {"w": W_NS}
CUSTOM_NS = "http://schemas.openxmlformats.org/officeDocument/2006/custom-properties"
VT_NS = "http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes"
CUSTOM_PART = "docProps/custom.xml"
_TAGS = ("p", "tbl", "tr", "tc", "t", "tab", "br", "cr", "noBreakHyphen", "val")
P, TBL, TR, TC, _T, _TAB, _BR, _CR, _HYPHEN, _VAL = (f"{{{W_NS}}}{t}" for t in _TAGS)
_WRAPPERS = {f"{{{W_NS}}}{t}" for t in ("sdt", "sdtContent", "customXml", "smartTag", "ins")}
_MC_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"
_SKIPPED = (_MC_FALLBACK, f"{{{W_NS}}}moveFrom")  # duplicated or moved-away text
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
# U+00AD (soft hyphen) stays: in TCVN3 text it is the letter "ư"; the intake drops it once it
# knows the text is Unicode.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))
_MARKERS = "-–—•·●▪◦○+*"
PLACEHOLDER = re.compile(rb"@@RC_([A-Z_]+)@@")

_MESSAGES = {
    "not_docx": (
        "Tệp không phải tệp Word .docx hợp lệ hoặc đã hỏng. Hãy mở phiếu bằng Word hoặc "
        "LibreOffice, lưu dạng .docx (không phải PDF hay .doc) rồi gửi lại.",
        "The file is not a valid Word .docx or is damaged. Open the form in Word or "
        "LibreOffice, save it as .docx (not PDF or .doc) and send it again.",
    ),
    "encrypted": (
        "Tệp có mật khẩu hoặc là tệp .doc cũ. Hãy bỏ mật khẩu, lưu dạng .docx rồi gửi lại.",
        "The file is password-protected or a legacy .doc. Remove the password, save it as "
        ".docx and send it again.",
    ),
    "macro": (
        "Tệp có macro (.docm), không được nhận. Hãy lưu dạng .docx thường rồi gửi lại.",
        "The file contains macros (.docm), which are refused. Save it as a plain .docx and "
        "send it again.",
    ),
    "too_large": (
        "Tệp quá lớn hoặc nén bất thường. Hãy bỏ ảnh, video không cần thiết rồi gửi lại.",
        "The file is too large or abnormally compressed. Remove unneeded pictures or media "
        "and send it again.",
    ),
    "not_form": (
        'Không tìm thấy phiếu trong tệp (không có bảng "Mục ..." hay bảng số liệu). Hãy điền '
        "vào đúng phiếu đã nhận qua thư, giữ nguyên các bảng, rồi gửi lại.",
        'This is not our form (no "Mục ..." section table or indicator table). Fill in the '
        "form attached to our email, keep its tables, and send it again.",
    ),
}


class FormError(ValueError):
    """A file we cannot read as one of our forms. The message says what is wrong and what to
    do, in Vietnamese then English; `reason` is "not_docx", "encrypted", "macro", "too_large"
    or "not_form"; `detail` is technical."""

    def __init__(self, reason: str, detail: str = "") -> None:
        vi, en = _MESSAGES[reason]
        self.reason, self.detail = reason, detail
        super().__init__(f"{vi} / {en}" + (f" ({detail})" if detail else ""))


def clean_text(text: str) -> str:
    """NFC, invisible characters dropped, whitespace runs collapsed to one space."""
    return " ".join(unicodedata.normalize("NFC", text).translate(_INVISIBLE).split())


_local = threading.local()


def parse_xml(data: bytes, name: str) -> Any:
    """Parse with a hardened parser (one per thread: lxml parsers are not thread-safe)."""
    if not hasattr(_local, "parser"):
        _local.parser = etree.XMLParser(
            resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False
        )
    try:
        root = etree.fromstring(data, _local.parser)
    except etree.XMLSyntaxError as exc:
        raise FormError("not_docx", f"{name}: {exc}") from exc
    if root.getroottree().docinfo.doctype:
        raise FormError("not_docx", f"{name}: unexpected DOCTYPE")
    return root


class Package:
    """A DOCX opened defensively: signature, member sizes, compression ratios, encryption and
    macros are checked before any member is read."""

    def __init__(self, data: bytes, max_uncompressed: int) -> None:
        if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
            raise FormError("encrypted", "OLE compound file")
        try:
            self._zip = zipfile.ZipFile(io.BytesIO(data))
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
            raise FormError("not_docx", "not a zip archive") from exc
        self._infos = {i.filename: i for i in self._zip.infolist()}
        _check_members(list(self._infos.values()), max_uncompressed)
        content_types = self.xml("[Content_Types].xml")
        if content_types is None:
            raise FormError("not_docx", "no [Content_Types].xml")
        types = [t.get("ContentType", "") for t in content_types]
        if any("macroenabled" in t.lower() for t in types):
            raise FormError("macro", "macro-enabled content type")
        self._package_rels = self.xml("_rels/.rels")
        self.main = _target(self._package_rels, "/officeDocument", "") or "word/document.xml"
        if self.main not in self._infos or not any("wordprocessingml" in t for t in types):
            raise FormError("not_docx", "no Word main document part")
        folder, _, name = self.main.rpartition("/")
        self._base, self._rels = folder, self.xml(f"{folder}/_rels/{name}.rels".lstrip("/"))

    def read(self, name: str) -> bytes | None:
        info = self._infos.get(name)
        if info is None:
            return None
        try:
            with self._zip.open(info) as member:
                data = member.read(info.file_size + 1)
        except (zipfile.BadZipFile, NotImplementedError, zlib.error, OSError) as exc:
            raise FormError("not_docx", f"{name}: {exc}") from exc
        if len(data) > info.file_size:
            raise FormError("too_large", f"{name}: larger than declared")
        return data

    def xml(self, name: str) -> Any:
        data = self.read(name)
        return None if data is None else parse_xml(data, name)

    def related_name(self, reltype_suffix: str, *, from_package: bool = False) -> str | None:
        """The part the main document (or the package) relates to with this type."""
        if from_package:
            return _target(self._package_rels, reltype_suffix, "")
        return _target(self._rels, reltype_suffix, self._base)

    def related(self, reltype_suffix: str, *, from_package: bool = False) -> Any:
        name = self.related_name(reltype_suffix, from_package=from_package)
        return self.xml(name) if name else None

    def fingerprint(self, name: str) -> tuple[int, int] | None:
        """The CRC-32 and size the zip declares for a member: a free content key."""
        info = self._infos.get(name)
        return None if info is None else (info.CRC, info.file_size)


def _check_members(infos: list[zipfile.ZipInfo], limit: int) -> None:
    total = sum(i.file_size for i in infos)
    if len(infos) > 2000 or total > limit:
        raise FormError("too_large", f"{len(infos)} members, {total} bytes, limit {limit}")
    for i in infos:
        if i.flag_bits & 0x1:
            raise FormError("encrypted", f"{i.filename}: encrypted zip member")
        if i.filename.lower().endswith("vbaproject.bin"):
            raise FormError("macro", i.filename)
        if i.file_size > 2**20 and i.file_size > 200 * max(i.compress_size, 1):
            raise FormError("too_large", f"{i.filename}: compression ratio")


def _target(rels: Any, suffix: str, base: str) -> str | None:
    """The package path of the first relationship of this type, relative to folder `base`."""
    for rel in () if rels is None else rels:
        if rel.get("Type", "").endswith(suffix) and rel.get("TargetMode") != "External":
            target = rel.get("Target", "")
            parts = [] if target.startswith("/") or not base else base.split("/")
            for piece in target.lstrip("/").split("/"):
                parts = parts[:-1] if piece == ".." else [*parts, piece] if piece else parts
            return "/".join(p for p in parts if p != ".")
    return None


def custom_properties_xml(props: Mapping[str, str]) -> bytes:
    root = etree.Element(f"{{{CUSTOM_NS}}}Properties", nsmap={None: CUSTOM_NS, "vt": VT_NS})
    for pid, (name, value) in enumerate(props.items(), start=2):
        fmtid = "{D5CDD505-2E9C-101B-9397-08002B2CF9AE}"  # the one fmtid custom properties use
        prop = etree.SubElement(root, f"{{{CUSTOM_NS}}}property", fmtid=fmtid, pid=str(pid))
        prop.set("name", name)
        etree.SubElement(prop, f"{{{VT_NS}}}lpwstr").text = value
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True))


def read_custom_properties(pkg: Package) -> dict[str, str]:
    root = pkg.related("/custom-properties", from_package=True)
    props = () if root is None else root.iter(f"{{{CUSTOM_NS}}}property")
    return {p.get("name", ""): clean_text(p[0].text or "") for p in props if len(p)}


# --- reading blocks -------------------------------------------------------------------------


@dataclass(frozen=True)
class Paragraph:
    text: str
    style: Literal["para", "bullet", "numbered"] = "para"


@dataclass(frozen=True)
class Table:
    rows: list[list[str]]


Block = Paragraph | Table
ListKind = Literal["para", "bullet", "numbered"]


def children(el: Any, *tags: str) -> list[Any]:
    """Children with these tags (w:p, w:tbl, w:tr, w:tc) in document order, looking through
    content controls and the other wrappers Word and LibreOffice may add."""
    out = []
    for child in el:
        if child.tag in _WRAPPERS:
            out.extend(children(child, *tags))
        elif child.tag in tags:
            out.append(child)
    return out


def paragraph_lines(p: Any) -> list[str]:
    """A w:p's text split at manual line breaks; deleted text and field codes left out."""
    lines: list[str] = []
    buf: list[str] = []
    skip = any(p.iter(*_SKIPPED))
    for el in p.iter(_T, _TAB, _BR, _CR, _HYPHEN):
        if skip and any(a.tag in _SKIPPED for a in el.iterancestors()):
            continue
        if el.tag in (_BR, _CR):
            lines.append("".join(buf))
            buf = []
        else:
            buf.append(el.text or "" if el.tag == _T else " " if el.tag == _TAB else "-")
    lines.append("".join(buf))
    return [text for text in map(clean_text, lines) if text]


def cell_text(tc: Any, sep: str = "\n") -> str:
    return sep.join(line for p in tc.iter(P) for line in paragraph_lines(p))


def cell_blocks(tc: Any, lists: ListStyles) -> list[Block]:
    """A cell's content: paragraphs (list items from numbering, a List style or a typed
    marker "-", "•", "+", "*") and tables (rows of cell texts), empty ones dropped."""
    out: list[Block] = []
    for element in children(tc, P, TBL):
        if element.tag == P:
            lines = paragraph_lines(element)
            kind = lists.kind(element) if lines else "para"
            for line in lines:
                if kind != "numbered" and line[0] in _MARKERS and not line[1:2].isdigit():
                    if line[1:].strip():
                        out.append(Paragraph(line[1:].strip(), "bullet"))
                else:
                    out.append(Paragraph(line, kind))
        else:
            rows = [[cell_text(c) for c in children(tr, TC)] for tr in children(element, TR)]
            if any(any(row) for row in rows):
                out.append(Table([row for row in rows if any(row)]))
    return out


def _val(el: Any, path: str) -> str | None:
    found = el.find(path, NS)
    return None if found is None else found.get(_VAL)


_StyleTable = dict[str, tuple[str, str | None, str | None]]
_style_tables: dict[tuple[int, int], _StyleTable] = {}


def _style_table(pkg: Package) -> _StyleTable:
    """styleId → (name, numId, basedOn). Cached by the styles part's CRC and size: replies to
    one template mostly carry the same, large, styles part."""
    name = pkg.related_name("/styles")
    key = pkg.fingerprint(name) if name else None
    if key is not None and key in _style_tables:
        return _style_tables[key]
    root = pkg.xml(name) if name else None
    table = {
        s.get(f"{{{W_NS}}}styleId", ""): (
            _val(s, "w:name") or "",
            _val(s, "w:pPr/w:numPr/w:numId"),
            _val(s, "w:basedOn"),
        )
        for s in (() if root is None else root.iter(f"{{{W_NS}}}style"))
    }
    if key is not None:
        if len(_style_tables) >= 64:
            _style_tables.clear()
        _style_tables[key] = table
    return table


class ListStyles:
    """Whether a paragraph is a list item, from its w:numPr or its style (a List Bullet style,
    or one whose definition carries numbering). styles.xml and numbering.xml are parsed only
    when a paragraph needs them."""

    def __init__(self, pkg: Package) -> None:
        self._pkg = pkg
        self._styles: _StyleTable | None = None
        self._formats: dict[str, str] | None = None

    def kind(self, p: Any) -> ListKind:
        num_id, style = _val(p, "w:pPr/w:numPr/w:numId"), _val(p, "w:pPr/w:pStyle")
        names = ""
        if num_id is None and style is not None:
            num_id, names = self._style(style)
        if num_id is not None:
            return self._numbering(num_id)
        return "bullet" if "bullet" in names else "numbered" if "list number" in names else "para"

    def _style(self, style_id: str) -> tuple[str | None, str]:
        """The numId a style (or one it is based on) carries, and its names and ids."""
        if "bullet" in style_id.lower():
            return None, "bullet"
        if self._styles is None:
            self._styles = _style_table(self._pkg)
        names, seen = "", set()
        while style_id in self._styles and style_id not in seen:
            seen.add(style_id)
            name, num_id, based_on = self._styles[style_id]
            names += f"{style_id} {name} ".lower()
            if num_id is not None:
                return num_id, names
            style_id = based_on or ""
        return None, names

    def _numbering(self, num_id: str) -> ListKind:
        if self._formats is None:
            root = self._pkg.related("/numbering")
            abstract = {
                a.get(f"{{{W_NS}}}abstractNumId"): _val(a, "w:lvl/w:numFmt")
                for a in (() if root is None else root.iter(f"{{{W_NS}}}abstractNum"))
            }
            self._formats = {
                n.get(f"{{{W_NS}}}numId", ""): abstract.get(_val(n, "w:abstractNumId")) or "bullet"
                for n in (() if root is None else root.iter(f"{{{W_NS}}}num"))
            }
        fmt = "none" if num_id == "0" else self._formats.get(num_id, "bullet")
        return "bullet" if fmt == "bullet" else "para" if fmt == "none" else "numbered"


# --- stamping -------------------------------------------------------------------------------

_LOCAL = struct.Struct("<4s5H3L2H")
_CENTRAL = struct.Struct("<4s6H3L5H2L")
_END = struct.Struct("<4s4H2LH")


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
    text = _INVALID_XML.sub("", unicodedata.normalize("NFC", value))
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
