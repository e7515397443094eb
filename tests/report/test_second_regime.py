"""A second regime on unchanged code (issue 11 §4, issue 13): the Bình Định quarterly
administrative-reform report, 2025-Q1 across Tết 2025, 14 units (merged ones answering from
either of two addresses), dotted subsections, percentage, rate and text indicators, its own
ladder, recipients and signer. Run open → replies (real emails into the Maildir) → collect →
chase → consolidate → approve on the plain functions, and every wording of the final read back.
"""

from __future__ import annotations

from datetime import date, datetime
from email.message import EmailMessage

import pytest
from sqlmodel import select

from models.db import session
from models.report import ReportVersion
from models.settings import Settings
from models.tables import Cycle, DataRequest, OutboundMessage
from reportcycle.clock import VN_TZ
from reportcycle.cycle import opening, request_emails
from reportcycle.cycle.chase import chase
from reportcycle.cycle.ladder import rung_dates
from reportcycle.documents.form_fill import fill_form
from reportcycle.inbox.collect import collect_mail
from reportcycle.lookup import calendar_for
from reportcycle.outbox.sending import send_outbox
from reportcycle.regime.loading import load_regime
from reportcycle.report import approval, drafts
from reportcycle.report.approval import Decision
from reportcycle.report.texts import set_text
from tests.conftest import REPO
from tests.factories import attachments, deliver, maildir_messages, reply_with_form
from tests.report.test_consolidate_reference import body_lines

SECOND_REGIME = REPO / "regimes" / "binh-dinh-cchc-quy.yaml"
CODE = "binh-dinh-cchc-quy-2025-Q1"
OPENED = datetime(2025, 3, 10, 8, tzinfo=VN_TZ)

# Each replying unit's figures: tiếp nhận, đúng hạn, tỷ lệ (%), as a unit writes them.
COUNTS = {
    "STC": ("1.200", "1.182", "98,5"),
    "VPUB": ("800", "800", "100"),
    "SXD": ("950", "912", "96"),
    "SYT": ("2.000", "1.990", "99,5"),
    "SCT": ("600", "594", "99"),
    "SNNMT": ("1.500", "1.455", "97"),
    "QNHON": ("5.000", "4.950", "99"),
    "ANHON": ("1.000", "985", "98,5"),
}
ONLINE = {"SKHCN": "65,5", "TTHCC": "80", "QNHON": "72", "ANHON": "60,5"}
GRADES = {"SNV": "Tốt", "STP": "Khá", "STC": "Tốt", "SKHCN": "Hoàn thành", "QNHON": "Xuất sắc"}
SECRETARIAT = {
    "3": "Công tác cải cách hành chính quý I năm 2025 được triển khai đồng bộ.",
    "5": "Tiếp tục đẩy mạnh cải cách thủ tục hành chính, chuyển đổi số.",
}
SILENT = ("SGDDT", "TPHUOC")  # never reply: chased, then listed in the draft's notes


def _open() -> None:
    with session() as db:
        opened = opening.open_cycle(
            db, loaded=load_regime(SECOND_REGIME), period_code="2025-Q1", request=None, now=OPENED
        )
        request_emails.queue_request_emails(db, cycle_id=opened.cycle_id, now=OPENED, settings=_s())
        db.commit()
    send_outbox(OPENED, opened.cycle_id)


def _s() -> Settings:
    from models.settings import get_settings

    return get_settings()


def _form_sent_to(sent: list[EmailMessage], token: str) -> bytes:
    for message in sent:
        if token in str(message["Reply-To"] or "") + str(message["Subject"]):
            return next(data for name, data in attachments(message) if name.endswith(".docx"))
    raise AssertionError(f"no request email carries {token}")


def _answers(code: str, sections: tuple[str, ...]) -> dict[str, list[str]]:
    texts = {
        "1.1": f"{code}: ban hành kế hoạch cải cách hành chính năm 2025.",
        "1.2": f"{code}: tổ chức 02 cuộc kiểm tra công tác cải cách hành chính.",
        "2.1": "Ban hành 12 văn bản quy phạm pháp luật, rà soát 45 văn bản.",
        "2.2": f"{code}: tiếp nhận và giải quyết hồ sơ thủ tục hành chính đúng quy định.",
        "2.3": f"{code}: hoàn thành sắp xếp tổ chức bộ máy từ ngày 01/3/2025.",
        "2.4": f"{code}: đẩy mạnh dịch vụ công trực tuyến toàn trình.",
        "4": f"{code}: một số hồ sơ còn trễ hạn do phải lấy ý kiến liên ngành.",
    }
    return {s: [texts[s]] for s in sections}


def _indicators(code: str, wanted: tuple[str, ...]) -> dict[str, str]:
    values: dict[str, str] = {}
    if code in COUNTS:
        values |= dict(
            zip(("hs_tiep_nhan", "hs_dung_han", "ty_le_dung_han"), COUNTS[code], strict=True)
        )
    if code in ONLINE:
        values["ty_le_truc_tuyen"] = ONLINE[code]
    if code in GRADES:
        values["tu_danh_gia"] = GRADES[code]
    if code == "STP":
        values["vb_qppl"] = "12"
    return {k: v for k, v in values.items() if k in wanted}


def _reply_all(settings: Settings) -> None:
    sent = maildir_messages(settings.sent_maildir)
    with session() as db:
        requests = db.exec(select(DataRequest)).all()
        regime = load_regime(SECOND_REGIME).regime
    for n, request in enumerate(requests):
        if request.unit_code in SILENT:
            continue
        spec = next(u for u in regime.units if u.code == request.unit_code)
        form = fill_form(
            _form_sent_to(sent, request.token),
            sections=_answers(spec.code, spec.sections),
            indicators=_indicators(spec.code, spec.indicators),
        )
        # a merged unit answers from its second (former department's) address
        sender = spec.emails[-1]
        deliver(
            settings.inbox_maildir, reply_with_form(token=request.token, sender=sender, form=form)
        )
        collect_mail(datetime(2025, 3, 18, 9, n, tzinfo=VN_TZ))
    send_outbox(datetime(2025, 3, 18, 10, tzinfo=VN_TZ))


@pytest.mark.slow
@pytest.mark.libreoffice
def test_a_second_regime_runs_end_to_end_and_says_every_word_right(settings: Settings) -> None:
    _open()
    with session() as db:
        cycle = db.exec(select(Cycle)).one()
        assert cycle.code == CODE
        # 15/12/2024 → 14/3/2025 (Tết 2025 inside); 3 working days, 17/3 a provincial day off
        assert (cycle.window_start, cycle.window_end) == (date(2024, 12, 15), date(2025, 3, 14))
        assert cycle.deadline == date(2025, 3, 20)
        assert len(db.exec(select(DataRequest)).all()) == 14
    regime = load_regime(SECOND_REGIME).regime
    # its own ladder, moved past the weekend: -1 → Wed 19/3, +1 → Fri 21/3, +2 → Mon 24/3
    assert rung_dates(date(2025, 3, 20), regime.reminders, calendar_for(regime)) == [
        date(2025, 3, 19),
        date(2025, 3, 21),
        date(2025, 3, 24),
    ]
    _reply_all(settings)
    _check_receipts(settings)
    with session() as db:
        chased = chase(db, now=datetime(2025, 3, 21, 9, tzinfo=VN_TZ), settings=settings)
        db.commit()
        reminders = db.exec(select(OutboundMessage).where(OutboundMessage.kind == "reminder")).all()
    assert chased is not None
    reminded = {m.idempotency_key.split("/")[1] for m in reminders}
    assert reminded == set(SILENT), reminded

    with session() as db:
        cycle = db.exec(select(Cycle)).one()
        for code, text in SECRETARIAT.items():
            set_text(db, cycle, code, [text], source_name="muc.txt", now=OPENED)
        db.commit()
        draft, _ = drafts.make_draft(
            db, cycle, now=datetime(2025, 3, 24, 9, tzinfo=VN_TZ), settings=settings
        )
        db.commit()
        draft_lines = body_lines(draft.docx)
        final = approval.decide(
            db,
            cycle,
            db.get(ReportVersion, draft.id) or draft,
            Decision(approve=True, at=datetime(2025, 3, 25, 10, tzinfo=VN_TZ)),
            settings=settings,
        )
        db.commit()
    assert any("Sở Giáo dục và Đào tạo" in line for line in draft_lines)
    assert final.pdf is not None
    assert final.pdf[:5] == b"%PDF-"
    _check_final(body_lines(final.docx))


def _check_final(lines: list[str]) -> None:
    text = "\n".join(lines)

    assert "Đồng Nai" not in text
    for expected in (
        "ỦY BAN NHÂN DÂN",
        "TỈNH BÌNH ĐỊNH",
        "Số: 01/BC-UBND",
        "Bình Định, ngày 25 tháng 3 năm 2025",
        "BÁO CÁO",
        "Kết quả công tác cải cách hành chính quý I năm 2025",
        "1. Công tác chỉ đạo, điều hành cải cách hành chính",
        "1.1. Kế hoạch, văn bản chỉ đạo cải cách hành chính",
        "2.1. Cải cách thể chế",
        "2.4. Xây dựng chính quyền điện tử, chính quyền số",
        "5. Phương hướng, nhiệm vụ quý II năm 2025",
        *SECRETARIAT.values(),
        "KT. CHỦ TỊCH",
        "PHÓ CHỦ TỊCH",
        "Trần Minh Khoa",
        "- Bộ Nội vụ;",
        "- Lưu: VT, NC.",
    ):
        assert expected in lines, (expected, text)
    assert (
        "Thực hiện chế độ báo cáo định kỳ theo quy định, UBND tỉnh báo cáo Bộ Nội vụ kết quả "
        "công tác cải cách hành chính quý I năm 2025 như sau:" in lines
    )
    assert not any(".1)" in line for line in lines)
    headings = [line for line in lines if line[:2] in {"1.", "2.", "3.", "4.", "5."}]
    assert [h.split(" ")[0] for h in headings] == [
        "1.",
        "1.1.",
        "1.2.",
        "2.",
        "2.1.",
        "2.2.",
        "2.3.",
        "2.4.",
        "3.",
        "4.",
        "5.",
    ]
    # totals, the province's rate (Σ đúng hạn / Σ tiếp nhận), the mean, the text answers
    for figure in ("13.050", "12.868", "98,6%", "69,5%", "12", "Tốt", "Khá", "Xuất sắc"):
        assert figure in lines, figure
    assert "195,75 %" not in text
    assert not any(" %" in line for line in lines)


def _check_receipts(settings: Settings) -> None:
    """Text answers are taken as words, percentages written "98,5%"; every reply accepted."""
    from models.inbound import InboundMessage

    with session() as db:
        outcomes = {m.reason for m in db.exec(select(InboundMessage)).all()}
    assert outcomes == {"accepted"}, outcomes
    receipts = [
        m for m in maildir_messages(settings.sent_maildir) if "Đã nhận" in str(m["Subject"])
    ]
    assert len(receipts) == 12
    bodies = {str(m["To"]): _plain(m) for m in receipts}
    assert "- Kết quả tự đánh giá công tác cải cách hành chính: Tốt xếp loại" not in str(bodies)
    assert (
        "- Kết quả tự đánh giá công tác cải cách hành chính: Tốt" in bodies["soldtbxh@example.org"]
    )
    assert "- Tỷ lệ hồ sơ giải quyết đúng hạn: 98,5%\n" in bodies["sokhdt@example.org"]
    assert "is not a number" not in str(bodies)


def _plain(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert isinstance(body, EmailMessage)
    return str(body.get_content())
