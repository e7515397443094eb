"""Flow `open-cycle` end to end: real forms, real SMTP (the embedded server), real database."""

from __future__ import annotations

import io
import re
from datetime import date, datetime
from pathlib import Path

import docx
import pytest
from sqlmodel import col, select

from flows.open_cycle import OpenCycleResult, open_cycle
from models.db import session
from models.settings import Settings
from models.tables import AuditEvent, Cycle, DataRequest, OutboundMessage
from reportcycle.clock import VN_TZ
from reportcycle.cycle import opening
from reportcycle.documents import form_read
from reportcycle.regime.loading import load_regime
from reportcycle.superior_request import SuperiorRequest
from tests.conftest import REFERENCE_REGIME
from tests.factories import attachments, maildir_messages

OPENED_AT = datetime(2024, 6, 17, 8, 0, tzinfo=VN_TZ)
REQUEST = SuperiorRequest(
    ref="2608/CV/BTGTU", date=date(2024, 6, 10), sender="Ban Tuyên giáo Tỉnh ủy"
)
CODE = "dong-nai-ttdn-6-thang-2024-H1"


def _open(now: datetime = OPENED_AT) -> OpenCycleResult:
    return open_cycle(str(REFERENCE_REGIME), "2024-H1", REQUEST, now)


def test_opening_the_reference_cycle_emails_each_unit_its_own_form(
    settings: Settings, prefect: str
) -> None:
    result = _open()
    regime = load_regime(REFERENCE_REGIME).regime
    assert result.created
    assert result.queued == len(regime.units) == result.sent

    sent = maildir_messages(settings.sent_maildir)
    assert len(sent) == len(regime.units)
    with session() as db:
        cycle = db.exec(select(Cycle).where(Cycle.code == CODE)).one()
        assert (cycle.window_start, cycle.window_end) == (date(2023, 12, 15), date(2024, 6, 14))
        assert cycle.deadline == date(2024, 6, 21)  # 5 working days after Friday 14/6
        requests = {r.unit_code: r for r in db.exec(select(DataRequest)).all()}
        stored_ids = {m.message_id for m in db.exec(select(OutboundMessage)).all()}
    by_unit = {}
    for message in sent:
        assert message["Message-ID"] in stored_ids
        (token,) = re.findall(r"\[RC-([a-z2-7]+)\]", message["Subject"])
        unit = next(r for r in requests.values() if r.token == token)
        by_unit[unit.unit_code] = message
    assert set(by_unit) == {u.code for u in regime.units}

    message, request = by_unit["DPTTH"], requests["DPTTH"]
    assert message["To"].addresses[0].addr_spec == "dptth@example.org"
    assert message["Reply-To"].addresses[0].addr_spec == f"baocao+{request.token}@example.org"
    assert message.get_body(("plain",)) is not None
    assert message.get_body(("html",)) is not None
    body = message.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    assert "văn bản số 2608/CV/BTGTU ngày 10/6/2024 của Ban Tuyên giáo Tỉnh ủy" in text
    assert "Hạn gửi: ngày 21 tháng 6 năm 2024" in text
    ((filename, form),) = attachments(message)
    assert (
        filename
        == "Phiếu cung cấp thông tin - Đài Phát thanh – Truyền hình Đồng Nai - 2024-H1.docx"
    )
    assert filename == request.form_filename

    parsed = form_read.read_form(form)
    assert parsed.token == request.token
    assert set(parsed.sections) == {"3b"}
    assert set(parsed.indicators) == {
        "trang_mxh",
        "nguoi_theo_doi_facebook",
        "nguoi_dang_ky_youtube",
    }
    document_text = "\n".join(p.text for p in docx.Document(io.BytesIO(form)).paragraphs)
    assert "ngày 21 tháng 6 năm 2024" in document_text


@pytest.mark.slow
def test_opening_the_same_period_again_creates_and_sends_nothing(
    settings: Settings, prefect: str
) -> None:
    _open()
    again = _open(datetime(2024, 6, 18, 9, 0, tzinfo=VN_TZ))
    assert not again.created
    assert again.queued == 0
    assert again.sent == 0
    assert len(maildir_messages(settings.sent_maildir)) == 8
    with session() as db:
        assert len(db.exec(select(Cycle)).all()) == 1
        assert len(db.exec(select(OutboundMessage)).all()) == 8


def test_a_run_that_died_after_creating_requests_is_finished_by_the_next(
    settings: Settings, prefect: str
) -> None:
    loaded = load_regime(REFERENCE_REGIME)
    with session() as db:  # what a run killed right after its first task leaves behind
        opening.open_cycle(db, loaded=loaded, period_code="2024-H1", request=REQUEST, now=OPENED_AT)
        db.commit()
    result = _open()
    assert not result.created
    assert result.queued == 8
    assert result.sent == 8
    assert len(maildir_messages(settings.sent_maildir)) == 8


def test_every_state_change_is_audited(settings: Settings, prefect: str) -> None:
    _open()
    with session() as db:
        actions = [e.action for e in db.exec(select(AuditEvent).order_by(col(AuditEvent.id))).all()]
    assert actions[:2] == ["regime.loaded", "cycle.opened"]
    for action in ("request.created", "request.queued", "message.sent", "request.sent"):
        assert actions.count(action) == 8, action


def test_a_period_of_the_wrong_kind_is_refused_with_an_example(
    settings: Settings, prefect: str
) -> None:
    with pytest.raises(ValueError, match=r"2024-Q3 is a quarter period .* like 2024-H1"):
        open_cycle(str(REFERENCE_REGIME), "2024-Q3", None, OPENED_AT)


@pytest.mark.slow
def test_renamed_unit_keeps_its_old_name_on_earlier_requests(
    settings: Settings, prefect: str, tmp_path: Path
) -> None:
    _open()
    renamed = tmp_path / "regime.yaml"
    renamed.write_text(
        REFERENCE_REGIME.read_text(encoding="utf-8").replace(
            "name: Sở Kế hoạch và Đầu tư", "name: Sở Tài chính"
        ),
        encoding="utf-8",
    )
    open_cycle(str(renamed), "2024-H2", None, datetime(2024, 12, 16, 8, tzinfo=VN_TZ))
    with session() as db:
        names = {
            (c.period_code, r.unit_name)
            for r, c in db.exec(
                select(DataRequest, Cycle).join(Cycle).where(DataRequest.unit_code == "SKHDT")
            ).all()
        }
    assert names == {("2024-H1", "Sở Kế hoạch và Đầu tư"), ("2024-H2", "Sở Tài chính")}
