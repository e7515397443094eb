"""Paragraphs, runs and Word comments appended to a python-docx document in constant time each.

python-docx's own calls are linear in what the document already holds, so a report of
thousands of paragraphs took quadratic time (issue 15; 131 s for 1,000 units, 112 s of it in
comments): `Document.add_comment` finds the next comment id by reading every comment's id,
`Document.add_paragraph` looks for the body's `w:sectPr` among all the body's children, and
`Run.text = …` walks the text a character at a time. The writer keeps the next id and the
body's end, and writes a run's `w:t` at once. The XML is what python-docx writes.

A report of 10,000 units is ~35,000 paragraphs and tables and ~33,000 comments: as an lxml tree
that is ~240 MB, as XML ~31 MB. So `settle()` serializes what is finished and takes it out of
the tree (a marker stays where it was), and `save()` writes the document with that XML put back
at the markers: the same parts, byte for byte, as one tree would have saved.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence

from docx.document import Document
from docx.opc.part import Part
from docx.oxml import OxmlElement, parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.oxml.table import CT_Tbl
from docx.oxml.xmlchemy import BaseOxmlElement
from docx.shared import Length
from docx.table import Table
from docx.text.paragraph import Paragraph
from docx.text.run import Run
from lxml import etree

XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"
_CONTROL = ("\t", "\n", "\r")  # what python-docx turns into w:tab / w:br: left to it
SETTLE_AT = 500  # elements written (blocks and comments) before settle() serializes them


class BodyWriter:
    """Appends at the end of `document`'s body (before its section properties)."""

    def __init__(self, document: Document, *, author: str, initials: str) -> None:
        self.document = document
        body = document.element.body
        self._end = body.find(qn("w:sectPr"))
        self._body = document._body
        self._style_ids: dict[str, str] = {}
        self._author, self._initials = author, initials
        self._comments: BaseOxmlElement | None = None  # made on the first comment only
        self._next_id = 0
        self._written = 0  # since the last settle()
        self._body_spill = _Spill(body, before=self._end)
        self._comment_spill: _Spill | None = None

    def paragraph(self, text: str = "", style: str | None = None) -> Paragraph:
        p = OxmlElement("w:p")
        self._append(p)
        paragraph = Paragraph(p, self._body)
        if style is not None:
            p.style = self._style_id(style)
        if text:
            add_run(paragraph, text)
        return paragraph

    def table(self, rows: int, cols: int, width: Length) -> Table:
        """A table at the end of the body, as `Document.add_table` makes it (which reads the
        page setup with an XPath over the whole body on each call)."""
        tbl = CT_Tbl.new_tbl(rows, cols, width)
        self._append(tbl)
        return Table(tbl, self._body)

    def comment(self, runs: Sequence[Run], text: str) -> int:
        """A comment on `runs` (the first to the last), as `Document.add_comment` makes it."""
        if self._comments is None:  # a final has none: no comments part at all
            self._comments = self.document.part._comments_part.element
            used = [int(x) for x in self._comments.xpath("./w:comment/@w:id")]
            self._next_id = max(used, default=-1) + 1
        comment_id = self._next_id
        self._next_id += 1
        element = parse_xml(
            f'<w:comment {nsdecls("w")} w:id="{comment_id}" w:author="" w:initials="">'
            '<w:p><w:pPr><w:pStyle w:val="CommentText"/></w:pPr>'
            '<w:r><w:rPr><w:rStyle w:val="CommentReference"/></w:rPr><w:annotationRef/></w:r>'
            "</w:p></w:comment>"
        )
        element.set(qn("w:author"), self._author)
        element.set(qn("w:initials"), self._initials)
        run = OxmlElement("w:r")
        run.append(_text_element(text))
        element[0].append(run)
        self._comments.append(element)
        if self._comment_spill is None:
            self._comment_spill = _Spill(self._comments, before=element)
        self._written += 1
        runs[0].mark_comment_range(runs[-1], comment_id)
        return comment_id

    def settle(self) -> None:
        """Everything written so far is finished: serialize it out of the tree, once enough
        has gathered. The last block stays (the next paragraph looks at it); so do the body's
        section properties. Call it only between blocks, holding no paragraph or table."""
        if self._written < SETTLE_AT:
            return
        self._written = 0
        self._body_spill.take(stop=self._end, keep=1)
        if self._comment_spill is not None:
            self._comment_spill.take(stop=None, keep=0)

    def save(self) -> bytes:
        """The document as DOCX bytes, what `settle()` took out written back in its place."""
        buffer = io.BytesIO()
        self.document.save(buffer)
        spills = {_zip_name(self.document.part): self._body_spill}
        if self._comment_spill is not None:
            spills[_zip_name(self.document.part._comments_part)] = self._comment_spill
        return _spliced(buffer, spills)

    def _append(self, element: BaseOxmlElement) -> None:
        self._written += 1
        if self._end is not None:
            self._end.addprevious(element)
        else:
            self.document.element.body.append(element)

    def _style_id(self, name: str) -> str:
        if name not in self._style_ids:
            self._style_ids[name] = self.document.styles[name].style_id
        return self._style_ids[name]


class _Spill:
    """Finished children of one element, serialized, standing in the tree as a marker."""

    MARK = b"<!--reportcycle:spilled-->"

    def __init__(self, parent: BaseOxmlElement, *, before: BaseOxmlElement | None) -> None:
        self.marker = etree.Comment("reportcycle:spilled")
        if before is not None:
            before.addprevious(self.marker)
        else:
            parent.append(self.marker)
        self.chunks: list[bytes] = []
        # Each child serialized alone declares every namespace in scope; the part's root
        # declares them already, so they go (what one tree's serialization has).
        self._declared = [
            (f' xmlns:{prefix}="{uri}"' if prefix else f' xmlns="{uri}"').encode()
            for prefix, uri in parent.nsmap.items()
        ]

    def take(self, *, stop: BaseOxmlElement | None, keep: int) -> None:
        """Serialize and remove the marker's following siblings up to `stop`, but `keep`."""
        following = []
        for sibling in self.marker.itersiblings():
            if sibling is stop:
                break
            following.append(sibling)
        parent = self.marker.getparent()
        for element in following[: len(following) - keep]:
            self.chunks.append(self._serialized(element))
            parent.remove(element)

    def _serialized(self, element: BaseOxmlElement) -> bytes:
        data = etree.tostring(element, encoding="UTF-8")
        end = data.index(b">")
        start_tag = data[:end]
        for declaration in self._declared:
            start_tag = start_tag.replace(declaration, b"", 1)
        return start_tag + data[end:]


def _zip_name(part: Part) -> str:
    return str(part.partname).lstrip("/")


def _spliced(saved: io.BytesIO, spills: dict[str, _Spill]) -> bytes:
    """The saved package again, each spilled part's marker replaced by its XML (a part with
    nothing taken out just loses its marker)."""
    out = io.BytesIO()
    with zipfile.ZipFile(saved) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            spill = spills.get(info.filename)
            if spill is None:
                target.writestr(info, data)
                continue
            head, found, tail = data.partition(_Spill.MARK)
            if not found:
                raise RuntimeError(f"{info.filename}: the spill marker is missing")
            del data
            with target.open(info, "w") as part:
                part.write(head)
                for chunk in spill.chunks:
                    part.write(chunk)
                part.write(tail)
    return out.getvalue()


def add_run(paragraph: Paragraph, text: str) -> Run:
    """A run of `text` at the end of `paragraph`, its `w:t` written at once."""
    if any(c in text for c in _CONTROL):
        return paragraph.add_run(text)
    run = paragraph.add_run()
    run._r.append(_text_element(text))
    return run


def _text_element(text: str) -> BaseOxmlElement:
    element = OxmlElement("w:t")
    element.text = text
    if text != text.strip():
        element.set(XML_SPACE, "preserve")
    return element
