"""Three levels (tests/fixtures/rollup/): Xã Tân An's three hamlets → Huyện Vĩnh Cửu's three
communes → the province's two districts. Each lower report, once approved, is its body's
contribution to the level above, with no email; real forms, mail, drafts and finals."""

from __future__ import annotations

import io
import zipfile
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select

from models.db import session
from models.inbound import Submission
from models.report import ReportVersion
from models.settings import Settings
from models.tables import Cycle, DataRequest
from reportcycle.clock import VN_TZ
from reportcycle.cycle import opening, request_emails
from reportcycle.cycle.status import cycle_status
from reportcycle.documents.form_fill import fill_form
from reportcycle.inbox.collect import collect_mail
from reportcycle.outbox.sending import send_outbox
from reportcycle.regime.loading import RegimeError, load_regime
from reportcycle.report import approval, drafts
from reportcycle.report.approval import Decision
from reportcycle.report.texts import set_text
from tests.factories import attachments, deliver, maildir_messages, reply_with_form, run_cli
from tests.report.test_consolidate_reference import body_lines

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "rollup"
OPENED = datetime(2024, 6, 17, 8, tzinfo=VN_TZ)
PROVINCE, DISTRICT, COMMUNE = (
    "tinh-dn-rollup-2024-H1",
    "huyen-vc-rollup-2024-H1",
    "xa-ta-rollup-2024-H1",
)


def _vn(day: int, hour: int) -> datetime:
    return datetime(2024, 6, day, hour, tzinfo=VN_TZ)


def _open(path: Path) -> Cycle:
    with session() as db:
        opened = opening.open_cycle(
            db, loaded=load_regime(path), period_code="2024-H1", request=None, now=OPENED
        )
        request_emails.queue_request_emails(
            db, cycle_id=opened.cycle_id, now=OPENED, settings=Settings()
        )
        db.commit()
    send_outbox(OPENED, opened.cycle_id)
    with session() as db:
        return db.get(Cycle, opened.cycle_id)  # type: ignore[return-value]


def _answer(
    settings: Settings, address: str, text: str, tin_bai: str, hoi_nghi: str, at: datetime
) -> None:
    """The unit fills the form of its request email and replies; the inbox is collected."""
    message = next(m for m in maildir_messages(settings.sent_maildir) if address in m["To"])
    ((_, form),) = [a for a in attachments(message) if a[0].endswith(".docx")]
    token = message["Reply-To"].split("+")[1].split("@")[0]
    filled = fill_form(
        form, sections={"2": [text]}, indicators={"tin_bai": tin_bai, "hoi_nghi": hoi_nghi}
    )
    deliver(settings.inbox_maildir, reply_with_form(token=token, sender=address, form=filled))
    collect_mail(at)


def _cycle(db: Session, code: str) -> Cycle:
    return db.exec(select(Cycle).where(Cycle.code == code)).one()


def _draft(settings: Settings, code: str, at: datetime) -> ReportVersion:
    with session() as db:
        row, _ = drafts.make_draft(
            db, _cycle(db, code), now=at, settings=settings, flow_run_id=None
        )
        db.commit()
        return row


def _decide(
    settings: Settings, code: str, draft: ReportVersion, decision: Decision
) -> ReportVersion:
    with session() as db:
        row = approval.decide(
            db,
            _cycle(db, code),
            db.get(ReportVersion, draft.id) or draft,
            decision,
            settings=settings,
        )
        db.commit()
        return row


def _status(code: str) -> dict[str, Any]:
    with session() as db:
        return cycle_status(db, _cycle(db, code))


def _three_levels(settings: Settings) -> None:
    _open(FIXTURES / "tinh.yaml")
    _open(FIXTURES / "huyen.yaml")
    _open(FIXTURES / "xa.yaml")
    # the hamlets answer the commune; Ấp 1 corrects its first reply
    _answer(
        settings,
        "ap1.tanan@example.org",
        "Ấp 1 tổ chức tuyên truyền (bản đầu).",
        "5",
        "1",
        _vn(18, 9),
    )
    _answer(
        settings,
        "ap1.tanan@example.org",
        "Ấp 1 tổ chức 2 buổi tuyên truyền về biển, đảo.",
        "6",
        "1",
        _vn(19, 9),
    )
    _answer(
        settings,
        "ap2.tanan@example.org",
        "Ấp 2 đăng 4 tin trên loa truyền thanh.",
        "4",
        "1",
        _vn(19, 10),
    )
    _answer(
        settings, "ap3.tanan@example.org", "Ấp 3 phát tờ rơi cho các hộ dân.", "3", "0", _vn(20, 9)
    )
    # the other communes answer the district, the other district the province
    _answer(
        settings,
        "ubnd.binhloi@example.org",
        "Xã Bình Lợi phối hợp với Đồn Biên phòng.",
        "10",
        "2",
        _vn(21, 9),
    )
    _answer(
        settings,
        "ubnd.thientan@example.org",
        "Xã Thiện Tân tổ chức hội nghị báo cáo viên.",
        "7",
        "1",
        _vn(21, 10),
    )
    _answer(
        settings,
        "ubnd.trangbom@example.org",
        "Huyện Trảng Bom đăng 20 tin, bài.",
        "20",
        "3",
        _vn(24, 9),
    )

    # the commune's first draft goes back; the second, with its own text, is approved late
    first = _draft(settings, COMMUNE, _vn(21, 14))
    _decide(
        settings, COMMUNE, first, Decision(approve=False, at=_vn(21, 16), comment="Bổ sung mục 1")
    )
    with session() as db:
        set_text(
            db,
            _cycle(db, COMMUNE),
            "1",
            ["Xã Tân An có 3 ấp, 2.150 hộ dân."],
            source_name="Văn phòng xã",
            now=_vn(24, 8),
        )
        db.commit()
    second = _draft(settings, COMMUNE, _vn(24, 9))
    _decide(settings, COMMUNE, second, Decision(approve=True, at=_vn(25, 8)))
    district = _draft(settings, DISTRICT, _vn(25, 9))
    _decide(settings, DISTRICT, district, Decision(approve=True, at=_vn(25, 10)))


@pytest.mark.libreoffice
def test_three_levels_roll_up_to_the_province_report(settings: Settings) -> None:
    _three_levels(settings)
    with session() as db:
        deadlines = {code: _cycle(db, code).deadline for code in (PROVINCE, DISTRICT, COMMUNE)}
    # one cutoff: the province's deadline, 2 working days earlier at each level down
    assert deadlines == {
        PROVINCE: date(2024, 6, 26),
        DISTRICT: date(2024, 6, 24),
        COMMUNE: date(2024, 6, 20),
    }

    district = {u["unit"]: u for u in _status(DISTRICT)["units"]}
    tan_an = district["X_TA"]["reply"]
    assert tan_an["counted_version"] == 1
    assert tan_an["late"] is True, "approved on 25/6, after the district's deadline of 24/6"
    with session() as db:
        up = db.exec(
            select(Submission).where(Submission.kind == "rollup").order_by(Submission.id)
        ).all()
        requests = {r.id: r.unit_code for r in db.exec(select(DataRequest)).all()}
    assert [(requests[s.request_id], s.late) for s in up] == [("X_TA", True), ("H_VC", False)]
    assert up[0].indicators["tin_bai"]["value"] == "13"  # 6 (corrected) + 4 + 3
    assert up[1].indicators["tin_bai"]["value"] == "30"  # 13 + 10 + 7
    assert up[1].indicators["hoi_nghi"]["value"] == "5"  # (1 + 1 + 0) + 2 + 1
    assert [b["text"] for b in up[0].sections["2"]] == [  # section 1 mapped to the district's 2
        "Xã Tân An có 3 ấp, 2.150 hộ dân.",
        "Ấp 1 tổ chức 2 buổi tuyên truyền về biển, đảo.",
        "Ấp 2 đăng 4 tin trên loa truyền thanh.",
        "Ấp 3 phát tờ rơi cho các hộ dân.",
    ]

    top = _draft(settings, PROVINCE, _vn(26, 9))
    assert (top.summary["counted"], top.summary["units"]) == (2, 2)
    lines = body_lines(top.docx)
    for text in (
        "Xã Tân An có 3 ấp, 2.150 hộ dân.",
        "Ấp 1 tổ chức 2 buổi tuyên truyền về biển, đảo.",
        "Ấp 2 đăng 4 tin trên loa truyền thanh.",
        "Xã Bình Lợi phối hợp với Đồn Biên phòng.",
        "Huyện Trảng Bom đăng 20 tin, bài.",
    ):
        assert text in lines
    assert not any("bản đầu" in line for line in lines), "Ấp 1's first version was replaced"
    from docx import Document

    cells = [
        [c.text for c in row.cells] for t in Document(io.BytesIO(top.docx)).tables for row in t.rows
    ]
    assert ["1", "Số tin, bài thông tin đối ngoại", "tin, bài", "50", "2 đơn vị"] in cells
    assert ["2", "Số hội nghị, tập huấn", "cuộc", "8", "2 đơn vị"] in cells
    comments = zipfile.ZipFile(io.BytesIO(top.docx)).read("word/comments.xml").decode()
    assert "UBND huyện Vĩnh Cửu" in comments, "the district's texts are attributed to it"

    children = _status(PROVINCE)["children"]
    assert [(c["unit"], c["cycle"], c["status"]) for c in children] == [
        ("H_VC", DISTRICT, "closed")
    ]
    (child,) = children
    assert child["totals"] == {"units": 3, "counted": 3, "late": 1, "reporting_rate": 1.0}
    assert (child["report"]["kind"], child["report"]["number"]) == ("final", "01/BC-UBND")
    (grandchild,) = child["children"]
    assert (grandchild["unit"], grandchild["cycle"]) == ("X_TA", COMMUNE)
    assert grandchild["totals"]["counted"] == 3


@pytest.mark.libreoffice
def test_approving_again_adds_no_second_contribution(settings: Settings) -> None:
    _three_levels(settings)
    with session() as db:
        final = db.exec(
            select(ReportVersion).where(
                ReportVersion.cycle_id == _cycle(db, COMMUNE).id, ReportVersion.kind == "final"
            )
        ).one()
        draft = db.get(ReportVersion, final.based_on_id)
    assert draft is not None
    again = _decide(settings, COMMUNE, draft, Decision(approve=True, at=_vn(25, 12)))
    assert again.id == final.id
    with session() as db:
        assert len(db.exec(select(Submission).where(Submission.kind == "rollup")).all()) == 2


def test_a_parent_regime_that_does_not_exist_is_named_at_its_line(settings: Settings) -> None:
    path = FIXTURES / "xa.yaml"
    line = 1 + next(
        i for i, t in enumerate(path.read_text().splitlines()) if "regime: huyen-vc-rollup" in t
    )
    with pytest.raises(RegimeError) as caught:
        _open(path)
    assert str(caught.value).startswith(
        f"{path}:{line}: parent.regime: no regime 'huyen-vc-rollup' is known here"
    )


def test_a_parent_unit_that_is_not_in_the_parent_is_named_at_its_line(
    settings: Settings, tmp_path: Path
) -> None:
    _open(FIXTURES / "tinh.yaml")
    _open(FIXTURES / "huyen.yaml")
    path = tmp_path / "xa.yaml"
    path.write_text((FIXTURES / "xa.yaml").read_text().replace("unit: X_TA", "unit: X_ZZ"))
    line = 1 + next(i for i, t in enumerate(path.read_text().splitlines()) if "unit: X_ZZ" in t)
    with pytest.raises(
        RegimeError,
        match=rf"xa.yaml:{line}: parent.unit: regime 'huyen-vc-rollup' has no unit 'X_ZZ'",
    ):
        _open(path)


@pytest.mark.slow  # a subprocess
def test_cycle_open_says_the_parent_is_missing_without_a_traceback(settings: Settings) -> None:
    path = FIXTURES / "xa.yaml"
    done = run_cli("cycle", "open", str(path), "--period", "2024-H1", "--now", "2024-06-17T08:00")
    assert done.returncode == 1
    assert "parent.regime: no regime 'huyen-vc-rollup' is known here" in done.stderr
    assert "--period 2024-H1" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout
