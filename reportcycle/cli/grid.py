"""A table of aligned columns for the terminal, drawn in time linear in its cells.

Rich's `Table` measures and wraps every cell through its layout engine: about 0.6 ms a row, so
the status of 5,000 units took 2.9 s to draw. A `Grid` pads each cell to its column's width
(in terminal cells, so Vietnamese letters and wide characters line up) and hands Rich one
segment per run of plain text: the same 5,000 rows in about 0.1 s.

Rows longer than a terminal are not wrapped: one column (the unit's name) is shortened with "…"
to fit when the output is a terminal; piped output keeps every character, for grep and less.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from rich.cells import cell_len as rich_cell_len
from rich.cells import set_cell_size
from rich.console import Console, ConsoleOptions
from rich.segment import Segment
from rich.style import Style

# One cell per character: Latin letters (Vietnamese's precomposed ones, U+1E00–U+1EFF,
# included), punctuation, box drawing. Anything else (combining marks, CJK, emoji) is
# measured by Rich.
_NARROW = re.compile(r"[\u0020-\u02ff\u1e00-\u1eff\u2010-\u2027\u2500-\u257f]*")
GAP = "  "
MIN_SHRUNK = 12  # the shortened column keeps at least this many cells

Cell = str | tuple[str, str]  # text, or (text, style) such as ("đã gửi", "green")


@dataclass
class Grid:
    headers: Sequence[str]
    rows: list[Sequence[Cell]] = field(default_factory=list)
    shrink: str | None = None  # the header of the column shortened to fit a terminal
    title: str | None = None

    def add_row(self, *cells: Cell) -> None:
        self.rows.append(cells)

    def widths(self, room: int | None) -> list[int]:
        widths = [cell_len(h) for h in self.headers]
        for row in self.rows:
            for i, cell in enumerate(row):
                size = cell_len(cell if isinstance(cell, str) else cell[0])
                if size > widths[i]:
                    widths[i] = size
        if room is not None and self.shrink is not None and self.shrink in self.headers:
            total = sum(widths) + len(GAP) * (len(widths) - 1)
            at = list(self.headers).index(self.shrink)
            if total > room:
                widths[at] = max(MIN_SHRUNK, widths[at] - (total - room))
        return widths

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> Iterator[Segment]:
        widths = self.widths(options.max_width if console.is_terminal else None)
        styles: dict[str, Style] = {}
        if self.title:
            yield Segment(self.title, console.get_style("italic"))
            yield Segment.line()
        yield Segment(_line(self.headers, widths), console.get_style("bold"))
        yield Segment.line()
        yield Segment(GAP.join("─" * w for w in widths))
        yield Segment.line()
        if console.color_system is None:  # piped: no styles, so the rows as one text
            yield Segment("".join(_plain(row, widths) + "\n" for row in self.rows))
            return
        for row in self.rows:
            yield from _row(console, row, widths, styles)
            yield Segment.line()


def _plain(row: Sequence[Cell], widths: Sequence[int]) -> str:
    """The row as `_row` draws it, without its styles."""
    texts = [cell if isinstance(cell, str) else cell[0] for cell in row]
    last = max((i for i, text in enumerate(texts) if text), default=0)
    return _line(texts[: last + 1], widths)


def _line(cells: Sequence[str], widths: Sequence[int]) -> str:
    """Every cell padded to its column but the last, which runs to the end of the line."""
    padded = [_fit(text, width) for text, width in zip(cells[:-1], widths, strict=False)]
    return GAP.join([*padded, cells[-1]])


def cell_len(text: str) -> int:
    """Terminal cells `text` takes; `len` where every character is one cell."""
    return len(text) if _NARROW.fullmatch(text) else rich_cell_len(text)


def _fit(text: str, width: int) -> str:
    size = cell_len(text)
    if size == width:
        return text
    if size < width:
        return text + " " * (width - size)
    return set_cell_size(text, width - 1) + "…"


def _row(
    console: Console, row: Sequence[Cell], widths: Sequence[int], styles: dict[str, Style]
) -> Iterator[Segment]:
    """Plain cells are joined into one segment; a styled cell is a segment of its own. The
    last cell that says something is not padded, and nothing follows it."""
    plain: list[str] = []
    last = max((i for i, cell in enumerate(row) if cell), default=0)
    row = row[: last + 1]
    for i, cell in enumerate(row):
        text, style = (cell, "") if isinstance(cell, str) else cell
        shown = text if i == last else _fit(text, widths[i])
        gap = "" if i == last else GAP
        if not style:
            plain.append(shown + gap)
            continue
        if plain:
            yield Segment("".join(plain))
            plain = []
        if style not in styles:
            styles[style] = console.get_style(style)
        yield Segment(shown, styles[style])
        plain.append(gap)
    if plain:
        yield Segment("".join(plain))
