"""What Word shows for a paragraph or a run: formatting resolved the way Word resolves it, from
direct formatting through the character and paragraph style chains (w:basedOn) to the
document defaults. Tests assert on this, not on where a property happens to be set.

Table styles sit between the defaults and the paragraph style in Word's order; the report
uses "Table Grid", which sets no run properties, and its spacing is overridden by our
paragraph styles, so they are left out here.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from docx.document import Document
from docx.oxml.ns import qn
from docx.oxml.xmlchemy import BaseOxmlElement
from docx.table import Table, _Cell
from docx.text.paragraph import Paragraph
from docx.text.run import Run

FONT_ATTRS = ("ascii", "hAnsi", "cs", "eastAsia")
_TRUE = {None, "1", "true", "on"}


@dataclass(frozen=True)
class RunLook:
    size: float | None  # points
    bold: bool
    italic: bool
    fonts: dict[str, str]  # w:rFonts attribute -> font, "theme:…" where a theme font wins
    color: str | None  # hex, "auto" or None
    highlight: str | None


@dataclass(frozen=True)
class ParagraphLook:
    alignment: str | None  # w:jc: "both", "center", "left", "right" …
    first_line: int  # twips (1/20 pt); negative for a hanging indent
    left: int
    right: int
    before: int  # twips
    after: int
    line: int | None  # w:spacing/@w:line
    line_rule: str  # "auto" (line/240 = multiple), "exact", "atLeast"
    page_break_before: bool
    border_bottom: bool


class Layout:
    """Resolves effective formatting in one document."""

    def __init__(self, document: Document) -> None:
        root = document.styles.element
        self.styles = {s.get(qn("w:styleId")): s for s in root.findall(qn("w:style"))}
        self.default_paragraph_style = next(
            (i for i, s in self.styles.items() if s.get(qn("w:default")) in _TRUE - {None}
             and s.get(qn("w:type")) == "paragraph"),
            None,
        )  # fmt: skip
        defaults = root.find(qn("w:docDefaults"))
        self.default_rpr = _find(defaults, "w:rPrDefault", "w:rPr")
        self.default_ppr = _find(defaults, "w:pPrDefault", "w:pPr")

    def chain(self, style_id: str | None) -> list[BaseOxmlElement]:
        """A style and the styles it is based on, nearest first."""
        found: list[BaseOxmlElement] = []
        while style_id is not None and style_id in self.styles and len(found) < 20:
            style = self.styles[style_id]
            found.append(style)
            based = style.find(qn("w:basedOn"))
            style_id = None if based is None else based.get(qn("w:val"))
        return found

    def _paragraph_styles(self, p: BaseOxmlElement) -> list[BaseOxmlElement]:
        style = _find(p, "w:pPr", "w:pStyle")
        return self.chain(
            style.get(qn("w:val")) if style is not None else self.default_paragraph_style
        )

    def run_levels(self, run: Run, paragraph: Paragraph) -> list[BaseOxmlElement | None]:
        """The w:rPr elements that may set a run property, strongest first."""
        levels = [run._r.find(qn("w:rPr"))]
        char_style = _find(run._r, "w:rPr", "w:rStyle")
        if char_style is not None:
            levels += [s.find(qn("w:rPr")) for s in self.chain(char_style.get(qn("w:val")))]
        levels += [s.find(qn("w:rPr")) for s in self._paragraph_styles(paragraph._p)]
        return [*levels, self.default_rpr]

    def run(self, run: Run, paragraph: Paragraph) -> RunLook:
        levels = [level for level in self.run_levels(run, paragraph) if level is not None]
        size = _first(levels, "w:sz", "w:val")
        return RunLook(
            size=None if size is None else int(size) / 2,
            bold=_toggle(levels, "w:b"),
            italic=_toggle(levels, "w:i"),
            fonts={attr: _font(levels, attr) for attr in FONT_ATTRS},
            color=_first(levels, "w:color", "w:val"),
            highlight=_first(levels, "w:highlight", "w:val"),
        )

    def paragraph(self, paragraph: Paragraph) -> ParagraphLook:
        levels = [paragraph._p.find(qn("w:pPr"))]
        levels += [s.find(qn("w:pPr")) for s in self._paragraph_styles(paragraph._p)]
        present = [level for level in [*levels, self.default_ppr] if level is not None]

        def number(tag: str, attr: str) -> int:
            value = _first(present, tag, attr)
            return 0 if value is None else int(value)

        line = _first(present, "w:spacing", "w:line")
        return ParagraphLook(
            alignment=_first(present, "w:jc", "w:val"),
            first_line=number("w:ind", "w:firstLine") - number("w:ind", "w:hanging"),
            left=number("w:ind", "w:left"),
            right=number("w:ind", "w:right"),
            before=number("w:spacing", "w:before"),
            after=number("w:spacing", "w:after"),
            line=None if line is None else int(line),
            line_rule=_first(present, "w:spacing", "w:lineRule") or "auto",
            page_break_before=_toggle(present, "w:pageBreakBefore"),
            border_bottom=_first(present, "w:pBdr/w:bottom", "w:val") not in (None, "nil", "none"),
        )


def _find(element: BaseOxmlElement | None, *path: str) -> BaseOxmlElement | None:
    for tag in path:
        if element is None:
            return None
        element = element.find(qn(tag))
    return element


def _first(levels: list[BaseOxmlElement], tag: str, attr: str) -> str | None:
    """The attribute from the strongest level that has the element and sets the attribute."""
    for level in levels:
        element = _find(level, *tag.split("/"))
        if element is not None and element.get(qn(attr)) is not None:
            return element.get(qn(attr))
    return None


def _toggle(levels: list[BaseOxmlElement], tag: str) -> bool:
    for level in levels:
        element = level.find(qn(tag))
        if element is not None:
            return element.get(qn("w:val")) in _TRUE
    return False


def _font(levels: list[BaseOxmlElement], attr: str) -> str:
    theme = {"ascii": "asciiTheme", "hAnsi": "hAnsiTheme", "cs": "cstheme"}.get(
        attr, f"{attr}Theme"
    )
    for level in levels:
        fonts = level.find(qn("w:rFonts"))
        if fonts is None:
            continue
        if fonts.get(qn(f"w:{theme}")) is not None:  # Word lets a theme font win
            return f"theme:{fonts.get(qn(f'w:{theme}'))}"
        if fonts.get(qn(f"w:{attr}")) is not None:
            return fonts.get(qn(f"w:{attr}"))
    return "(none)"


def all_paragraphs(document: Document) -> Iterator[Paragraph]:
    """Body paragraphs in order, those in table cells included (nested tables too)."""
    for block in document.iter_inner_content():
        if isinstance(block, Paragraph):
            yield block
        else:
            yield from table_paragraphs(block)


def table_paragraphs(table: Table) -> Iterator[Paragraph]:
    for row in table.rows:
        for cell in _unique_cells(row.cells):
            for block in cell.iter_inner_content():
                if isinstance(block, Paragraph):
                    yield block
                else:
                    yield from table_paragraphs(block)


def _unique_cells(cells: list[_Cell]) -> list[_Cell]:
    seen: list[_Cell] = []
    for cell in cells:  # a merged cell appears once for each grid column it spans
        if not any(cell._tc is other._tc for other in seen):
            seen.append(cell)
    return seen


def twips(points: float) -> int:
    return round(points * 20)
