"""Tables in the body of the report: the regime's indicator tables and the units' own tables.

An indicator table has fixed columns sized for what they hold (STT narrow and centred, the
label wide enough to read in two or three lines, numbers right-aligned) and a list
indicator's rows merged under one STT and label; a unit's table gets columns in proportion to
what its cells say.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Length, Mm, Pt
from docx.table import Table, _Cell

from reportcycle.documents import styles as st
from reportcycle.report.body_writer import BodyWriter, add_run
from reportcycle.report.context import TableBlock

NUMERIC = re.compile(r"[-+]?\d[\d.,\s]*%?")
# STT, Chỉ tiêu, Đơn vị tính, Số liệu, Đơn vị báo cáo: 165 mm, the text width.
# STT at 14 mm holds "STT" in bold 13 pt on one line; a unit's name reads in two lines.
INDICATOR_WIDTHS = (Mm(14), Mm(60), Mm(20), Mm(25), Mm(46))
# The table's title (alt text, w:tblCaption) that lets finalize_edited find an indicator table
# in a draft the secretariat edited.
INDICATOR_CAPTION = "Bảng chỉ tiêu (reportcycle)"
INDICATOR_MERGED = 3  # STT, label and measure: one cell for all the rows of a list indicator
# Rows of a table under its header: about a page of rows whose unit names take two lines. A
# longer table is laid out as several (see add_table).
TABLE_ROWS = 20
CONTINUED = "(tiếp theo)"
_ORDINAL_HEADERS = {"stt", "tt", "số tt"}
_ORDINAL_WIDTH, _MIN_WIDTH = Mm(14), Mm(18)
_CENTRE, _RIGHT = WD_ALIGN_PARAGRAPH.CENTER, WD_ALIGN_PARAGRAPH.RIGHT


def add_table(writer: BodyWriter, block: TableBlock) -> list[Table]:
    """The table at the end of the body, bordered, the header row bold and repeated; one of
    more than TABLE_ROWS rows as several tables of TABLE_ROWS rows, an empty line between
    (LibreOffice lays a table out again for each page it spans, so a table of thousands of
    rows took quadratic time, and more with a list indicator's cells merged down thousands of
    rows). An indicator that goes on into the next table has its STT and label there again,
    "(tiếp theo)"; a unit's table keeps its own STT, which goes on from table to table."""
    columns = max([len(block.header), *(len(row) for row in block.rows)])
    indicators = block.kind == "indicators" and columns == len(INDICATOR_WIDTHS)
    widths = list(INDICATOR_WIDTHS if indicators else column_widths(block, columns))
    tables: list[Table] = []
    for chunk in split_rows(block.rows, indicators=indicators):
        if tables:
            spacer = writer.paragraph(style=st.TABLE_TEXT)
            spacer.paragraph_format.space_after = Pt(6)
        tables.append(_one_table(writer, block, chunk, columns, widths, indicators))
    return tables


def split_rows(rows: Sequence[Sequence[str]], *, indicators: bool) -> list[list[tuple[str, ...]]]:
    """The rows in chunks of TABLE_ROWS (one chunk, maybe empty, for a short table); an
    indicator table's chunk that starts inside a list indicator names it again."""
    chunks = [[tuple(r) for r in rows[k : k + TABLE_ROWS]] for k in range(0, len(rows), TABLE_ROWS)]
    if not indicators:
        return chunks or [[]]
    label: tuple[str, ...] = ()
    for chunk in chunks:
        first, named = chunk[0], label
        for row in chunk:
            if any(t.strip() for t in row[:INDICATOR_MERGED]):
                label = row[:INDICATOR_MERGED]
        if named and not any(t.strip() for t in first[:INDICATOR_MERGED]):
            chunk[0] = (named[0], f"{named[1]} {CONTINUED}", *named[2:], *first[INDICATOR_MERGED:])
    return chunks or [[]]


def _one_table(
    writer: BodyWriter,
    block: TableBlock,
    rows: Sequence[Sequence[str]],
    columns: int,
    widths: list[Length],
    indicators: bool,
) -> Table:
    document = writer.document
    table = writer.table(1 + len(rows), columns, st.TEXT_WIDTH)
    table.style = "Table Grid"
    st.set_table_layout(table, widths, borders=True)
    st.keep_row_on_one_page(table, header=True)
    ordinal = _has_ordinal(block)
    # The style id written straight into each cell's paragraph, and the cells read once in row
    # order: python-docx's `paragraph.style = …` scans every style for the default one on each
    # call, and table.rows[i].cells rebuilds the whole grid; a 1,000-row table took 9 s.
    style_id = document.styles[st.TABLE_TEXT].style_id
    cells = iter(table._cells)  # python-docx's grid, row by row (no merged cells yet)
    grid: list[list[_Cell]] = []
    for row_index, texts in enumerate([block.header, *rows]):
        row = [next(cells) for _ in range(columns)]
        grid.append(row)
        for column, (cell, text) in enumerate(zip(row, texts, strict=False)):
            paragraph = cell.paragraphs[0]
            paragraph._p.style = style_id
            run = add_run(paragraph, text)
            if row_index == 0:
                run.font.bold = True
                paragraph.alignment = _CENTRE
                cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER
            elif (column == 0 and ordinal) or (indicators and column == 2):
                paragraph.alignment = _CENTRE
            elif NUMERIC.fullmatch(text.strip()):
                paragraph.alignment = _RIGHT
    if indicators:
        _merge_list_rows(grid[1:], rows)
        caption = OxmlElement("w:tblCaption", {qn("w:val"): INDICATOR_CAPTION})
        table._tbl.tblPr.insert_element_before(caption, "w:tblDescription", "w:tblPrChange")
    return table


def column_widths(block: TableBlock, columns: int) -> list[Length]:
    """Columns in proportion to the longest text each holds (a word of the header at least),
    an STT column narrow; together the text width."""
    lengths = [0] * columns
    for texts in (block.header, *block.rows):
        for index, text in enumerate(texts):
            lengths[index] = max(lengths[index], min(len(text), 60))
    for index, text in enumerate(block.header):
        longest_word = max((len(w) for w in text.split()), default=0)
        lengths[index] = max(lengths[index], longest_word, 4)
    fixed = [index == 0 and _has_ordinal(block) for index in range(columns)]
    free = st.TEXT_WIDTH - _ORDINAL_WIDTH * sum(fixed)
    total = sum(n for n, f in zip(lengths, fixed, strict=True) if not f) or 1
    widths = [
        _ORDINAL_WIDTH if f else max(_MIN_WIDTH, Length(free * n // total))
        for n, f in zip(lengths, fixed, strict=True)
    ]
    excess = sum(widths) - st.TEXT_WIDTH  # the minimums may overshoot: take it off the widest
    widest = widths.index(max(widths))
    widths[widest] = Length(widths[widest] - excess)
    return widths


def _has_ordinal(block: TableBlock) -> bool:
    """Whether the first column numbers the rows ("STT")."""
    return bool(block.header) and block.header[0].strip().casefold() in _ORDINAL_HEADERS


def _merge_list_rows(grid: Sequence[Sequence[_Cell]], rows: Sequence[Sequence[str]]) -> None:
    """A row whose STT, label and measure are blank continues the indicator above it: those
    cells are merged with the ones above (w:vMerge), centred vertically."""
    for index, texts in enumerate(rows):
        if index == 0 or any(t.strip() for t in texts[:INDICATOR_MERGED]):
            continue
        for column in range(INDICATOR_MERGED):
            above, cell = grid[index - 1][column], grid[index][column]
            if _vmerge(above) is None:
                _set_vmerge(above, "restart")
                above.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER
            _set_vmerge(cell, "continue")


def _vmerge(cell: _Cell) -> str | None:
    tc_pr = cell._tc.tcPr
    found = None if tc_pr is None else tc_pr.find(qn("w:vMerge"))
    return None if found is None else found.get(qn("w:val"), "continue")


def _set_vmerge(cell: _Cell, value: str) -> None:
    tc_pr = cell._tc.get_or_add_tcPr()
    element = OxmlElement("w:vMerge", {qn("w:val"): value})
    tc_pr.insert_element_before(
        element, "w:tcBorders", "w:shd", "w:noWrap", "w:tcMar", "w:textDirection",
        "w:tcFitText", "w:vAlign", "w:hideMark", "w:headers", "w:cellIns", "w:cellDel",
        "w:cellMerge", "w:tcPrChange",
    )  # fmt: skip
