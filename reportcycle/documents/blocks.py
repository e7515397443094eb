"""A document's body as blocks: paragraphs (with their list kind) and tables, read from the XML."""

from __future__ import annotations

import itertools
import unicodedata
from dataclasses import dataclass
from typing import Any, Literal

from reportcycle.documents.package import (
    INVISIBLE,
    NS,
    W_NS,
    Package,
    clean_text,
)

_MC_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"
WRAPPER_TAGS = {f"{{{W_NS}}}{t}" for t in ("sdt", "sdtContent", "customXml", "smartTag", "ins")}
SKIPPED_TAGS = (_MC_FALLBACK, f"{{{W_NS}}}moveFrom")  # duplicated or moved-away text
LIST_MARKERS = "-–—•·●▪◦○+*"
_TAGS = ("p", "tbl", "tr", "tc", "t", "tab", "br", "cr", "noBreakHyphen", "val")
P, TBL, TR, TC, _T, _TAB, _BR, _CR, _HYPHEN, _VAL = (f"{{{W_NS}}}{t}" for t in _TAGS)
_R, _RPR, _BOLD, _ITALIC = (f"{{{W_NS}}}{t}" for t in ("r", "rPr", "b", "i"))
_OFF = ("0", "false", "off", "none")

# --- reading blocks -------------------------------------------------------------------------


Spans = tuple[tuple[str, str], ...]  # (text, "i" / "b" / "bi" / "") runs spelling a line


@dataclass(frozen=True)
class Paragraph:
    text: str
    style: Literal["para", "bullet", "numbered"] = "para"
    spans: Spans = ()  # the text as runs with italic and bold, when any run had either


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
        if child.tag in WRAPPER_TAGS:
            out.extend(children(child, *tags))
        elif child.tag in tags:
            out.append(child)
    return out


def paragraph_lines(p: Any) -> list[str]:
    """A w:p's text split at manual line breaks; deleted text and field codes left out."""
    lines = (clean_text("".join(text for text, _ in line)) for line in _raw_lines(p, False))
    return [text for text in lines if text]


def paragraph_spans(p: Any) -> list[tuple[str, Spans]]:
    """`paragraph_lines`, each line with its runs' italic and bold (`Spans`; empty when the
    line has neither)."""
    out = []
    for line in _raw_lines(p, True):
        text = clean_text("".join(piece for piece, _ in line))
        if text:
            out.append((text, _clean_spans(line, text)))
    return out


def _raw_lines(p: Any, marks: bool) -> list[list[tuple[str, str]]]:
    """The w:p's text pieces with their marks ("b", "i", "bi", ""), split at line breaks."""
    lines: list[list[tuple[str, str]]] = []
    buf: list[tuple[str, str]] = []
    skip = any(p.iter(*SKIPPED_TAGS))
    for el in p.iter(_T, _TAB, _BR, _CR, _HYPHEN):
        if skip and any(a.tag in SKIPPED_TAGS for a in el.iterancestors()):
            continue
        if el.tag in (_BR, _CR):
            lines.append(buf)
            buf = []
        else:
            text = el.text or "" if el.tag == _T else " " if el.tag == _TAB else "-"
            buf.append((text, _marks(el) if marks else ""))
    lines.append(buf)
    return lines


def _marks(el: Any) -> str:
    """ "b", "i", "bi" or "" from the direct formatting of the run holding `el`."""
    run = el.getparent()
    rpr = None if run is None or run.tag != _R else run.find(_RPR)
    if rpr is None:
        return ""
    out = ""
    for tag, mark in ((_BOLD, "b"), (_ITALIC, "i")):
        found = rpr.find(tag)
        if found is not None and (found.get(_VAL) or "true").lower() not in _OFF:
            out += mark
    return out


def _clean_spans(pieces: list[tuple[str, str]], text: str) -> Spans:
    """The pieces cleaned as `clean_text` cleans the line (NFC, invisible characters out,
    whitespace collapsed and trimmed), joined where the marks are equal; () if nothing is
    italic or bold, or if the cleaned pieces do not spell `text`."""
    if not any(mark for _, mark in pieces):
        return ()
    chars: list[tuple[str, str]] = []
    for piece, mark in pieces:
        for ch in unicodedata.normalize("NFC", piece).translate(INVISIBLE):
            if ch.isspace():
                if chars and chars[-1][0] == " ":
                    continue
                ch = " "
            chars.append((ch, mark))
    while chars and chars[0][0] == " ":
        chars.pop(0)
    while chars and chars[-1][0] == " ":
        chars.pop()
    spans = tuple(
        ("".join(ch for ch, _ in group), mark)
        for mark, group in itertools.groupby(chars, key=lambda c: c[1])
    )
    if "".join(t for t, _ in spans) != text or not any(m for _, m in spans):
        return ()
    return spans


def drop_prefix(spans: Spans, count: int) -> Spans:
    """The spans less their first `count` characters (a typed list marker and its space)."""
    out = []
    for text, mark in spans:
        cut = min(count, len(text))
        count -= cut
        if text[cut:]:
            out.append((text[cut:], mark))
    return tuple(out)


def cell_text(tc: Any, sep: str = "\n") -> str:
    return sep.join(line for p in tc.iter(P) for line in paragraph_lines(p))


def cell_blocks(tc: Any, lists: ListStyles) -> list[Block]:
    """A cell's content: paragraphs (list items from numbering, a List style or a typed
    marker "-", "•", "+", "*") and tables (rows of cell texts), empty ones dropped."""
    out: list[Block] = []
    for element in children(tc, P, TBL):
        if element.tag == P:
            lines = paragraph_spans(element)
            kind = lists.kind(element) if lines else "para"
            for line, spans in lines:
                if kind != "numbered" and line[0] in LIST_MARKERS and not line[1:2].isdigit():
                    if line[1:].strip():
                        rest = line[1:].strip()
                        cut = drop_prefix(spans, len(line) - len(rest))
                        out.append(Paragraph(rest, "bullet", cut))
                else:
                    out.append(Paragraph(line, kind, spans))
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
