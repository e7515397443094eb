"""Units that change between cycles: the 2024 reference cycle, then the 2025 one after the
reorganisation (tests/fixtures/lineage.py). History stays as it was; the new requests go to
the new units; the comparison follows the lineage. Real forms, mail and collection."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlmodel import col, select

from models.db import AuditEvent, session
from models.settings import Settings
from models.tables import Cycle, DataRequest, Unit
from reportcycle.clock import VN_TZ
from reportcycle.cycle import opening, request_emails
from reportcycle.cycle.history import compare_cycles
from reportcycle.cycle.status import cycle_status
from reportcycle.documents.form_fill import fill_form
from reportcycle.inbox.collect import collect_mail
from reportcycle.outbox.sending import send_outbox
from reportcycle.regime.loading import load_regime
from reportcycle.superior_request import SuperiorRequest
from tests.factories import (
    attachments,
    deliver,
    maildir_messages,
    open_reference_cycle,
    reply_with_form,
    run_cli,
)
from tests.fixtures.lineage import regime_2025_data, write_regime
from tests.report.test_consolidate import _reply

OLD, NEW = "dong-nai-ttdn-6-thang-2024-H1", "dong-nai-ttdn-6-thang-2025-H1"
OPENED_2025 = datetime(2025, 6, 16, 8, tzinfo=VN_TZ)


def _open_2025(tmp_path: Path) -> int:
    loaded = load_regime(write_regime(tmp_path / "dong-nai-2025.yaml", regime_2025_data()))
    request = SuperiorRequest(ref="15/CV-BTG", date=date(2025, 6, 9), sender="Ban Tuyên giáo")
    with session() as db:
        opened = opening.open_cycle(
            db, loaded=loaded, period_code="2025-H1", request=request, now=OPENED_2025
        )
        request_emails.queue_request_emails(
            db, cycle_id=opened.cycle_id, now=OPENED_2025, settings=Settings()
        )
        db.commit()
    send_outbox(OPENED_2025, opened.cycle_id)
    return opened.cycle_id


def _answer_2025(
    settings: Settings, address: str, sections: list[str], indicators: dict[str, str]
) -> None:
    """The unit fills the form its request email carried and replies."""
    message = next(m for m in maildir_messages(settings.sent_maildir) if address in m["To"])
    ((_, form),) = [a for a in attachments(message) if a[0].endswith(".docx")]
    token = message["Reply-To"].split("+")[1].split("@")[0]
    text = ["Đơn vị đã đăng tải 12 tin bài đối ngoại."]
    filled = fill_form(form, sections=dict.fromkeys(sections, text), indicators=indicators)
    deliver(settings.inbox_maildir, reply_with_form(token=token, sender=address, form=filled))
    collect_mail(datetime(2025, 6, 20, 9, tzinfo=VN_TZ))


def _two_cycles(settings: Settings, tmp_path: Path) -> None:
    open_reference_cycle()
    for unit in ("DPTTH", "BDN", "STTTT", "SKHDT", "SNGV"):
        _reply(settings, unit, datetime(2024, 6, 19, 9, tzinfo=VN_TZ))
    _open_2025(tmp_path)
    _answer_2025(
        settings,
        "baodongnai.ptth@example.org",
        ["3b"],
        {
            "trang_mxh": "07",
            "nguoi_theo_doi_facebook": "230.500",
            "nguoi_dang_ky_youtube": "15.000",
        },
    )
    _answer_2025(
        settings,
        "sokhcn@example.org",
        ["2", "3b", "3c"],
        {"giao_ban_bao_chi": "04", "lop_tap_huan": "02"},
    )


def _status(code: str) -> dict[str, object]:
    with session() as db:
        return cycle_status(db, db.exec(select(Cycle).where(Cycle.code == code)).one())


def test_the_new_cycle_asks_the_new_units_and_the_old_one_keeps_its_names(
    settings: Settings, tmp_path: Path
) -> None:
    _two_cycles(settings, tmp_path)

    new = {u["unit"]: u for u in _status(NEW)["units"]}  # type: ignore[attr-defined]
    assert list(new) == ["BPTTH", "SKHCN", "STC", "SDTTG", "SVHTTDL", "SCT", "LHHN"]
    assert new["BPTTH"]["request"]["to"] == ["baodongnai.ptth@example.org"]
    assert new["LHHN"]["name"] == "Liên hiệp các tổ chức hữu nghị tỉnh Đồng Nai"
    assert new["BPTTH"]["reply"]["outcome"] == "accepted"
    old = {u["unit"]: u for u in _status(OLD)["units"]}  # type: ignore[attr-defined]
    assert list(old) == ["SNGV", "STTTT", "DPTTH", "BDN", "SVHTTDL", "SCT", "LHHN", "SKHDT"]
    assert old["BDN"]["name"] == "Báo Đồng Nai"
    assert old["LHHN"]["name"] == "Liên hiệp các tổ chức hữu nghị tỉnh"
    assert old["SKHDT"]["name"] == "Sở Kế hoạch và Đầu tư"

    with session() as db:
        units = {u.code: u for u in db.exec(select(Unit)).all()}
        events = db.exec(
            select(AuditEvent.action, AuditEvent.details)
            .where(col(AuditEvent.action).in_(["unit.replaced", "unit.dissolved"]))
            .order_by(col(AuditEvent.id))
        ).all()
        old_requests = db.exec(
            select(DataRequest.unit_id).where(DataRequest.unit_code == "DPTTH")
        ).all()
    successors = {c: units[c].successor_id for c in ("DPTTH", "BDN", "STTTT", "SKHDT")}
    assert successors == {
        "DPTTH": units["BPTTH"].id,
        "BDN": units["BPTTH"].id,
        "STTTT": units["SKHCN"].id,
        "SKHDT": units["STC"].id,
    }
    assert not units["SNGV"].active
    assert units["SNGV"].successor_id is None
    assert units["SNGV"].ended_at is not None
    assert units["BPTTH"].active
    assert units["SCT"].active
    assert old_requests == [units["DPTTH"].id], "the old unit's row is kept for its history"
    assert [(a, d["code"], d["successor"]) for a, d in events] == [
        ("unit.replaced", "DPTTH", "BPTTH"),
        ("unit.replaced", "BDN", "BPTTH"),
        ("unit.replaced", "STTTT", "SKHCN"),
        ("unit.replaced", "SKHDT", "STC"),
        ("unit.dissolved", "SNGV", None),
    ]


def test_the_comparison_follows_the_lineage(settings: Settings, tmp_path: Path) -> None:
    _two_cycles(settings, tmp_path)
    with session() as db:
        new = db.exec(select(Cycle).where(Cycle.code == NEW)).one()
        old = db.exec(select(Cycle).where(Cycle.code == OLD)).one()
        data = compare_cycles(db, new, old)

    lines = {line["unit"]: line for line in data["units"]}
    merged = lines["BPTTH"]
    assert merged["earlier"] == [
        {"unit": "DPTTH", "name": "Đài Phát thanh – Truyền hình Đồng Nai", "counted": True},
        {"unit": "BDN", "name": "Báo Đồng Nai", "counted": True},
    ]
    assert merged["earlier_counted"] is True
    assert merged["indicators"]["trang_mxh"] == {"value": 7, "earlier": 8}  # 05 + 03 then
    assert merged["indicators"]["nguoi_theo_doi_facebook"] == {"value": 230500, "earlier": 212000}
    assert lines["SKHCN"]["earlier"] == [
        {"unit": "STTTT", "name": "Sở Thông tin và Truyền thông", "counted": True}
    ]
    assert lines["SKHCN"]["indicators"]["giao_ban_bao_chi"] == {"value": 4, "earlier": 6}
    assert lines["STC"]["earlier"] == [
        {"unit": "SKHDT", "name": "Sở Kế hoạch và Đầu tư", "counted": True}
    ]
    assert (lines["STC"]["counted"], lines["STC"]["earlier_counted"]) == (False, True)
    assert lines["SDTTG"]["earlier"] == [], "a new unit has no history"
    assert lines["LHHN"]["earlier"] == [
        {"unit": "LHHN", "name": "Liên hiệp các tổ chức hữu nghị tỉnh", "counted": False}
    ]
    assert data["ended"] == [{"unit": "SNGV", "name": "Sở Ngoại vụ", "counted": True}]
    assert data["totals"] == {
        "units": 7,
        "counted": 2,
        "reporting_rate": 0.2857,
        "earlier_units": 8,
        "earlier_counted": 5,
        "earlier_reporting_rate": 0.625,
        "with_history": 6,  # all but SDTTG
        "earlier_rate_of_today_units": 0.5,  # BPTTH, SKHCN, STC of the six
    }


@pytest.mark.slow  # subprocesses
def test_status_compare_on_the_command_line(settings: Settings, tmp_path: Path) -> None:
    _two_cycles(settings, tmp_path)
    with session() as db:
        new = db.exec(select(Cycle).where(Cycle.code == NEW)).one()
        old = db.exec(select(Cycle).where(Cycle.code == OLD)).one()
        data = compare_cycles(db, new, old)
    done = run_cli("status", NEW, "--compare", OLD, "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == json.loads(json.dumps(data))
    text = run_cli("status", NEW, "--compare", OLD)
    assert "DPTTH (Đài Phát thanh – Truyền hình Đồng Nai), BDN (Báo Đồng Nai)" in text.stdout
    assert "đã thôi hoạt động: SNGV (Sở Ngoại vụ)" in text.stdout
    assert "tỷ lệ báo cáo kỳ này 29%, kỳ" in text.stdout
