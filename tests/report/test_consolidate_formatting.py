"""Through the real inbox: a unit's italics reach the final report, and the draft says, section
by section, whose part is missing."""

from __future__ import annotations

import io
from datetime import datetime

import docx
import pytest
from docx.document import Document
from docx.text.paragraph import Paragraph
from sqlmodel import select

from models.db import session
from models.inbound import Submission
from models.settings import Settings
from models.tables import Cycle, DataRequest
from reportcycle.clock import VN_TZ
from reportcycle.inbox.collect import collect_mail
from reportcycle.report import approval, drafts
from reportcycle.report.approval import Decision
from tests.factories import deliver, open_reference_cycle, reply_with_form
from tests.fixtures import reference

TITLE = "Việt Nam và thế giới"
DRAFTED = datetime(2024, 7, 1, 9, tzinfo=VN_TZ)


def _reply(settings: Settings, unit: str, form: bytes, token: str) -> None:
    sender = reference.unit_spec(unit).emails[0]
    deliver(settings.inbox_maildir, reply_with_form(token=token, sender=sender, form=form))
    collect_mail(datetime(2024, 6, 19, 9, tzinfo=VN_TZ))


def _tokens() -> dict[str, str]:
    with session() as db:
        return {r.unit_code: r.token for r in db.exec(select(DataRequest)).all()}


def _with(document: Document, text: str) -> Paragraph:
    found = [p for p in document.paragraphs if text in p.text]
    assert len(found) == 1, f"{text!r} in {len(found)} paragraphs"
    return found[0]


def _draft(settings: Settings) -> bytes:
    with session() as db:
        row, _ = drafts.make_draft(
            db, db.exec(select(Cycle)).one(), now=DRAFTED, settings=settings, flow_run_id=None
        )
        db.commit()
        return row.docx


def test_draft_names_the_units_whose_part_is_missing_in_each_section(settings: Settings) -> None:
    open_reference_cycle()
    token = _tokens()["DPTTH"]
    _reply(settings, "DPTTH", reference.filled_form("DPTTH", token), token)
    document = docx.Document(io.BytesIO(_draft(settings)))
    lines = [p.text for p in document.paragraphs]

    def note_after(heading: str) -> str:
        start = next(i for i, line in enumerate(lines) if line.startswith(heading))
        end = next(i for i, line in enumerate(lines[start + 1 :], start + 1) if ")" in line[:3])
        notes = [line for line in lines[start:end] if line.startswith("[Còn thiếu phần của:")]
        assert len(notes) == 1, lines[start:end]
        return notes[0]

    b = note_after("b) ")  # 3b: DPTTH replied, seven assigned units did not
    assert "Đài Phát thanh" not in b
    for unit in ("Sở Ngoại vụ", "Sở Thông tin và Truyền thông", "Báo Đồng Nai", "Sở Công Thương"):
        assert f"{unit} (chưa gửi báo cáo)" in b
    a = note_after("a) ")  # 3a is Sở Ngoại vụ's alone
    assert a == "[Còn thiếu phần của: Sở Ngoại vụ (chưa gửi báo cáo)]"


@pytest.mark.libreoffice
def test_a_units_italic_title_stays_italic_in_the_final(settings: Settings) -> None:
    open_reference_cycle()
    token = _tokens()["DPTTH"]
    form = reference.filled_form("DPTTH", token)  # the titles italic, as the unit typed them
    typed = docx.Document(io.BytesIO(form))
    typed_runs = [r for t in typed.tables for c in t._cells for p in c.paragraphs for r in p.runs]
    assert any(r.italic and r.text == TITLE for r in typed_runs)
    _reply(settings, "DPTTH", form, token)
    with session() as db:
        stored = db.exec(select(Submission)).one().sections
    spans = [s for blocks in stored.values() for b in blocks for s in b.get("spans", ())]
    assert [TITLE, "i"] in spans

    draft_docx = _draft(settings)
    draft_runs = _with(docx.Document(io.BytesIO(draft_docx)), TITLE).runs
    assert [r.text for r in draft_runs if r.italic][:2] == [TITLE, "Thế giới đa chiều"]
    with session() as db:
        cycle = db.exec(select(Cycle)).one()
        draft = drafts.latest_draft(db, cycle)
        assert draft is not None
        final = approval.decide(
            db, cycle, draft, Decision(approve=True, at=DRAFTED), settings=settings
        )
        db.commit()
        final_docx = final.docx
    paragraph = _with(docx.Document(io.BytesIO(final_docx)), TITLE)
    italic = [r.text for r in paragraph.runs if r.italic]
    assert italic == list(reference.ITALIC_TITLES[:10])  # the titles in that paragraph
    plain = "".join(r.text for r in paragraph.runs if not r.italic)
    assert "Tiết mục “" in plain
    assert "” phát sóng 18h00" in plain
    # the reference regime says `report: {indicator_tables_in_final: false}`
    stt = [t for t in docx.Document(io.BytesIO(draft_docx)).tables if t.cell(0, 0).text == "STT"]
    assert stt, "the draft keeps the indicator tables"
    final_tables = docx.Document(io.BytesIO(final_docx)).tables
    assert not [t for t in final_tables if t.cell(0, 0).text == "STT"]
    assert "Còn thiếu" not in "".join(
        p.text for p in docx.Document(io.BytesIO(final_docx)).paragraphs
    )
