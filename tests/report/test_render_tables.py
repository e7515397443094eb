"""The report's body as a reader sees it: the rule under the trích yếu, the indicator tables
(centred STT, a label column wide enough to read, a list indicator's rows merged, space after),
the units' italics, and the draft's note of which units' parts are missing. Read back from the
DOCX with python-docx."""

from __future__ import annotations

import dataclasses
import io
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import docx
import pytest
from docx.document import Document
from docx.oxml.ns import qn
from docx.table import Table
from docx.text.paragraph import Paragraph

from reportcycle.clock import VN_TZ
from reportcycle.documents import styles as st
from reportcycle.documents.convert import convert
from reportcycle.regime.loading import RegimeError, load_regime
from reportcycle.regime.schema import Aggregate, Indicator
from reportcycle.report.build import FinalHeader, as_final
from reportcycle.report.context import (
    Para,
    ReportContext,
    ReportSection,
    context_from_json,
    context_to_json,
)
from reportcycle.report.finalize import finalize_edited
from reportcycle.report.merge import UnitContribution, indicator_table
from reportcycle.report.render import render_docx
from tests.conftest import REFERENCE_REGIME
from tests.docx_layout import Layout
from tests.report.test_render import (
    NUMBER_LINE,
    PLACE_DATE,
    reference_context,
    with_table_in_3b,
)

UNITS = ("Sở Ngoại vụ", "Đài Phát thanh – Truyền hình Đồng Nai", "Báo Đồng Nai")
LABEL = "Số lượng người theo dõi các trang mạng xã hội của cơ quan báo chí trong tỉnh"


def _indicator_ctx(*, draft: bool = True) -> ReportContext:
    """The reference report with 3b's indicator table as the merge makes it: a sum, then a list
    indicator given by three units."""
    indicators = [
        Indicator(code="trang", label="Số trang mạng xã hội", measure="trang", section="3b"),
        Indicator(code="fb", label=LABEL, measure="người", section="3b", aggregate=Aggregate.LIST),
    ]
    contributions = [
        UnitContribution(
            code,
            name,
            {},
            {
                "trang": {"raw": "2", "value": "2", "problem": None},
                "fb": {"raw": raw, "value": raw.replace(".", ""), "problem": None},
            },
            received_at=datetime(2024, 6, 19, tzinfo=VN_TZ),
        )
        for code, name, raw in zip("ABC", UNITS, ("212.000", "13.350", "5.400"), strict=True)
    ]
    table, _ = indicator_table(indicators, contributions)
    assert table is not None
    ctx = reference_context(draft=draft)
    return with_table_in_3b(ctx, table)


def _open(data: bytes) -> Document:
    return docx.Document(io.BytesIO(data))


def _indicator_table(document: Document) -> Table:
    found = [t for t in document.tables if t.rows[0].cells[0].text == "STT"]
    assert len(found) == 1
    return found[0]


def _tc(table: Table, row: int, column: int) -> Any:
    return table._tbl.tr_lst[row].tc_lst[column]


def _vmerge(table: Table, row: int, column: int) -> str | None:
    tc_pr = _tc(table, row, column).tcPr
    found = None if tc_pr is None else tc_pr.find(qn("w:vMerge"))
    return None if found is None else (found.get(qn("w:val")) or "continue")


def _alignment(document: Document, paragraph: Paragraph) -> str | None:
    return Layout(document).paragraph(paragraph).alignment


# --- the rule under the trích yếu ------------------------------------------------------------


def test_short_centred_rule_under_the_summary() -> None:
    document = _open(render_docx(reference_context(draft=False)))
    summary, rule = document.paragraphs[1], document.paragraphs[2]
    assert summary.text == reference_context(draft=False).summary
    look = Layout(document).paragraph(rule)
    assert rule.text == ""
    assert look.border_bottom
    assert look.left == look.right  # centred
    width = st.TEXT_WIDTH.twips - look.left - look.right
    assert st.TEXT_WIDTH.twips / 3 - 20 <= width <= st.TEXT_WIDTH.twips / 2  # Decree 30: 1/3–1/2
    assert look.after >= 12 * 20  # air before the opening paragraph


# --- indicator tables --------------------------------------------------------------------------


def test_indicator_table_columns_fit_what_they_hold() -> None:
    table = _indicator_table(_open(render_docx(_indicator_ctx(draft=False))))
    grid = [int(c.get(qn("w:w"))) for c in table._tbl.tblGrid.findall(qn("w:gridCol"))]
    stt, label, measure, value, unit = (w / 56.7 for w in grid)  # twips → mm
    assert stt <= 15  # "STT" on one line, no more
    assert label >= 60  # the label reads in two lines, not five
    assert label > max(measure, value, unit)
    assert value >= 20
    assert sum(grid) == pytest.approx(st.TEXT_WIDTH.twips, abs=5)


def test_indicator_table_stt_centred_numbers_right_aligned() -> None:
    document = _open(render_docx(_indicator_ctx(draft=False)))
    table = _indicator_table(document)
    first = [c.paragraphs[0] for c in table.rows[1].cells]
    assert [p.text for p in first] == ["1", "Số trang mạng xã hội", "trang", "6", "3 đơn vị"]
    assert _alignment(document, first[0]) == "center"  # STT
    assert _alignment(document, first[1]) == "left"
    assert _alignment(document, first[3]) == "right"  # the figure


def test_list_indicator_rows_share_one_merged_stt_and_label() -> None:
    document = _open(render_docx(_indicator_ctx(draft=False)))
    table = _indicator_table(document)
    # rows 2–4: the list indicator, one row per unit
    assert [_vmerge(table, 2, c) for c in range(3)] == ["restart"] * 3
    for row in (3, 4):
        assert [_vmerge(table, row, c) for c in range(3)] == ["continue"] * 3
        assert _vmerge(table, row, 3) is None  # each unit keeps its own figure
    assert _vmerge(table, 1, 0) is None  # the sum is a row of its own
    # python-docx (as Word) reads the merged cell as one: the label on every row
    assert [table.cell(r, 1).text for r in (2, 3, 4)] == [LABEL] * 3
    assert [table.cell(r, 0).text for r in (2, 3, 4)] == ["2"] * 3
    assert [table.cell(r, 4).text for r in (2, 3, 4)] == list(UNITS)


def test_heading_after_a_table_has_space_above() -> None:
    document = _open(render_docx(_indicator_ctx(draft=False)))
    table = _indicator_table(document)
    after = Paragraph(table._tbl.getnext(), table._parent)
    assert after.text.startswith("c) ")  # 3c's heading right after 3b's table
    assert Layout(document).paragraph(after).before >= 12 * 20


def test_units_own_table_columns_follow_their_content() -> None:
    document = _open(render_docx(reference_context(draft=False)))
    table = document.tables[1]  # "Cơ quan" | "Trang, kênh" | "Người theo dõi"
    grid = [int(c.get(qn("w:w"))) for c in table._tbl.tblGrid.findall(qn("w:gridCol"))]
    assert sum(grid) == pytest.approx(st.TEXT_WIDTH.twips, abs=5)
    assert grid[2] < grid[0]  # the figures' column narrower than the long agency name


def test_indicator_tables_left_out_of_the_final_only_when_the_regime_says() -> None:
    header = FinalHeader(NUMBER_LINE, PLACE_DATE)
    draft = dataclasses.replace(_indicator_ctx(), indicator_tables_in_final=False)
    stored = context_from_json(context_to_json(draft))  # what approval renders the final from
    assert stored == draft
    final = _open(render_docx(as_final(stored, header)))
    assert not [t for t in final.tables if t.rows[0].cells[0].text == "STT"]
    assert len(final.tables) == 3  # header block, the unit's table, signature
    _indicator_table(_open(render_docx(draft)))  # the draft keeps it for the secretariat
    kept = as_final(dataclasses.replace(draft, indicator_tables_in_final=True), header)
    _indicator_table(_open(render_docx(kept)))


def test_regime_report_option_is_validated(tmp_path: Path) -> None:
    # the reference regime without its `report:` block (it leaves the tables out of the final)
    text = re.sub(r"(?m)^report:.*\n(?:  .*\n)*", "", REFERENCE_REGIME.read_text("utf-8"))
    assert "indicator_tables_in_final" not in text

    def load(extra: str) -> bool:
        path = tmp_path / "regime.yaml"
        path.write_text(text + extra, encoding="utf-8")
        return load_regime(path).regime.report.indicator_tables_in_final

    assert load("") is True
    assert load("report:\n  indicator_tables_in_final: false\n") is False
    with pytest.raises(RegimeError, match="indicator_tables"):
        load("report:\n  indicator_tables: false\n")
    with pytest.raises(RegimeError, match="indicator_tables_in_final"):
        load("report:\n  indicator_tables_in_final: perhaps\n")


def test_context_stored_before_these_fields_still_loads() -> None:
    data = context_to_json(_indicator_ctx())
    del data["indicator_tables_in_final"]
    for section in data["sections"]:
        del section["missing_note"]
        for block in section["blocks"]:
            block.pop("kind" if block["type"] == "table" else "spans")
    ctx = context_from_json(data)
    assert ctx.indicator_tables_in_final
    render_docx(ctx)


# --- italics and bold from the units ---------------------------------------------------------


def test_paragraph_spans_render_as_italic_and_bold_runs() -> None:
    spans = (("Tiết mục “", ""), ("Việt Nam và thế giới", "i"), ("” phát sóng ", ""))
    spans += (("18h00", "bi"),)
    para = Para("".join(t for t, _ in spans), sources=("Đài",), spans=spans)
    ctx = reference_context(draft=False)
    section = ReportSection("9", "9. Thử", 1, (para,))
    document = _open(render_docx(dataclasses.replace(ctx, sections=(section,))))
    (paragraph,) = [p for p in document.paragraphs if p.text == para.text]
    looks = [(r.text, bool(r.italic), bool(r.bold)) for r in paragraph.runs]
    assert looks == [
        ("Tiết mục “", False, False),
        ("Việt Nam và thế giới", True, False),
        ("” phát sóng ", False, False),
        ("18h00", True, True),
    ]


def test_spans_that_no_longer_spell_the_text_fall_back_to_plain_text() -> None:
    para = Para("Văn bản đã sửa.", spans=(("Văn bản ", ""), ("cũ", "i")))
    ctx = reference_context(draft=False)
    section = ReportSection("9", "9. Thử", 1, (para,))
    document = _open(render_docx(dataclasses.replace(ctx, sections=(section,))))
    (paragraph,) = [p for p in document.paragraphs if p.text == para.text]
    assert not any(r.italic for r in paragraph.runs)


# --- the draft says whose part is missing ----------------------------------------------------


def test_missing_units_note_in_the_draft_only() -> None:
    note = "Báo Đồng Nai (chưa gửi báo cáo); Sở Công Thương (bản gửi đang chờ rà soát)"
    ctx = reference_context(draft=True)
    sections = tuple(
        dataclasses.replace(s, missing_note=note) if s.code == "3b" else s for s in ctx.sections
    )
    draft = dataclasses.replace(ctx, sections=sections)
    lines = [p.text for p in _open(render_docx(draft)).paragraphs]
    assert f"[Còn thiếu phần của: {note}]" in lines
    at = lines.index(f"[Còn thiếu phần của: {note}]")
    assert lines[at + 1].startswith("c) ")  # at the end of 3b, before 3c
    final = as_final(draft, FinalHeader(NUMBER_LINE, PLACE_DATE))
    assert not [p for p in _open(render_docx(final)).paragraphs if "Còn thiếu" in p.text]


def test_an_edited_draft_loses_its_indicator_tables_when_the_regime_says() -> None:
    draft = render_docx(_indicator_ctx())
    kept = finalize_edited(draft, number_line=NUMBER_LINE, place_date=PLACE_DATE)
    _indicator_table(_open(kept))
    final = finalize_edited(
        draft, number_line=NUMBER_LINE, place_date=PLACE_DATE, drop_indicator_tables=True
    )
    tables = _open(final).tables
    assert not [t for t in tables if t.rows[0].cells[0].text == "STT"]
    assert len(tables) == 3  # header block, the unit's own table, signature


@pytest.mark.libreoffice
def test_indicator_tables_are_still_found_after_libreoffice_saved_the_draft() -> None:
    saved = convert(render_docx(_indicator_ctx()), source_suffix=".docx", target="docx")
    _indicator_table(_open(saved))
    final = finalize_edited(
        saved, number_line=NUMBER_LINE, place_date=PLACE_DATE, drop_indicator_tables=True
    )
    assert not [t for t in _open(final).tables if t.rows[0].cells[0].text == "STT"]
