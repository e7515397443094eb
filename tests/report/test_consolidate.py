"""Consolidation on the plain functions: the merge, the draft's review notes, numbering,
decisions, later contributions, reruns; on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import unicodedata
import zipfile
from datetime import date, datetime
from pathlib import Path

import pytest
from docx import Document
from sqlmodel import col, select

from models.db import session
from models.report import IssuedNumber, ReportKind, ReportStatus, ReportVersion
from models.settings import Settings
from models.tables import Cycle, DataRequest, OutboundMessage
from reportcycle import lookup
from reportcycle.clock import VN_TZ
from reportcycle.cycle import opening
from reportcycle.cycle.status import cycle_status
from reportcycle.inbox.collect import collect_mail
from reportcycle.regime.loading import load_regime
from reportcycle.regime.schema import Aggregate, Indicator
from reportcycle.report import approval, drafts
from reportcycle.report.approval import Decision
from reportcycle.report.build import build_report_context
from reportcycle.report.context import Para, TableBlock
from reportcycle.report.errors import ConsolidationError
from reportcycle.report.gather import Gathered
from reportcycle.report.merge import UnitContribution, indicator_table, merge_section
from reportcycle.report.numbering import issue_number, set_counter
from reportcycle.report.texts import read_text_file, set_text
from tests.conftest import REFERENCE_REGIME
from tests.factories import deliver, open_reference_cycle, reply_with_form
from tests.fixtures import reference
from tests.report.test_consolidate_reference import body_lines

DRAFTED = datetime(2024, 7, 1, 9, tzinfo=VN_TZ)
APPROVED = datetime(2024, 7, 3, 9, tzinfo=VN_TZ)


def _para(text: str, style: str = "para") -> dict[str, str]:
    return {"type": "paragraph", "style": style, "text": text}


# --- the merge (pure) -------------------------------------------------------------------------


def test_exact_duplicates_after_nfc_and_whitespace_appear_once_attributed_to_both() -> None:
    text = "Tổ chức Hội nghị phát ngôn, cung cấp thông tin cho báo chí."
    a = UnitContribution("A", "Sở A", {"3b": [_para(text), _para("Đoạn riêng của A.")]})
    b = UnitContribution(
        "B", "Sở B", {"3b": [_para("  " + unicodedata.normalize("NFD", text).replace(" ", "  "))]}
    )
    blocks, notes = merge_section("3b", [a, b])
    assert blocks == [
        Para(text, sources=("Sở A", "Sở B")),
        Para("Đoạn riêng của A.", sources=("Sở A",)),
    ]
    assert notes == []


def test_near_duplicates_are_kept_and_flagged_for_the_secretariat() -> None:
    first = (
        "Sở đã phối hợp tổ chức 02 lớp tập huấn kiến thức đối ngoại cho cán bộ, công chức "
        "của các sở, ban, ngành và địa phương trên địa bàn tỉnh trong 6 tháng đầu năm."
    )
    second = first.replace("02 lớp", "03 lớp")
    blocks, notes = merge_section(
        "3a",
        [
            UnitContribution("A", "Sở A", {"3a": [_para(first)]}),
            UnitContribution("B", "Sở B", {"3a": [_para(second, "bullet")]}),
        ],
    )
    assert [b.text for b in blocks if isinstance(b, Para)] == [first, f"- {second}"]
    flagged = blocks[1]
    assert isinstance(flagged, Para)
    assert flagged.bullet
    assert flagged.flag is not None
    assert "Sở A" in flagged.flag
    assert len(notes) == 1
    assert "Sở B" in notes[0].text


def test_a_units_table_is_kept_as_a_table() -> None:
    rows = [["Tên lớp", "Số học viên"], ["Lớp A", "1.250"]]
    blocks, _ = merge_section(
        "3a", [UnitContribution("A", "Sở A", {"3a": [{"type": "table", "rows": rows}]})]
    )
    assert blocks == [
        TableBlock(
            ("Tên lớp", "Số học viên"), (("Lớp A", "1.250"),), "Bảng số liệu của Sở A", ("Sở A",)
        )
    ]


def test_indicators_sum_list_and_latest_with_vietnamese_numbers() -> None:
    def indicator(code: str, aggregate: Aggregate) -> Indicator:
        return Indicator(code=code, label=code, measure="người", section="3b", aggregate=aggregate)

    def value(raw: str, parsed: str | None, problem: str | None = None) -> dict[str, object]:
        return {"raw": raw, "value": parsed, "problem": problem}

    units = [
        UnitContribution(
            "A",
            "Sở A",
            {},
            {"s": value("212.000", "212000"), "l": value("13.350", "13350"), "t": value("5", "5")},
            received_at=datetime(2024, 6, 20, tzinfo=VN_TZ),
        ),
        UnitContribution(
            "B",
            "Sở B",
            {},
            {
                "s": value("1.000", "1000"),
                "l": value("khoảng", None, "not_a_number"),
                "t": value("7", "7"),
            },
            received_at=datetime(2024, 6, 19, tzinfo=VN_TZ),
        ),
    ]
    table, notes = indicator_table(
        [
            indicator("s", Aggregate.SUM),
            indicator("l", Aggregate.LIST),
            indicator("t", Aggregate.LATEST),
        ],
        units,
    )
    assert table is not None
    assert table.rows == (
        ("1", "s", "người", "213.000", "2 đơn vị"),
        ("2", "l", "người", "13.350", "Sở A"),
        ("3", "t", "người", "5", "Sở A"),  # Sở A's reply came last
    )
    assert [n.text for n in notes] == [
        "Chỉ tiêu “l” của Sở B: “khoảng” không đọc được (not_a_number); không tính vào bảng."
    ]


# --- drafts -----------------------------------------------------------------------------------


def _tokens() -> dict[str, str]:
    with session() as db:
        return {r.unit_code: r.token for r in db.exec(select(DataRequest)).all()}


def _reply(settings: Settings, unit: str, at: datetime, **changes: object) -> None:
    token = _tokens()[unit]
    deliver(
        settings.inbox_maildir,
        reply_with_form(
            token=token,
            sender=reference.unit_spec(unit).emails[0],
            form=reference.filled_form(unit, token, **changes),  # type: ignore[arg-type]
        ),
    )
    collect_mail(at)


def _cycle() -> Cycle:
    with session() as db:
        return db.exec(select(Cycle)).one()


def _draft(settings: Settings, at: datetime = DRAFTED, run: str | None = None) -> ReportVersion:
    with session() as db:
        row, _ = drafts.make_draft(
            db, db.exec(select(Cycle)).one(), now=at, settings=settings, flow_run_id=run
        )
        db.commit()
        return row


def _decide(settings: Settings, draft: ReportVersion, decision: Decision) -> ReportVersion:
    with session() as db:
        cycle = db.exec(select(Cycle)).one()
        row = approval.decide(
            db, cycle, db.get(ReportVersion, draft.id) or draft, decision, settings=settings
        )
        db.commit()
        return row


def test_a_draft_shows_who_wrote_what_and_what_is_missing(settings: Settings) -> None:
    open_reference_cycle()
    _reply(settings, "DPTTH", datetime(2024, 6, 19, 9, tzinfo=VN_TZ))
    _reply(settings, "SNGV", datetime(2024, 6, 24, 9, tzinfo=VN_TZ))  # after the 21/6 deadline
    draft = _draft(settings)

    summary = draft.summary
    assert (summary["counted"], summary["units"]) == (2, 8)
    assert summary["not_replied"] == [
        "Sở Thông tin và Truyền thông",
        "Báo Đồng Nai",
        "Sở Văn hóa, Thể thao và Du lịch",
        "Sở Công Thương",
        "Liên hiệp các tổ chức hữu nghị tỉnh",
        "Sở Kế hoạch và Đầu tư",
    ]
    assert summary["late"] == ["Sở Ngoại vụ"]
    assert summary["empty_sections"] == ["1", "3c", "4"]
    lines = body_lines(draft.docx)
    assert any(line.startswith("- Đơn vị chưa gửi báo cáo (6): Sở Thông tin") for line in lines)
    assert any("Mục 4 trống" in line and "cycle set-text" in line for line in lines)
    comments = zipfile.ZipFile(io.BytesIO(draft.docx)).read("word/comments.xml").decode()
    assert "Đài Phát thanh – Truyền hình Đồng Nai" in comments
    assert "Sở Ngoại vụ" in comments
    assert Path(draft.path or "").read_bytes() == draft.docx
    # DPTTH's figures in 3b's indicator table, Vietnamese-formatted
    table_text = [c.text for t in Document(io.BytesIO(draft.docx)).tables for c in t._cells]
    assert "212.000" in table_text
    assert "13.350" in table_text


def test_a_reply_after_a_draft_goes_into_the_next_draft(settings: Settings) -> None:
    open_reference_cycle()
    _reply(settings, "DPTTH", datetime(2024, 6, 19, 9, tzinfo=VN_TZ))
    first = _draft(settings, run="run-1")
    assert _draft(settings, run="run-1").id == first.id, "a resumed run finds its draft"
    _reply(settings, "BDN", datetime(2024, 7, 1, 10, tzinfo=VN_TZ))
    second = _draft(settings, datetime(2024, 7, 1, 11, tzinfo=VN_TZ), run="run-2")

    assert second.version == first.version + 1
    assert second.summary["counted"] == 2
    assert "Báo Đồng Nai" not in second.summary["not_replied"]
    with session() as db:
        assert db.get(ReportVersion, first.id).status == ReportStatus.SUPERSEDED  # type: ignore[union-attr]
    with pytest.raises(ConsolidationError, match="replaced by draft 2"):
        _decide(settings, first, Decision(approve=True, at=APPROVED))


@pytest.mark.libreoffice
def test_changes_requested_then_a_new_draft_is_approved_once(settings: Settings) -> None:
    open_reference_cycle()
    _reply(settings, "DPTTH", datetime(2024, 6, 19, 9, tzinfo=VN_TZ))
    first = _draft(settings)
    asked = _decide(settings, first, Decision(approve=False, at=APPROVED, comment="Bổ sung mục 4"))
    assert asked.status == ReportStatus.CHANGES_REQUESTED
    assert asked.decision_comment == "Bổ sung mục 4"

    second = _draft(settings, datetime(2024, 7, 4, 9, tzinfo=VN_TZ))
    final = _decide(
        settings, second, Decision(approve=True, at=datetime(2024, 7, 5, 9, tzinfo=VN_TZ))
    )
    again = _decide(
        settings, second, Decision(approve=True, at=datetime(2024, 7, 6, 9, tzinfo=VN_TZ))
    )

    assert again.id == final.id
    with session() as db:
        report = cycle_status(db, db.exec(select(Cycle)).one())["report"]
    assert report["kind"] == "final"
    assert report["number"] == "01/BC-UBND"
    assert report["pdf_path"] == final.pdf_path
    assert final.kind == ReportKind.FINAL
    assert final.number_text == "01/BC-UBND"
    assert "Đồng Nai, ngày 05 tháng 7 năm 2024" in body_lines(final.docx)
    assert final.pdf is not None
    assert final.pdf.startswith(b"%PDF-")
    with session() as db:
        kinds = db.exec(
            select(OutboundMessage.recipients).where(OutboundMessage.kind == "distribution")
        ).all()
        assert db.exec(select(Cycle)).one().status == "closed"
    assert sorted(r[0] for r in kinds) == [
        "bantuyengiao@example.org",
        "lanhdao.ubnd@example.org",
        "sotttt@example.org",
        "vanphong.ubnd@example.org",
    ]


@pytest.mark.libreoffice
def test_an_approval_rerun_after_a_crash_keeps_its_number(settings: Settings) -> None:
    """The number is committed before the final is rendered; a run that died after it reuses
    the number instead of taking the next one."""
    open_reference_cycle()
    draft = _draft(settings)
    with session() as db:
        cycle = db.exec(select(Cycle)).one()
        regime = lookup.regime_of(db, cycle)
        issue_number(db, cycle, regime, on=APPROVED.date(), at=APPROVED)
        db.commit()  # … and the process dies here
    final = _decide(settings, draft, Decision(approve=True, at=APPROVED))
    assert final.number_text == "01/BC-UBND"
    with session() as db:
        assert len(db.exec(select(IssuedNumber)).all()) == 1


# --- numbering --------------------------------------------------------------------------------


def _open(period: str) -> Cycle:
    with session() as db:
        opened = opening.open_cycle(
            db,
            loaded=load_regime(REFERENCE_REGIME),
            period_code=period,
            request=None,
            now=datetime(2024, 6, 17, 8, tzinfo=VN_TZ),
        )
        db.commit()
        return db.get(Cycle, opened.cycle_id)  # type: ignore[return-value]


def _number(cycle: Cycle, on: date) -> str:
    with session() as db:
        found = db.get(Cycle, cycle.id)
        assert found is not None
        issued = issue_number(db, found, lookup.regime_of(db, found), on=on, at=APPROVED)
        db.commit()
        return issued.text


def test_numbers_follow_each_other_per_issuer_and_restart_each_year(settings: Settings) -> None:
    h1, h2, next_h1 = _open("2024-H1"), _open("2024-H2"), _open("2025-H1")
    assert _number(h1, date(2024, 7, 3)) == "01/BC-UBND"
    assert _number(h1, date(2024, 7, 4)) == "01/BC-UBND", "once per cycle"
    with session() as db:
        set_counter(db, load_regime(REFERENCE_REGIME).regime, year=2024, last=11, at=APPROVED)
        db.commit()
    assert _number(h2, date(2024, 12, 30)) == "12/BC-UBND"
    assert _number(next_h1, date(2025, 1, 2)) == "01/BC-UBND"
    with session() as db:
        years = db.exec(select(IssuedNumber.year).order_by(col(IssuedNumber.id))).all()
    assert years == [2024, 2024, 2025]


# --- the secretariat's texts ------------------------------------------------------------------


def test_section_text_from_a_file_is_nfc_with_bullets(settings: Settings, tmp_path: Path) -> None:
    open_reference_cycle()
    text = tmp_path / "muc-4.txt"
    text.write_text(
        unicodedata.normalize("NFD", "- Tiếp tục thanh tra.\n\n  - Duy trì giao ban.  \n"),
        encoding="utf-8",
    )
    paragraphs = read_text_file(text)
    assert paragraphs == ["- Tiếp tục thanh tra.", "- Duy trì giao ban."]
    with session() as db:
        set_text(db, _cycle(), "4", paragraphs, source_name="muc-4.txt", now=DRAFTED)
        db.commit()
    draft = _draft(settings)
    assert "4" not in draft.summary["empty_sections"]
    lines = body_lines(draft.docx)
    heading = lines.index("4. Phương hướng, nhiệm vụ 6 tháng cuối năm 2024")
    assert lines[heading + 1 : heading + 3] == paragraphs


def test_section_text_problems_say_what_to_do(settings: Settings, tmp_path: Path) -> None:
    open_reference_cycle()
    legacy = tmp_path / "muc-1.txt"
    legacy.write_bytes("Báo cáo".encode("latin-1"))  # a Windows-1252 file
    with pytest.raises(ConsolidationError, match="save it as UTF-8"):
        read_text_file(legacy)
    with (
        pytest.raises(ConsolidationError, match="use one of: 1, 2, 3a, 3b, 3c, 4"),
        session() as db,
    ):
        set_text(db, _cycle(), "3", ["x"], source_name="x.txt", now=DRAFTED)
    empty = tmp_path / "empty.txt"
    empty.write_text("\n  \n", encoding="utf-8")
    with pytest.raises(ConsolidationError, match="no text"):
        read_text_file(empty)


# --- a secretariat section from its lead unit (pure) ----------------------------------------


def _gathered(contributions: list[UnitContribution], texts: dict[str, list[str]]) -> Gathered:
    regime = load_regime(REFERENCE_REGIME).regime
    first = regime.sections[0].model_copy(update={"lead_unit": "SNGV"})
    cycle = Cycle(
        code="dong-nai-ttdn-6-thang-2024-H1",
        regime_id=1,
        period_code="2024-H1",
        window_start=date(2023, 12, 15),
        window_end=date(2024, 6, 14),
        deadline=date(2024, 6, 21),
        regime_sha256="x",
    )
    return Gathered(
        cycle=cycle,
        regime=regime.model_copy(update={"sections": (first, *regime.sections[1:])}),
        units=8,
        contributions=tuple(contributions),
        not_replied=(),
        not_counted=(),
        late=(),
        texts=texts,
        text_sources=dict.fromkeys(texts, "boi-canh.txt"),
    )


def test_a_secretariat_section_falls_back_to_its_lead_units_text() -> None:
    sngv = UnitContribution("SNGV", "Sở Ngoại vụ", {"1": [_para("Bối cảnh do Sở Ngoại vụ viết.")]})

    ctx, _ = build_report_context(_gathered([sngv], {}))
    (first,) = [s for s in ctx.sections if s.code == "1"]
    assert first.blocks == (Para("Bối cảnh do Sở Ngoại vụ viết.", sources=("Sở Ngoại vụ",)),)

    ctx, _ = build_report_context(_gathered([sngv], {"1": ["Văn phòng viết."]}))
    (first,) = [s for s in ctx.sections if s.code == "1"]
    assert [b.text for b in first.blocks if isinstance(b, Para)] == ["Văn phòng viết."]

    ctx, summary = build_report_context(_gathered([], {}))
    (first,) = [s for s in ctx.sections if s.code == "1"]
    assert first.empty_note is not None
    assert "hoặc chờ Sở Ngoại vụ gửi" in first.empty_note
    assert "1" in summary["empty_sections"]  # type: ignore[operator]


def test_a_bad_edited_file_takes_no_number_and_leaves_the_draft_awaiting(
    settings: Settings, tmp_path: Path
) -> None:
    open_reference_cycle()
    draft = _draft(settings)
    bad = tmp_path / "da-sua.docx"
    document = Document(io.BytesIO(draft.docx))
    for cell in document.tables[0]._cells:
        for paragraph in cell.paragraphs:
            if ", ngày" in paragraph.text:
                paragraph._p.getparent().remove(paragraph._p)
    document.save(str(bad))
    with pytest.raises(ConsolidationError, match=r"da-sua.docx: Không tìm thấy dòng địa danh"):
        _decide(settings, draft, Decision(approve=True, at=APPROVED, edited=bad))
    with session() as db:
        assert db.exec(select(IssuedNumber)).all() == []
        assert db.get(ReportVersion, draft.id).status == ReportStatus.AWAITING  # type: ignore[union-attr]


def test_a_draft_made_in_the_new_year_is_dated_in_the_new_year(settings: Settings) -> None:
    open_reference_cycle()  # the window ends on 14/6/2024
    draft = _draft(settings, datetime(2025, 2, 10, 9, tzinfo=VN_TZ))
    lines = body_lines(draft.docx)
    assert any(line.startswith("Đồng Nai, ngày") and line.endswith("năm 2025") for line in lines)
    assert not any(line.startswith("Đồng Nai, ngày") and "2024" in line for line in lines)
