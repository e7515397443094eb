"""Paragraphs, runs and Word comments appended to a python-docx document in constant time each.

python-docx's own calls are linear in what the document already holds, so a report of
thousands of paragraphs took quadratic time (issue 15; 131 s for 1,000 units, 112 s of it in
comments): `Document.add_comment` finds the next comment id by reading every comment's id,
`Document.add_paragraph` looks for the body's `w:sectPr` among all the body's children, and
`Run.text = …` walks the text a character at a time. The writer keeps the next id and the
body's end, and writes a run's `w:t` at once. The XML is what python-docx writes.
"""

from __future__ import annotations

from collections.abc import Sequence

from docx.document import Document
from docx.oxml import OxmlElement, parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.oxml.table import CT_Tbl
from docx.oxml.xmlchemy import BaseOxmlElement
from docx.shared import Length
from docx.table import Table
from docx.text.paragraph import Paragraph
from docx.text.run import Run

XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"
_CONTROL = ("\t", "\n", "\r")  # what python-docx turns into w:tab / w:br: left to it


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
        runs[0].mark_comment_range(runs[-1], comment_id)
        return comment_id

    def _append(self, element: BaseOxmlElement) -> None:
        if self._end is not None:
            self._end.addprevious(element)
        else:
            self.document.element.body.append(element)

    def _style_id(self, name: str) -> str:
        if name not in self._style_ids:
            self._style_ids[name] = self.document.styles[name].style_id
        return self._style_ids[name]


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
