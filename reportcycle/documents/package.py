"""DOCX plumbing for forms (DESIGN §5): defensive opening, block reading, custom properties,
fast stamping.

Reading works on the zip and the XML directly (lxml, entities and network off), so a reply costs
a parse of the parts we need rather than python-docx's package load. Stamping copies the
template's zip members as stored and re-deflates only the few that hold placeholders.
"""

from __future__ import annotations

import io
import threading
import unicodedata
import zipfile
import zlib
from collections.abc import Mapping
from typing import Any

from lxml import etree

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
NS = {"w": W_NS}
CUSTOM_NS = "http://schemas.openxmlformats.org/officeDocument/2006/custom-properties"
VT_NS = "http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes"
CUSTOM_PART = "docProps/custom.xml"
# U+00AD (soft hyphen) stays: in TCVN3 text it is the letter "ư"; the intake drops it once it
# knows the text is Unicode.
INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))

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
    return " ".join(unicodedata.normalize("NFC", text).translate(INVISIBLE).split())


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
