"""A report of hundreds of units, read back: a list indicator's one row per unit laid out as
tables of TABLE_ROWS rows (header repeated, the indicator named again where it goes on, no cell
merged across tables, every value once), the draft's comments one per paragraph with its own
id, the tables dropped from an edited final as one, near-duplicates among paragraphs that
share most of their phrases, and the writer settling what it wrote without changing a byte.
LibreOffice's PDF where marked."""

from __future__ import annotations

import dataclasses
import io
import re
import zipfile
from datetime import datetime

import docx
import pytest
from docx.document import Document
from docx.oxml.ns import qn
from docx.table import Table
from pypdf import PdfReader

from bench.unit_replies import UnitSpec, light_edit, unit_replies
from reportcycle.clock import VN_TZ
from reportcycle.documents.convert import convert
from reportcycle.regime.schema import Aggregate, Indicator
from reportcycle.report import body_writer
from reportcycle.report.context import Para, ReportContext, TableBlock
from reportcycle.report.finalize import finalize_edited
from reportcycle.report.merge import (
    INDICATOR_HEADER,
    UnitContribution,
    indicator_table,
    merge_section,
)
from reportcycle.report.render import render_docx
from reportcycle.report.render_tables import CONTINUED, TABLE_ROWS
from tests.report.test_render import (
    NUMBER_LINE,
    PLACE_DATE,
    reference_context,
    with_table_in_3b,
)

UNITS = 300
SUM_LABEL = "Số ấn phẩm thông tin đối ngoại xuất bản định kỳ"
LIST_LABEL = "Số người theo dõi trang facebook chính của đơn vị"


def _unit(k: int) -> str:
    return f"Ủy ban nhân dân xã số {k}"


def _value(k: int) -> str:
    return f"{10_000 + 37 * k:,}".replace(",", ".")  # "10.000", "10.037", … distinct


def _contributions() -> list[UnitContribution]:
    return [
        UnitContribution(
            f"X{k:03d}",
            _unit(k),
            {},
            {
                "an_pham": {"raw": "2", "value": "2", "problem": None},
                "fb": {"raw": _value(k), "value": _value(k).replace(".", ""), "problem": None},
            },
            received_at=datetime(2024, 6, 19, tzinfo=VN_TZ),
        )
        for k in range(UNITS)
    ]


def _table_block() -> TableBlock:
    indicators = [
        Indicator(code="an_pham", label=SUM_LABEL, measure="ấn phẩm", section="3b"),
        Indicator(
            code="fb", label=LIST_LABEL, measure="người", section="3b", aggregate=Aggregate.LIST
        ),
    ]
    table, _ = indicator_table(indicators, _contributions())
    assert table is not None
    return table


def _ctx(*, draft: bool = True) -> ReportContext:
    ctx = reference_context(draft=draft)
    table = _table_block()
    return with_table_in_3b(ctx, table)


def _open(data: bytes) -> Document:
    return docx.Document(io.BytesIO(data))


def _indicator_tables(document: Document) -> list[Table]:
    return [
        t for t in document.tables if tuple(c.text for c in t.rows[0].cells) == INDICATOR_HEADER
    ]


def _texts(table: Table) -> list[list[str]]:
    return [[tc.xpath("string(.)") for tc in tr.tc_lst] for tr in table._tbl.tr_lst]


def test_a_list_of_300_units_is_tables_of_at_most_table_rows() -> None:
    tables = _indicator_tables(_open(render_docx(_ctx())))
    rows = 1 + UNITS  # the sum's row, then one per unit
    assert len(tables) == -(-rows // TABLE_ROWS) > 1
    for table in tables:
        body = _texts(table)[1:]
        assert 1 <= len(body) <= TABLE_ROWS
        header = table._tbl.tr_lst[0].trPr
        assert header is not None
        assert header.find(qn("w:tblHeader")) is not None
        for tr in table._tbl.tr_lst[1:]:  # a repeated header only: no unit row repeats
            assert tr.trPr is None or tr.trPr.find(qn("w:tblHeader")) is None


def test_every_value_once_in_order_and_the_indicator_named_in_each_table() -> None:
    tables = _indicator_tables(_open(render_docx(_ctx())))
    rows = [row for table in tables for row in _texts(table)[1:]]
    assert rows[0][:4] == ["1", SUM_LABEL, "ấn phẩm", "600"]
    assert [r[4] for r in rows[1:]] == [_unit(k) for k in range(UNITS)]
    assert [r[3] for r in rows[1:]] == [_value(k) for k in range(UNITS)]
    # STT goes on: 1 for the sum, 2 for the list; each later table names the list again
    firsts = [_texts(t)[1] for t in tables]
    assert firsts[0][0] == "1"
    assert [f[0] for f in firsts[1:]] == ["2"] * (len(tables) - 1)
    assert [f[1] for f in firsts[1:]] == [f"{LIST_LABEL} {CONTINUED}"] * (len(tables) - 1)


def test_no_cell_is_merged_across_tables() -> None:
    for table in _indicator_tables(_open(render_docx(_ctx()))):
        for column in range(3):
            marks = []
            for tr in table._tbl.tr_lst[1:]:
                found = tr.tc_lst[column].tcPr
                merge = None if found is None else found.find(qn("w:vMerge"))
                marks.append(None if merge is None else merge.get(qn("w:val"), "continue"))
            # a merge starts in the table it continues in
            first = next((m for m in marks if m is not None), None)
            assert first in (None, "restart")
            assert len(marks) <= TABLE_ROWS


def test_tables_are_separate_in_the_body() -> None:
    body = _open(render_docx(_ctx())).element.body
    tables = [t for t in body if t.tag == qn("w:tbl")]
    for table in tables:
        after = table.getnext()
        assert after is None or after.tag != qn("w:tbl")  # Word would join two adjacent tables


def test_an_edited_final_drops_every_part_and_the_lines_between() -> None:
    draft = render_docx(_ctx())
    final = _open(
        finalize_edited(
            draft, number_line=NUMBER_LINE, place_date=PLACE_DATE, drop_indicator_tables=True
        )
    )
    assert not _indicator_tables(final)
    body = list(final.element.body)
    empties = [
        e for e, nxt in zip(body, body[1:], strict=False)
        if e.tag == qn("w:p") and not e.xpath("string(.)") and nxt.tag == qn("w:p")
        and not nxt.xpath("string(.)")
    ]  # fmt: skip
    assert len(empties) < 3  # not one empty line per dropped table


def _many_paragraphs_ctx(count: int) -> ReportContext:
    ctx = reference_context(draft=True)
    paras = tuple(
        Para(f"Đoạn số {k} của đơn vị thứ {k}.", sources=(_unit(k),)) for k in range(count)
    )
    sections = tuple(
        dataclasses.replace(s, blocks=paras) if s.code == "3a" else s for s in ctx.sections
    )
    return dataclasses.replace(ctx, sections=sections)


def test_each_paragraph_of_a_thousand_has_its_comment_with_its_own_id() -> None:
    document = _open(render_docx(_many_paragraphs_ctx(1000)))
    ids = [c.comment_id for c in document.comments]
    assert len(ids) == len(set(ids))
    by_id = {c.comment_id: c.text for c in document.comments}
    for k in (0, 499, 999):
        paragraph = next(
            p for p in document.paragraphs if p.text == f"Đoạn số {k} của đơn vị thứ {k}."
        )
        start = paragraph._p.find(qn("w:commentRangeStart"))
        assert start is not None
        assert by_id[int(start.get(qn("w:id")))] == f"Nguồn: {_unit(k)}"
        assert document.comments.get(int(start.get(qn("w:id")))) is not None


def test_a_light_edit_is_flagged_among_paragraphs_of_shared_phrases() -> None:
    specs = [UnitSpec(k, _unit(k), ("3b",), ()) for k in range(400)]
    replies = unit_replies(specs, seed=7)
    import random

    original = replies[10].sections["3b"][0]
    edited = light_edit(original, random.Random(1))
    assert edited != original
    contributions = [
        UnitContribution(
            f"X{k}",
            _unit(k),
            {"3b": [{"type": "paragraph", "style": "para", "text": t} for t in r.sections["3b"]]},
        )
        for k, r in enumerate(replies)
    ]
    contributions.append(
        UnitContribution("LAST", "Đơn vị cuối", {"3b": [{"type": "paragraph", "text": edited}]})
    )
    blocks, notes = merge_section("3b", contributions)
    last = next(b for b in blocks if isinstance(b, Para) and b.text == edited)
    assert last.flag is not None
    assert _unit(10) in last.flag
    assert any("Đơn vị cuối" in n.text for n in notes)


def test_generated_units_write_their_own_text_and_figures() -> None:
    specs = [UnitSpec(k, _unit(k), ("2", "3b"), ("fb",)) for k in range(1000)]
    replies = unit_replies(specs)
    first = [r.sections["3b"][0] for r in replies]
    copied = {pos for r in replies for kind, pos, code in r.copied if code == "3b"}
    assert len(set(first)) > 0.97 * len(first)
    assert 0.05 * len(first) <= len(copied) <= 0.12 * len(first)
    values = [r.indicators["fb"] for r in replies]
    assert len(set(values)) == len(values)
    assert all(re.fullmatch(r"\d{1,3}(\.\d{3})*", v) for v in values)
    assert unit_replies(specs) == replies  # seeded


@pytest.mark.libreoffice
def test_the_pdf_shows_every_unit_and_value_and_repeats_the_header() -> None:
    pdf = PdfReader(
        io.BytesIO(convert(render_docx(_ctx(draft=False)), source_suffix=".docx", target="pdf"))
    )
    text = re.sub(r"\s+", " ", " ".join(page.extract_text() for page in pdf.pages))
    for k in range(UNITS):
        assert f"{_unit(k)} " in text or text.endswith(_unit(k))
        assert _value(k) in text
    assert text.count("Đơn vị báo cáo") >= -(-(1 + UNITS) // TABLE_ROWS)
    assert CONTINUED in text


def _parts(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        return {name: package.read(name) for name in package.namelist()}


def test_settling_the_written_blocks_saves_the_same_parts_byte_for_byte(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ctx = with_table_in_3b(_many_paragraphs_ctx(700), _table_block())
    monkeypatch.setattr(body_writer, "SETTLE_AT", 10**9)  # one tree, as python-docx saves it
    whole = _parts(render_docx(ctx))
    monkeypatch.setattr(body_writer, "SETTLE_AT", 1)  # settled after every block
    settled = _parts(render_docx(ctx))
    assert list(settled) == list(whole)
    for name, data in whole.items():
        assert settled[name] == data, name
    assert b"reportcycle:spilled" not in b"".join(settled.values())


def test_settled_paragraphs_leave_the_tree_and_come_back_in_order_with_their_comments(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(body_writer, "SETTLE_AT", 4)
    document = docx.Document()
    writer = body_writer.BodyWriter(document, author="rc", initials="RC")
    for k in range(30):
        paragraph = writer.paragraph(f"Đoạn {k}")
        writer.comment(paragraph.runs, f"Nguồn: đơn vị {k}")
        writer.settle()
    assert len(document.element.body) < 10  # marker, the last few paragraphs, w:sectPr
    back = _open(writer.save())
    assert [p.text for p in back.paragraphs] == [f"Đoạn {k}" for k in range(30)]
    assert [c.text for c in back.comments] == [f"Nguồn: đơn vị {k}" for k in range(30)]
    for paragraph, comment in zip(back.paragraphs, back.comments, strict=True):
        start = paragraph._p.find(qn("w:commentRangeStart"))
        assert start is not None
        assert int(start.get(qn("w:id"))) == comment.comment_id
