"""Collecting replies from the Maildir inbox: outcomes, versions, receipts, review, status."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from sqlmodel import select

from models.db import session
from models.inbound import InboundMessage, Submission
from models.settings import Settings, get_settings
from models.tables import DataRequest
from reportcycle.clock import VN_TZ
from reportcycle.cycle.request_emails import render_form
from reportcycle.cycle.status import cycle_status
from reportcycle.documents import form_fill
from reportcycle.inbox.collect import collect_mail
from reportcycle.inbox.review import decide, pending_reviews
from reportcycle.lookup import find_cycle
from reportcycle.outbox.sending import send_outbox
from tests.factories import (
    deliver,
    maildir_messages,
    open_reference_cycle,
    reply_with_form,
    run_cli,
)

CODE = "dong-nai-ttdn-6-thang-2024-H1"
BEFORE_DEADLINE = datetime(2024, 6, 19, 9, 30, tzinfo=VN_TZ)
AFTER_DEADLINE = datetime(2024, 6, 25, 9, 30, tzinfo=VN_TZ)
DPTTH_TEXT = [
    "Đài Phát thanh – Truyền hình Đồng Nai dành một thời lượng nhất định trên sóng.",
    "- Bản tin “Thế giới đa chiều” phát sóng lúc 6g00 hàng ngày;",
    [["Kênh", "Người theo dõi"], ["facebook Thời sự Đồng Nai", "212.000"]],
]
DPTTH_VALUES = {
    "trang_mxh": "05",
    "nguoi_theo_doi_facebook": "212.000",
    "nguoi_dang_ky_youtube": "13.350",
}


def _request(unit: str) -> DataRequest:
    with session() as db:
        return db.exec(select(DataRequest).where(DataRequest.unit_code == unit)).one()


def _form(unit: str, sections: dict[str, list[object]], values: dict[str, str]) -> bytes:
    request = _request(unit)
    with session() as db:
        assert request.id is not None
        _, blank = render_form(db, request_id=request.id, settings=get_settings())
    return form_fill.fill_form(blank, sections=sections, indicators=values)  # type: ignore[arg-type]


def _dptth_reply(**overrides: object) -> bytes:
    request = _request("DPTTH")
    form = _form("DPTTH", {"3b": DPTTH_TEXT}, DPTTH_VALUES)
    args: dict[str, object] = {
        "token": request.token,
        "sender": "Đài PT-TH <dptth@example.org>",
        "form": form,
    }
    args.update(overrides)
    return reply_with_form(**args)  # type: ignore[arg-type]


def _collect(at: datetime = BEFORE_DEADLINE) -> dict[str, int]:
    report = collect_mail(at)
    send_outbox(at)
    return report.outcomes


def _status() -> dict[str, object]:
    with session() as db:
        return cycle_status(db, find_cycle(db, CODE))


def _unit(status: dict[str, object], code: str) -> dict[str, object]:
    return next(u for u in status["units"] if u["unit"] == code)  # type: ignore[attr-defined,index]


def _sent_to(settings: Settings, address: str) -> list[object]:
    return [m for m in maildir_messages(settings.sent_maildir) if address in str(m["To"])]


def test_filled_form_is_accepted_and_the_unit_gets_a_receipt(settings: Settings) -> None:
    open_reference_cycle()
    deliver(settings.inbox_maildir, _dptth_reply())
    assert _collect() == {"accepted": 1}

    unit = _unit(_status(), "DPTTH")
    assert unit["reply"]["received"]
    assert unit["reply"]["counted_version"] == 1
    assert not unit["reply"]["late"]  # type: ignore[index]
    with session() as db:
        submission = db.exec(select(Submission)).one()
    assert submission.indicators["nguoi_theo_doi_facebook"]["value"] == "212000"
    assert submission.indicators["nguoi_dang_ky_youtube"]["value"] == "13350"
    blocks = submission.sections["3b"]
    assert blocks[0]["text"] == DPTTH_TEXT[0]
    assert blocks[1] == {
        "type": "paragraph",
        "style": "bullet",
        "text": "Bản tin “Thế giới đa chiều” phát sóng lúc 6g00 hàng ngày;",
    }
    assert blocks[2]["rows"][1] == ["facebook Thời sự Đồng Nai", "212.000"]

    (receipt,) = _sent_to(settings, "dptth@example.org")[1:]  # [0] is the request
    text = receipt.get_body(("plain",)).get_content()  # type: ignore[attr-defined]
    assert "lần gửi thứ 1" in text
    assert "Số người theo dõi trang facebook chính của đơn vị: 212.000 người" in text
    assert receipt["In-Reply-To"]  # type: ignore[index]
    assert not list(settings.inbox_maildir.joinpath("new").iterdir())


def test_the_same_message_delivered_twice_counts_once(settings: Settings) -> None:
    open_reference_cycle()
    raw = _dptth_reply(message_id="<same@unit.example.org>")
    deliver(settings.inbox_maildir, raw)
    deliver(settings.inbox_maildir, raw)
    assert _collect() == {"accepted": 1}
    deliver(settings.inbox_maildir, raw)
    assert _collect() == {}
    with session() as db:
        assert len(db.exec(select(Submission)).all()) == 1
        assert len(db.exec(select(InboundMessage)).all()) == 1


def test_a_later_reply_is_a_new_version_and_counts_marked_late(settings: Settings) -> None:
    open_reference_cycle()
    deliver(settings.inbox_maildir, _dptth_reply())
    _collect()
    deliver(settings.inbox_maildir, _dptth_reply())
    _collect(AFTER_DEADLINE)
    unit = _unit(_status(), "DPTTH")["reply"]
    assert unit["versions"] == 2  # type: ignore[index]
    assert unit["counted_version"] == 2  # type: ignore[index]
    assert unit["counted_late"] is True  # type: ignore[index]
    assert unit["late"] is False  # type: ignore[index]  # its first reply was on time


def test_unknown_sender_waits_for_review_then_counts_when_accepted(settings: Settings) -> None:
    open_reference_cycle()
    deliver(
        settings.inbox_maildir, _dptth_reply(sender="Nguyễn Văn A <nva.personal@gmail.example>")
    )
    assert _collect() == {"needs_review": 1}
    assert _unit(_status(), "DPTTH")["reply"]["counted_version"] is None  # type: ignore[index]
    assert not _sent_to(settings, "nva.personal@gmail.example")  # nothing to a stranger
    notice = _sent_to(settings, "thnc@example.org")
    assert len(notice) == 1
    with session() as db:
        (row,) = pending_reviews(db)
        assert row["unit"] == "DPTTH"
        decide(
            db,
            submission_id=row["id"],
            accept=True,
            note="đã gọi điện xác nhận",
            actor="test",
            settings=get_settings(),
            now=BEFORE_DEADLINE,
        )
        db.commit()
    send_outbox(BEFORE_DEADLINE)
    assert _unit(_status(), "DPTTH")["reply"]["counted_version"] == 1  # type: ignore[index]
    assert len(_sent_to(settings, "nva.personal@gmail.example")) == 1  # the receipt


@pytest.mark.slow
def test_review_accept_from_the_cli_sends_the_unit_its_receipt(settings: Settings) -> None:
    open_reference_cycle()
    form = _form("DPTTH", {"3b": DPTTH_TEXT}, {"trang_mxh": "05"})  # partial: it waits
    deliver(settings.inbox_maildir, _dptth_reply(form=form))
    assert _collect() == {"needs_review": 1}
    assert len(_sent_to(settings, "dptth@example.org")) == 2  # request, "under review" receipt
    with session() as db:
        (row,) = pending_reviews(db)
    done = run_cli("review", "accept", str(row["id"]), "--now", "2024-06-19T10:00")
    assert done.returncode == 0, done.stderr
    assert "(1 thư đã gửi)" in done.stdout
    receipts = _sent_to(settings, "dptth@example.org")[1:]
    assert len(receipts) == 2
    text = receipts[-1].get_body(("plain",)).get_content()  # type: ignore[attr-defined]
    assert "đang được cán bộ tổng hợp kiểm tra" not in text


def test_text_in_the_body_goes_to_the_units_section_for_review(settings: Settings) -> None:
    open_reference_cycle()
    request = _request("SVHTTDL")
    body = (
        "Kính gửi Văn phòng,\n\nMục 3c. Hình thức khác\n- Thiết lập trang website "
        "http://noidung.ttxtdldongnai.vn (song ngữ Anh – Việt).\n\n"
        "On Mon, 17 Jun 2024 Văn phòng <thnc@example.org> wrote:\n> Đề nghị cung cấp\n"
    )
    deliver(
        settings.inbox_maildir,
        reply_with_form(token=request.token, sender="sovhttdl@example.org", form=None, body=body),
    )
    assert _collect() == {"needs_review": 1}
    with session() as db:
        submission = db.exec(select(Submission)).one()
    assert submission.kind == "body"
    assert submission.sections["3c"] == [
        {
            "type": "paragraph",
            "style": "bullet",
            "text": "Thiết lập trang website http://noidung.ttxtdldongnai.vn "
            "(song ngữ Anh – Việt).",
        }
    ]
    with session() as db:
        decide(
            db,
            submission_id=submission.id or 0,
            accept=False,
            note="Đề nghị gửi phiếu .docx thay vì thân thư.",
            actor="test",
            settings=get_settings(),
            now=BEFORE_DEADLINE,
        )
        db.commit()
    send_outbox(BEFORE_DEADLINE)
    answers = _sent_to(settings, "sovhttdl@example.org")
    texts = [m.get_body(("plain",)).get_content() for m in answers]  # type: ignore[attr-defined]
    assert any("Đề nghị gửi phiếu .docx thay vì thân thư." in t for t in texts)


@pytest.mark.parametrize(
    ("token", "reason", "words"),
    [
        ("zzzzzzzzzzzzzzzzzzzz", "unknown_token", "không khớp với yêu cầu nào"),
        (None, "no_token", "Trả lời (Reply)"),
    ],
)
def test_a_reply_we_cannot_place_is_rejected_with_what_to_do(
    settings: Settings, token: str | None, reason: str, words: str
) -> None:
    open_reference_cycle()
    raw = reply_with_form(
        token=token or "x",
        sender="dptth@example.org",
        form=None,
        subject="Báo cáo" if token is None else None,
    )
    if token is None:
        raw = raw.replace(b"baocao+x@example.org", b"baocao@example.org")
    deliver(settings.inbox_maildir, raw)
    assert _collect() == {"rejected": 1}
    with session() as db:
        inbound = db.exec(select(InboundMessage)).one()
    assert inbound.reason == reason
    assert inbound.raw == raw  # kept as it came
    (answer,) = _sent_to(settings, "dptth@example.org")[1:]
    assert words in answer.get_body(("plain",)).get_content()  # type: ignore[attr-defined]


def test_reply_matched_by_in_reply_to_alone(settings: Settings) -> None:
    open_reference_cycle()
    (request_mail,) = _sent_to(settings, "dptth@example.org")
    raw = reply_with_form(
        token="x",
        sender="dptth@example.org",
        form=None,
        subject="Trả lời",
        body="Mục 3b. Đài duy trì chuyên mục “Nhịp cầu hữu nghị”.",
    )
    raw = raw.replace(b"baocao+x@example.org", b"baocao@example.org")
    in_reply_to = str(request_mail["Message-ID"]).encode()  # type: ignore[index]
    raw = raw.replace(b"Subject:", b"In-Reply-To: " + in_reply_to + b"\r\nSubject:", 1)
    deliver(settings.inbox_maildir, raw)
    assert _collect() == {"needs_review": 1}  # text in the body always gets a person's look
    with session() as db:
        inbound = db.exec(select(InboundMessage)).one()
    assert inbound.request_id == _request("DPTTH").id


def test_partially_filled_form_waits_for_review_and_the_receipt_says_what_is_missing(
    settings: Settings,
) -> None:
    open_reference_cycle()
    form = _form("DPTTH", {"3b": DPTTH_TEXT}, {"trang_mxh": "05"})
    deliver(settings.inbox_maildir, _dptth_reply(form=form))
    assert _collect() == {"needs_review": 1}
    (receipt,) = _sent_to(settings, "dptth@example.org")[1:]
    text = receipt.get_body(("plain",)).get_content()  # type: ignore[attr-defined]
    assert "Còn thiếu:" in text
    assert "Số người đăng ký kênh YouTube của đơn vị" in text


def test_an_unreadable_figure_is_asked_for_again_in_vietnamese_not_listed_as_read(
    settings: Settings,
) -> None:
    open_reference_cycle()
    form = _form("DPTTH", {"3b": DPTTH_TEXT}, {**DPTTH_VALUES, "trang_mxh": "khoảng năm trang"})
    deliver(settings.inbox_maildir, _dptth_reply(form=form))
    assert _collect() == {"needs_review": 1}
    with session() as db:
        (message,) = db.exec(select(InboundMessage)).all()
    assert message.reason == "unreadable_figures"  # not "partial": nothing is missing
    (receipt,) = _sent_to(settings, "dptth@example.org")[1:]
    text = receipt.get_body(("plain",)).get_content()  # type: ignore[attr-defined]
    read, _, wanted = text.partition("Còn thiếu:")
    assert "khoảng năm trang" not in read
    assert "- Số người theo dõi trang facebook chính của đơn vị: 212.000 người" in read
    assert "“khoảng năm trang” chưa đọc được" in wanted
    assert "is not a number" not in text
    assert "có số liệu không đọc được là số" in text


def test_macro_enabled_and_oversized_attachments_are_refused(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    open_reference_cycle()
    token = _request("DPTTH").token
    deliver(
        settings.inbox_maildir,
        reply_with_form(
            token=token,
            sender="dptth@example.org",
            form=b"PK\x03\x04 not really",
            filename="Phiếu.docm",
        ),
    )
    assert _collect() == {"rejected": 1}
    monkeypatch.setenv("REPORTCYCLE_MAX_ATTACHMENT_BYTES", "2048")
    get_settings.cache_clear()
    deliver(settings.inbox_maildir, _dptth_reply())
    assert _collect() == {"rejected": 1}
    with session() as db:
        reasons = [
            m.reason for m in db.exec(select(InboundMessage).order_by(InboundMessage.id)).all()
        ]  # type: ignore[arg-type]
    assert reasons == ["macro", "attachment_too_large"]
    rejections = [str(m["Subject"]) for m in _sent_to(settings, "dptth@example.org")[1:]]
    assert len(rejections) == 2
    for subject in rejections:
        assert subject.count(f"[RC-{token}]") == 1, subject
    unit = _unit(_status(), "DPTTH")
    assert unit["reply"]["received"] is True  # type: ignore[index]
    assert unit["reply"]["outcome"] == "rejected"  # type: ignore[index]
    assert unit["reply"]["rejected"] == 2  # type: ignore[index]
    assert [m["reason"] for m in unit["messages"]] == ["macro", "attachment_too_large"]  # type: ignore[index]
    assert "vượt giới hạn" in unit["messages"][1]["explanation"]  # type: ignore[index]


@pytest.mark.slow
def test_refused_messages_are_listed_per_unit_by_review_list(settings: Settings) -> None:
    open_reference_cycle()
    token = _request("DPTTH").token
    for n in range(3):
        deliver(
            settings.inbox_maildir,
            reply_with_form(
                token=token, sender="dptth@example.org", form=b"PK\x03\x04", filename=f"{n}.docm"
            ),
        )
    assert _collect() == {"rejected": 3}
    plain = run_cli("review", "list")
    assert "3 message(s) were refused" in plain.stdout
    done = run_cli("review", "list", "--rejected", "--json")
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert [(r["unit"], r["kind"]) for r in rows] == [("DPTTH", "rejected")] * 3
    status = json.loads(run_cli("status", CODE, "--json").stdout)
    (unit,) = [u for u in status["units"] if u["unit"] == "DPTTH"]
    assert (unit["reply"]["received"], unit["reply"]["outcome"]) == (True, "rejected")
    assert len(unit["messages"]) == 3


def test_auto_replies_are_recorded_and_not_answered(settings: Settings) -> None:
    open_reference_cycle()
    raw = _dptth_reply(subject="Trả lời tự động: Đề nghị cung cấp thông tin")
    raw = raw.replace(b"Subject:", b"Auto-Submitted: auto-replied\r\nSubject:", 1)
    deliver(settings.inbox_maildir, raw)
    assert _collect() == {"ignored": 1}
    assert len(_sent_to(settings, "dptth@example.org")) == 1  # the request only


def test_status_reports_reporting_and_on_time_rates(settings: Settings) -> None:
    open_reference_cycle()
    deliver(settings.inbox_maildir, _dptth_reply())
    _collect()
    totals = _status()["totals"]
    assert totals["received"] == 1  # type: ignore[index]
    assert totals["reporting_rate"] == 0.125  # type: ignore[index]
    assert totals["on_time_rate"] == 0.125  # type: ignore[index]
