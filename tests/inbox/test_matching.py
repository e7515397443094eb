"""Matching by the weight of the signals (issue 13 §8): a reply whose form, thread and subject
name one cycle's request but whose reply address carries another's is filed under the first,
waits for a person, and the reviewer sees which signal said what."""

from __future__ import annotations

from datetime import datetime
from email import message_from_bytes, policy

from sqlmodel import select

from models.db import session
from models.inbound import InboundMessage, Submission
from models.settings import Settings, get_settings
from models.tables import Cycle, DataRequest, OutboundMessage
from reportcycle.clock import VN_TZ
from reportcycle.cycle import opening, request_emails
from reportcycle.inbox.collect import collect_mail
from reportcycle.inbox.review import pending_reviews
from reportcycle.outbox.sending import send_outbox
from reportcycle.regime.loading import load_regime
from tests.conftest import REFERENCE_REGIME
from tests.factories import deliver, maildir_messages, open_reference_cycle, reply_with_form
from tests.fixtures import reference

H1 = "dong-nai-ttdn-6-thang-2024-H1"
H2 = "dong-nai-ttdn-6-thang-2024-H2"


def _open_h2() -> None:
    at = datetime(2024, 12, 16, 8, tzinfo=VN_TZ)
    with session() as db:
        opened = opening.open_cycle(
            db, loaded=load_regime(REFERENCE_REGIME), period_code="2024-H2", request=None, now=at
        )
        request_emails.queue_request_emails(
            db, cycle_id=opened.cycle_id, now=at, settings=get_settings()
        )
        db.commit()
    send_outbox(at, opened.cycle_id)


def _request(cycle: str, unit: str) -> tuple[DataRequest, str]:
    with session() as db:
        found = db.exec(
            select(DataRequest, OutboundMessage)
            .join(Cycle, Cycle.id == DataRequest.cycle_id)  # type: ignore[arg-type]
            .join(OutboundMessage, OutboundMessage.request_id == DataRequest.id)  # type: ignore[arg-type]
            .where(Cycle.code == cycle, DataRequest.unit_code == unit)
            .where(OutboundMessage.kind == "request")
        ).one()
    request, sent = found
    assert sent.message_id
    return request, sent.message_id


def test_three_signals_for_h1_outweigh_the_h2_reply_address(settings: Settings) -> None:
    open_reference_cycle()
    _open_h2()
    h1, h1_message_id = _request(H1, "DPTTH")
    h2, _ = _request(H2, "DPTTH")
    raw = reply_with_form(
        token=h1.token,
        sender="dptth@example.org",
        form=reference.filled_form("DPTTH", h1.token),
    )
    message = message_from_bytes(raw, policy=policy.SMTP)
    message.replace_header("To", f"baocao+{h2.token}@example.org")  # autocompleted, wrong cycle
    message["In-Reply-To"] = h1_message_id
    message["References"] = h1_message_id
    deliver(settings.inbox_maildir, message.as_bytes())
    report = collect_mail(datetime(2024, 12, 17, 9, tzinfo=VN_TZ))

    assert report.outcomes == {"needs_review": 1}
    with session() as db:
        (inbound,) = db.exec(select(InboundMessage)).all()
        (submission,) = db.exec(select(Submission)).all()
        (row,) = pending_reviews(db)
    assert inbound.request_id == h1.id
    assert submission.request_id == h1.id
    said = {(s["signal"], s["cycle"]) for s in inbound.details["signals"]}
    assert said == {("form", H1), ("thread", H1), ("subject", H1), ("address", H2)}
    (why,) = row["reasons"]
    assert why.startswith("mã trong địa chỉ, tiêu đề và phiếu không trùng nhau: ")
    assert f"mã trong địa chỉ nhận ({h2.token}) → {H2} / DPTTH" in why
    assert f"mã trong phiếu ({h1.token}) → {H1} / DPTTH" in why
    assert f"chọn {H1} / DPTTH" in why
    send_outbox(datetime(2024, 12, 17, 9, 5, tzinfo=VN_TZ))
    (notice,) = [
        m for m in maildir_messages(settings.sent_maildir) if "thnc@example.org" in str(m["To"])
    ]
    text = notice.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert f"Các tín hiệu: mã trong phiếu ({h1.token}) → {H1} / DPTTH" in text


def test_agreeing_signals_are_accepted_without_a_person(settings: Settings) -> None:
    open_reference_cycle()
    h1, h1_message_id = _request(H1, "DPTTH")
    raw = reply_with_form(
        token=h1.token,
        sender="dptth@example.org",
        form=reference.filled_form("DPTTH", h1.token),
    )
    message = message_from_bytes(raw, policy=policy.SMTP)
    message["In-Reply-To"] = h1_message_id
    deliver(settings.inbox_maildir, message.as_bytes())
    assert collect_mail(datetime(2024, 6, 19, 9, tzinfo=VN_TZ)).outcomes == {"accepted": 1}
