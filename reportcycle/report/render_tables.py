"""Tables in the body of the report: the regime's indicator tables and the units' own tables.

An indicator table has fixed columns sized for what they hold (STT narrow and centred, the
label wide enough to read in two or three lines, numbers right-aligned) and a list
indicator's rows merged under one STT and label; a unit's table gets columns in proportion to
what its cells say.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from docx.document import Document
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Length, Mm
from docx.table import Table, _Cell

from reportcycle.documents import styles as st
from reportcycle.report.context import TableBlock

NUMERIC = re.compile(r"[-+]?\d[\d.,\s]*%?")
# STT, Chỉ tiêu, Đơn vị tính, Số liệu, Đơn vị báo cáo: 165 mm, the text width.
# STT at 14 mm holds "STT" in bold 13 pt on one line; a unit's name reads in two lines.
INDICATOR_WIDTHS = (Mm(14), Mm(60), Mm(20), Mm(25), Mm(46))
# The table's title (alt text, w:tblCaption) that lets finalize_edited find an indicator table
# in a draft the secretariat edited.
INDICATOR_CAPTION = "Bảng chỉ tiêu (reportcycle)"
INDICATOR_MERGED = 3  # STT, label and measure: one cell for all the rows of a list indicator
_ORDINAL_HEADERS = {"stt", "tt", "số tt"}
_ORDINAL_WIDTH, _MIN_WIDTH = Mm(14), Mm(18)
_CENTRE, _RIGHT = WD_ALIGN_PARAGRAPH.CENTER, WD_ALIGN_PARAGRAPH.RIGHT


def add_table(document: Document, block: TableBlock) -> Table:
    """The table at the end of the body, bordered, the header row bold and repeated."""
    columns = max([len(block.header), *(len(row) for row in block.rows)])
    table = document.add_table(rows=1 + len(block.rows), cols=columns)
    table.style = "Table Grid"
    indicators = block.kind == "indicators" and columns == len(INDICATOR_WIDTHS)
    widths = INDICATOR_WIDTHS if indicators else column_widths(block, columns)
    st.set_table_layout(table, list(widths), borders=True)
    st.keep_row_on_one_page(table, header=True)
    ordinal = _has_ordinal(block)
    # The style id written straight into each cell's paragraph, and the cells read once in row
    # order: python-docx's `paragraph.style = …` scans every style for the default one on each
    # call, and table.rows[i].cells rebuilds the whole grid; a 1,000-row table took 9 s.
    style_id = document.styles[st.TABLE_TEXT].style_id
    cells = iter(table._cells)  # python-docx's grid, row by row (no merged cells yet)
    grid: list[list[_Cell]] = []
    for row_index, texts in enumerate([block.header, *block.rows]):
        row = [next(cells) for _ in range(columns)]
        grid.append(row)
        for column, (cell, text) in enumerate(zip(row, texts, strict=False)):
            paragraph = cell.paragraphs[0]
            paragraph._p.style = style_id
            run = paragraph.add_run(text)
            if row_index == 0:
                run.font.bold = True
                paragraph.alignment = _CENTRE
                cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER
            elif (column == 0 and ordinal) or (indicators and column == 2):
                paragraph.alignment = _CENTRE
            elif NUMERIC.fullmatch(text.strip()):
                paragraph.alignment = _RIGHT
    if indicators:
        _merge_list_rows(grid[1:], block.rows)
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
