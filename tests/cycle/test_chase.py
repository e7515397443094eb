"""Walking a cycle day by day with a fixed clock: exactly the reminders due, once each."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta

import pytest
from sqlmodel import select

from models.db import session
from models.inbound import Submission
from models.settings import Settings, get_settings
from models.tables import DataRequest, OutboundMessage
from reportcycle.calendar.workdays import WorkCalendar
from reportcycle.clock import VN_TZ
from reportcycle.cycle.chase import queue_reminders
from reportcycle.cycle.request_emails import render_form
from reportcycle.documents import form_fill, form_read
from reportcycle.inbox.collect import collect_mail
from reportcycle.inbox.review import decide
from reportcycle.outbox.sending import send_outbox
from tests.conftest import REPO
from tests.factories import deliver, maildir_messages, open_reference_cycle, reply_with_form
from tests.fixtures import reference

OPENED = date(2024, 6, 17)
DEADLINE = date(2024, 6, 21)
LAST = WorkCalendar().add_working_days(DEADLINE, 10)  # 5/7/2024
EVERY_RUNG = [
    (1, date(2024, 6, 18)),
    (2, date(2024, 6, 21)),
    (3, date(2024, 6, 24)),
    (4, date(2024, 6, 26)),
    (5, date(2024, 6, 28)),
]


def _at(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=VN_TZ)


def _request(unit: str) -> DataRequest:
    with session() as db:
        return db.exec(select(DataRequest).where(DataRequest.unit_code == unit)).one()


def _reply(settings: Settings, unit: str, *, only: str | None = None) -> None:
    request = _request(unit)
    if only is None:
        form = reference.filled_form(unit, request.token)
    else:
        with session() as db:
            _, blank = render_form(db, request_id=request.id or 0, settings=get_settings())
        form = form_fill.fill_form(blank, sections={only: ["Chỉ mục này."]}, indicators={})
    deliver(
        settings.inbox_maildir,
        reply_with_form(token=request.token, sender=request.to_addresses[0], form=form),
    )


def _accept_pending(now: datetime) -> None:
    with session() as db:
        for submission in db.exec(select(Submission).where(Submission.review == "pending")):
            decide(
                db,
                submission_id=submission.id or 0,
                accept=True,
                note=None,
                actor="test",
                settings=get_settings(),
                now=now,
            )
        db.commit()


def _reminders() -> dict[str, list[tuple[int, date, bool]]]:
    """unit -> [(rung, day, head in copy)] from what reached the mail server."""
    heads = {
        "SNGV": "giamdoc.songoaivu@example.org",
        "SCT": "giamdoc.socongthuong@example.org",
        "BDN": "tongbientap.baodongnai@example.org",
        "DPTTH": "giamdoc.dptth@example.org",
    }
    with session() as db:
        rows = db.exec(
            select(OutboundMessage)
            .where(OutboundMessage.kind == "reminder")
            .order_by(OutboundMessage.id)
        ).all()  # type: ignore[arg-type]
    out: dict[str, list[tuple[int, date, bool]]] = defaultdict(list)
    for row in rows:
        unit, rung = row.idempotency_key.split("/")[1], int(row.idempotency_key.rsplit("/")[-1])
        assert row.sent_at is not None
        head = heads.get(unit)
        out[unit].append(
            (
                rung,
                row.sent_at.astimezone(VN_TZ).date(),
                head is not None and head in row.recipients,
            )
        )
    return dict(out)


@pytest.mark.slow
def test_walking_the_reference_cycle_sends_exactly_the_reminders_due(settings: Settings) -> None:
    open_reference_cycle(_at(OPENED, 8))
    replies = {
        date(2024, 6, 19): [("DPTTH", None)],
        date(2024, 6, 20): [("SNGV", "3a")],
        date(2024, 6, 25): [("BDN", None)],
        date(2024, 6, 27): [("SNGV", None)],
    }
    day = OPENED
    while day <= LAST:
        for unit, only in replies.get(day, []):
            _reply(settings, unit, only=only)
        for hour in (8, 10, 14, 20):  # later runs the same day find nothing new to send
            collect_mail(_at(day, hour))
            if hour == 14:
                _accept_pending(_at(day, hour))  # the secretariat accepts the partial reply
            queue_reminders(_at(day, hour))
            send_outbox(_at(day, hour))
        day += timedelta(days=1)

    sent = _reminders()
    assert sent["DPTTH"] == [(1, date(2024, 6, 18), False)]
    assert sent["BDN"] == [
        (1, date(2024, 6, 18), False),
        (2, date(2024, 6, 21), False),
        (3, date(2024, 6, 24), False),
    ]
    assert [(r, d) for r, d, _ in sent["SNGV"]] == EVERY_RUNG[:4]
    assert sent["SNGV"][3][2] is True  # rung 4 escalates: the head in copy
    assert [(r, d) for r, d, _ in sent["SCT"]] == EVERY_RUNG
    assert [cc for _, _, cc in sent["SCT"]] == [False, False, False, True, True]
    for unit in ("STTTT", "SVHTTDL", "LHHN", "SKHDT"):
        assert [(r, d) for r, d, _ in sent[unit]] == EVERY_RUNG

    texts = {
        m["Subject"]: m.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        for m in maildir_messages(settings.sent_maildir)
        if "RC-" + _request("SNGV").token in str(m["Subject"]) and "Quá hạn" in str(m["Subject"])
    }
    assert any("còn thiếu" in t and "Mục 2." in t for t in texts.values())
    digests = [
        m
        for m in maildir_messages(settings.sent_maildir)
        if str(m["Subject"]).startswith("[reportcycle] Tình hình")
    ]
    working_days = sum(
        WorkCalendar().is_working_day(OPENED + timedelta(days=n))
        for n in range((LAST - OPENED).days + 1)
    )
    assert len(digests) == working_days


def test_reminders_carry_the_form_and_reach_the_unit(settings: Settings) -> None:
    open_reference_cycle(_at(OPENED, 8))
    queue_reminders(_at(date(2024, 6, 18), 8))
    send_outbox(_at(date(2024, 6, 18), 8))
    request = _request("LHHN")
    (reminder,) = [
        m
        for m in maildir_messages(settings.sent_maildir)
        if "Nhắc hạn" in str(m["Subject"]) and request.token in str(m["Subject"])
    ]
    (attachment,) = list(reminder.iter_attachments())
    assert form_read.read_form(attachment.get_payload(decode=True)).token == request.token  # type: ignore[arg-type]
    assert f"baocao+{request.token}@example.org" in str(reminder["Reply-To"])
    text = reminder.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "chưa nhận được thông tin" in text
    assert "ngày 21 tháng 6 năm 2024" in text


CHASE = (
    "from reportcycle.clock import parse_now; from reportcycle.cycle.chase import queue_reminders; "
    "from reportcycle.outbox.sending import send_outbox; at = parse_now('2024-06-26T08:00'); "
    "queue_reminders(at); send_outbox(at)"
)


@pytest.mark.slow
def test_two_concurrent_chase_runs_send_each_reminder_once(settings: Settings) -> None:
    open_reference_cycle(_at(OPENED, 8))
    env = dict(os.environ)
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", CHASE], cwd=REPO, env=env, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    for run in runs:
        _, err = run.communicate(timeout=120)
        assert run.returncode == 0, err
    with session() as db:
        keys = [
            r.idempotency_key
            for r in db.exec(
                select(OutboundMessage).where(OutboundMessage.kind == "reminder")
            ).all()
        ]
    assert len(keys) == 8  # rung 4 for each of the 8 units, once
    delivered = Counter(
        str(m["Message-ID"])
        for m in maildir_messages(settings.sent_maildir)
        if "Quá hạn" in str(m["Subject"])
    )
    assert len(delivered) == 8
    assert set(delivered.values()) == {1}


def test_the_digest_rounds_rates_half_up_as_people_do(settings: Settings) -> None:
    open_reference_cycle(_at(OPENED, 8))
    request = _request("DPTTH")
    form = reference.filled_form("DPTTH", request.token)
    deliver(
        settings.inbox_maildir,
        reply_with_form(token=request.token, sender="dptth@example.org", form=form),
    )
    collect_mail(_at(date(2024, 6, 18), 7))
    queue_reminders(_at(date(2024, 6, 18), 8))
    send_outbox(_at(date(2024, 6, 18), 8))
    (digest,) = [
        m
        for m in maildir_messages(settings.sent_maildir)
        if str(m["Subject"]).startswith("[reportcycle] Tình hình")
    ]
    text = digest.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "1/8 đơn vị (tỷ lệ báo cáo 13%, đúng hạn 13%)" in text  # 12,5% → 13%, not 12%
