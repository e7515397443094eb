"""Collect records a chunk of replies at once (issue 15): versions in order within a chunk,
a failing message that holds up no other, a statement count that does not grow with the
chunk, the fetched bytes processed without being read back, and two collectors racing."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError
from sqlmodel import delete, select

from models.db import get_engine, session
from models.inbound import InboundMessage, InboundStatus, Submission
from models.settings import Settings, get_settings
from models.tables import AuditEvent, OutboundMessage
from reportcycle.inbox.collect import CollectReport, collect_mail, process_stored, store_raw
from reportcycle.inbox.sources import source_from_settings
from tests.factories import deliver, open_reference_cycle, reply_with_form
from tests.inbox.test_collect import BEFORE_DEADLINE, _form, _request

SECTION = {"DPTTH": "3b", "BDN": "3b", "SVHTTDL": "3c", "SCT": "3c", "LHHN": "3b"}
PARTIAL = "needs_review"  # one section of each form filled: recorded, receipt sent, reviewed


def _reply(unit: str, text: str = "") -> bytes:
    request = _request(unit)
    form = _form(unit, {SECTION[unit]: [text or f"Nội dung của {request.unit_name}."]}, {})
    return reply_with_form(token=request.token, sender=request.to_addresses[0], form=form)


@contextmanager
def _statements() -> Iterator[list[str]]:
    seen: list[str] = []

    def record(*args: Any) -> None:
        seen.append(str(args[2]).lower())  # (conn, cursor, statement, …)

    engine = get_engine(None)
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _store_only(settings: Settings) -> list[int]:
    """What a collector killed right after storing leaves: stored rows, no outcome."""
    with source_from_settings(settings) as source, session() as db:
        store_raw(db, source.fetch_new(limit=50), source=source.name, now=BEFORE_DEADLINE)
        db.commit()
    with session() as db:
        return [m.id for m in db.exec(select(InboundMessage).order_by(InboundMessage.id)) if m.id]


def _receipt_subjects() -> list[str]:
    with session() as db:
        rows = db.exec(select(OutboundMessage).where(OutboundMessage.kind == "receipt")).all()
        return sorted(r.subject for r in rows)


def test_two_replies_of_one_unit_in_one_chunk_are_versions_1_and_2_in_order(
    settings: Settings,
) -> None:
    open_reference_cycle()
    deliver(settings.inbox_maildir, _reply("DPTTH", "Bản đầu tiên."))
    deliver(settings.inbox_maildir, _reply("DPTTH", "Bản sửa lại."))
    assert collect_mail(BEFORE_DEADLINE).outcomes == {PARTIAL: 2}
    with session() as db:
        versions = db.exec(select(Submission).order_by(Submission.inbound_id)).all()
    assert [s.version for s in versions] == [1, 2]
    assert [s.sections["3b"][0]["text"] for s in versions] == ["Bản đầu tiên.", "Bản sửa lại."]
    assert [s.split(" [")[0] for s in _receipt_subjects()] == [
        "Đã nhận thông tin của Đài Phát thanh – Truyền hình Đồng Nai (lần 1)",
        "Đã nhận thông tin của Đài Phát thanh – Truyền hình Đồng Nai (lần 2)",
    ]


def test_a_message_that_cannot_be_recorded_holds_up_no_other_and_is_recorded_later(
    settings: Settings,
) -> None:
    open_reference_cycle()
    for unit in ("DPTTH", "BDN", "SCT"):
        deliver(settings.inbox_maildir, _reply(unit))
    first, bad, last = _store_only(settings)
    with session() as db:  # a row in the way: the bad message's submission cannot be inserted
        request_id = _request("BDN").id
        assert request_id is not None
        db.add(
            Submission(
                request_id=request_id,
                cycle_id=_request("BDN").cycle_id,
                inbound_id=bad,
                version=99,
                received_at=BEFORE_DEADLINE,
                kind="form",
            )
        )
        db.commit()
    report = CollectReport()
    with pytest.raises(IntegrityError):
        process_stored(settings=get_settings(), now=BEFORE_DEADLINE, report=report)
    assert report.outcomes == {PARTIAL: 2}  # the chunk failed, each other message recorded
    with session() as db:
        status = {m.id: m.status for m in db.exec(select(InboundMessage))}
        audited = {e.entity_id for e in db.exec(select(AuditEvent)) if e.entity == "inboundmessage"}
        db.exec(delete(Submission).where(Submission.version == 99))  # type: ignore[call-overload]
        db.commit()
    assert status == {first: PARTIAL, bad: InboundStatus.STORED, last: PARTIAL}
    assert audited == {first, last}  # nothing half-recorded for the bad one
    assert len(_receipt_subjects()) == 2
    report = CollectReport()
    process_stored(settings=get_settings(), now=BEFORE_DEADLINE, report=report)
    assert report.outcomes == {PARTIAL: 1}
    assert len(_receipt_subjects()) == 3


def test_statements_per_chunk_do_not_grow_with_the_chunk_and_no_raw_is_read_back(
    settings: Settings,
) -> None:
    open_reference_cycle()
    counts = []
    for units in (["DPTTH"], ["BDN"], ["SVHTTDL", "SCT", "LHHN", "DPTTH"]):
        for unit in units:
            deliver(settings.inbox_maildir, _reply(unit))
        with _statements() as seen:
            outcomes = collect_mail(BEFORE_DEADLINE).outcomes
        assert sum(outcomes.values()) == len(units)
        counts.append(len(seen))
        head = [s.split(" from ", 1)[0] for s in seen if s.startswith("select")]
        assert not [h for h in head if "inboundmessage.raw" in h]  # handed on, not reloaded
    assert counts[1] == counts[2]  # the first run warms the caches (the regime)


def test_two_collectors_racing_record_each_message_once(settings: Settings) -> None:
    open_reference_cycle()
    for unit in SECTION:
        deliver(settings.inbox_maildir, _reply(unit))
    stored = _store_only(settings)
    reports = [CollectReport(), CollectReport()]
    errors: list[BaseException] = []

    def run(report: CollectReport) -> None:
        try:
            process_stored(settings=get_settings(), now=BEFORE_DEADLINE, report=report)
        except BaseException as exc:  # noqa: BLE001 — reported below, on the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(r,)) for r in reports]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors
    assert sum(sum(r.outcomes.values()) for r in reports) == len(stored)
    with session() as db:
        submissions = db.exec(select(Submission)).all()
        audited = [e.entity_id for e in db.exec(select(AuditEvent)) if e.entity == "inboundmessage"]
    assert sorted(s.inbound_id for s in submissions) == stored
    assert sorted(audited) == stored
    assert len(_receipt_subjects()) == len(stored)
