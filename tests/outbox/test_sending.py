"""The outbox sends each message exactly once, against real aiosmtpd servers on free ports."""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import mailbox
import os
import socket
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlmodel import Session, col, select

from models.db import session
from models.settings import Settings
from models.tables import AuditEvent, MessageStatus, OutboundMessage
from reportcycle.outbox.local_server import LocalMailServer, maildir_message_ids
from reportcycle.outbox.queue import enqueue
from reportcycle.outbox.recovery import recover_stuck, requeue_uncertain
from reportcycle.outbox.sending import send_pending
from reportcycle.outbox.smtp import (
    OutgoingMail,
    SendJournal,
    SendResult,
    SmtpTransport,
    open_transport,
)

NOW = datetime(2025, 6, 2, 1, 0, tzinfo=UTC)
LEASE = 600
UNKNOWN = "khongton@example.org"


class RecordingHandler:
    """An SMTP sink that can refuse: 421 to the first `busy` MAIL commands, 550 to UNKNOWN."""

    def __init__(self, busy: int = 0) -> None:
        self.busy = busy
        self.received: list[bytes] = []
        self.lock = threading.Lock()

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if self.busy > 0:
            self.busy -= 1
            return "421 4.3.2 Service not available, closing transmission channel"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if address == UNKNOWN or address.startswith("khongton"):
            return f"550 5.1.1 <{address}>: user unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.received.append(envelope.original_content)
        return "250 2.0.0 queued"

    def message_ids(self) -> Counter[str]:
        parsed = [email.message_from_bytes(r, policy=email.policy.default) for r in self.received]
        return Counter(str(m["Message-ID"]) for m in parsed)


@pytest.fixture
def sink(tmp_path: Path) -> Iterator[tuple[LocalMailServer, RecordingHandler]]:
    handler = RecordingHandler()
    with LocalMailServer(tmp_path / "unused", handler=handler) as server:
        yield server, handler


def make_email(number: int, to: tuple[str, ...] = ("so-tnmt@example.org",)) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Văn phòng UBND tỉnh <thnc@example.org>"
    message["To"] = ", ".join(to)
    message["Subject"] = f"Đề nghị báo cáo 6 tháng đầu năm – đơn vị số {number}"
    message["Message-ID"] = make_msgid(domain="example.org")
    message.set_content("Kính gửi quý đơn vị, đề nghị gửi báo cáo đúng hạn.\n")
    return message


def queue(*messages: EmailMessage) -> list[int]:
    with session() as db:
        rows = [
            enqueue(db, key=f"test/{i}", kind="request", message=m, now=NOW)[0]
            for i, m in enumerate(messages)
        ]
        db.commit()
    return [r.id for r in rows if r.id is not None]


def rows() -> dict[int, OutboundMessage]:
    with session() as db:
        return {r.id or 0: r for r in db.exec(select(OutboundMessage)).all()}


def send(transport: Any, **overrides: Any) -> Any:
    options: dict[str, Any] = {
        "now": NOW,
        "transport": transport,
        "worker": "test",
        "batch_size": 10,
        "retry_delays": [0.01, 0.02],
        "lease_seconds": LEASE,
    }
    return send_pending(**(options | overrides))


def transport_to(server: LocalMailServer, **kwargs: Any) -> SmtpTransport:
    return SmtpTransport(server.host, server.port, timeout=5, **kwargs)


class CountingTransport(SmtpTransport):
    """The real transport, noting the size of every batch it is handed."""

    def __init__(self, server: LocalMailServer) -> None:
        super().__init__(server.host, server.port, timeout=5)
        self.batches: list[int] = []

    async def send(
        self, messages: Sequence[OutgoingMail], journal: SendJournal | None = None
    ) -> list[SendResult]:
        self.batches.append(len(messages))
        return await super().send(messages, journal)


def make_stuck(row_id: int, claimed_by: str = "dead-worker", *, attempted: bool = True) -> None:
    """What a sender that died between claim and mark leaves behind: by default, the one row
    whose DATA was in flight (attempted); `attempted=False`, a row that never had its turn."""
    with session() as db:
        row = db.get(OutboundMessage, row_id)
        assert row is not None
        row.status = MessageStatus.SENDING
        row.claimed_by = claimed_by
        row.claimed_at = NOW - timedelta(seconds=LEASE + 1)
        row.attempts = 1
        row.attempted_at = row.claimed_at if attempted else None
        db.add(row)
        db.commit()


# --- queuing ---------------------------------------------------------------------------------


def test_enqueue_twice_with_one_key_keeps_one_row(db_url: str) -> None:
    with session() as db:
        first, created = enqueue(
            db, key="c1/u1/request", kind="request", message=make_email(1), now=NOW
        )
        again, created_again = enqueue(
            db, key="c1/u1/request", kind="request", message=make_email(1), now=NOW
        )
        db.commit()
    assert (created, created_again) == (True, False)
    assert again.id == first.id
    assert len(rows()) == 1


def test_enqueue_does_not_commit_for_the_caller(db_url: str) -> None:
    with session() as db:
        enqueue(db, key="c1/u1/request", kind="request", message=make_email(1), now=NOW)
        db.rollback()
    assert rows() == {}


def test_enqueue_keeps_vietnamese_and_hides_bcc(db_url: str) -> None:
    message = make_email(7, to=("a@example.org", "b@example.org"))
    message["Cc"] = "Chánh Văn phòng <cvp@example.org>"
    message["Bcc"] = "luu-tru@example.org"
    [row_id] = queue(message)
    row = rows()[row_id]
    assert row.sender == "thnc@example.org"
    assert row.recipients == [
        "a@example.org",
        "b@example.org",
        "cvp@example.org",
        "luu-tru@example.org",
    ]
    assert row.subject == "Đề nghị báo cáo 6 tháng đầu năm – đơn vị số 7"
    assert b"\r\n" in row.raw
    assert b"luu-tru" not in row.raw
    header_block = row.raw.split(b"\r\n\r\n")[0]
    assert header_block.isascii()  # RFC 2047 words, which any relay accepts
    parsed = email.message_from_bytes(row.raw, policy=email.policy.default)
    assert str(parsed["Subject"]) == row.subject


def test_enqueue_refuses_a_message_without_message_id(db_url: str) -> None:
    message = make_email(1)
    del message["Message-ID"]
    with session() as db, pytest.raises(ValueError, match="Message-ID"):
        enqueue(db, key="k", kind="request", message=message, now=NOW)


# --- sending ---------------------------------------------------------------------------------


def test_send_pending_sends_every_queued_message_once_and_marks_it_sent(
    db_url: str, sink: tuple[LocalMailServer, RecordingHandler]
) -> None:
    server, handler = sink
    ids = queue(*(make_email(i) for i in range(25)))
    report = send(transport_to(server))
    assert (report.sent, report.failed, report.retried) == (25, 0, 0)
    stored = rows()
    assert {stored[i].status for i in ids} == {MessageStatus.SENT}
    assert all(stored[i].sent_at is not None for i in ids)
    assert handler.message_ids() == Counter({stored[i].message_id: 1 for i in ids})
    assert send(transport_to(server)).sent == 0  # nothing is sent twice
    with session() as db:
        actions = db.exec(select(AuditEvent.action)).all()
    assert Counter(actions)["message.sent"] == 25


def test_each_batch_holds_at_most_batch_size_messages(
    db_url: str, sink: tuple[LocalMailServer, RecordingHandler]
) -> None:
    server, _ = sink
    queue(*(make_email(i) for i in range(23)))
    transport = CountingTransport(server)
    assert send(transport, batch_size=5).sent == 23
    assert transport.batches == [5, 5, 5, 5, 3]


def test_a_batch_of_big_messages_goes_in_groups_under_the_byte_budget(
    db_url: str, sink: tuple[LocalMailServer, RecordingHandler], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, handler = sink
    messages = [make_email(i) for i in range(6)]
    messages[2].add_attachment(b"x" * 50_000, maintype="application", subtype="pdf")
    ids = queue(*messages)
    sizes = {i: len(r.raw) for i, r in rows().items()}
    monkeypatch.setattr("reportcycle.outbox.sending.SEND_BYTES", sum(sizes[i] for i in ids[3:]))
    transport = CountingTransport(server)
    assert send(transport, batch_size=10).sent == 6
    # the two before the big one, the big one alone, then three small ones fill a group
    assert transport.batches == [2, 1, 3]
    stored = rows()
    assert [email.message_from_bytes(r)["Message-ID"] for r in handler.received] == [
        stored[i].message_id for i in ids
    ]
    assert len(handler.received[2]) > 50_000  # each message goes with its own bytes


def test_one_commit_a_message_marks_each_and_records_the_one_before(
    db_url: str, sink: tuple[LocalMailServer, RecordingHandler]
) -> None:
    server, handler = sink
    ids = queue(*(make_email(i) for i in range(10)))
    commits: list[int] = []
    listen = lambda _session: commits.append(1)  # noqa: E731
    event.listen(Session, "after_commit", listen)
    try:
        assert send(transport_to(server), batch_size=10).sent == 10
    finally:
        event.remove(Session, "after_commit", listen)
    # the claim, per message one commit of its mark with the answer before it, the last
    # answer, the claim that finds nothing left: 13 (it was 22, a mark and an answer each)
    assert len(commits) == 13
    stored = rows()
    assert all(stored[i].status == MessageStatus.SENT and stored[i].attempted_at for i in ids)
    with session() as db:
        sent = db.exec(select(AuditEvent).where(AuditEvent.action == "message.sent")).all()
    assert sorted(e.entity_id for e in sent) == ids
    assert {e.details["attempts"] for e in sent} == {1}
    assert {e.details["message_id"] for e in sent} == {stored[i].message_id for i in ids}
    assert len(handler.received) == 10


def test_server_busy_421_then_ok_sends_after_one_retry(
    db_url: str, sink: tuple[LocalMailServer, RecordingHandler]
) -> None:
    server, handler = sink
    handler.busy = 1
    [row_id] = queue(make_email(1))
    report = send(transport_to(server))
    row = rows()[row_id]
    assert (row.status, row.attempts) == (MessageStatus.SENT, 2)
    assert (report.sent, report.retried) == (1, 1)
    assert len(handler.received) == 1


def test_retries_exhausted_marks_failed_with_the_servers_words(
    db_url: str, sink: tuple[LocalMailServer, RecordingHandler]
) -> None:
    server, handler = sink
    handler.busy = 10
    [row_id] = queue(make_email(1))
    report = send(transport_to(server))
    row = rows()[row_id]
    assert (row.status, row.attempts) == (MessageStatus.FAILED, 3)
    assert "421 4.3.2" in (row.last_error or "")
    assert report.failures == [(row_id, row.last_error)]


def test_unknown_recipient_fails_that_message_and_the_others_are_sent(
    db_url: str, sink: tuple[LocalMailServer, RecordingHandler]
) -> None:
    server, handler = sink
    ids = queue(make_email(1), make_email(2, to=(UNKNOWN,)), make_email(3))
    report = send(transport_to(server))
    stored = rows()
    assert [stored[i].status for i in ids] == [
        MessageStatus.SENT,
        MessageStatus.FAILED,
        MessageStatus.SENT,
    ]
    assert stored[ids[1]].last_error == f"550 5.1.1 <{UNKNOWN}>: user unknown"
    assert (report.sent, report.failed) == (2, 1)
    assert len(handler.received) == 2


def test_every_recipient_refused_fails_with_each_refusal(
    db_url: str, sink: tuple[LocalMailServer, RecordingHandler]
) -> None:
    server, _ = sink
    [row_id] = queue(make_email(1, to=(UNKNOWN, "khongton2@example.org")))
    send(transport_to(server))
    row = rows()[row_id]
    assert row.status == MessageStatus.FAILED
    assert row.last_error == (
        f"550 5.1.1 <{UNKNOWN}>: user unknown; 550 5.1.1 <khongton2@example.org>: user unknown"
    )


def test_one_refused_recipient_among_several_sends_and_records_the_refusal(
    db_url: str, sink: tuple[LocalMailServer, RecordingHandler]
) -> None:
    server, handler = sink
    [row_id] = queue(make_email(1, to=("so-tc@example.org", UNKNOWN)))
    send(transport_to(server))
    row = rows()[row_id]
    assert row.status == MessageStatus.SENT
    assert f"<{UNKNOWN}>: user unknown" in (row.last_error or "")
    assert len(handler.received) == 1


@contextlib.contextmanager
def greeting_only_server(greeting: bytes | None) -> Iterator[int]:
    """A TCP server that says `greeting` (or nothing at all) to each client, then waits."""
    listener = socket.create_server(("127.0.0.1", 0))
    clients: list[socket.socket] = []

    def serve() -> None:
        with contextlib.suppress(OSError):
            while True:
                client, _ = listener.accept()
                clients.append(client)
                if greeting is not None:
                    client.sendall(greeting)

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        listener.close()
        for client in clients:
            client.close()


BATCH = [
    OutgoingMail(i, "a@example.org", ["b@example.org"], b"Subject: x\r\n\r\nx\r\n", f"<{i}@x>")
    for i in (1, 2)
]


def test_no_server_listening_means_retry_for_the_whole_batch(tmp_path: Path) -> None:
    with LocalMailServer(tmp_path / "gone") as server:
        transport = transport_to(server)
    results = asyncio.run(transport.send(BATCH))
    assert [r.outcome for r in results] == ["retry", "retry"]
    assert "cannot connect" in results[0].detail


def test_421_greeting_means_retry_with_the_servers_words() -> None:
    with greeting_only_server(b"421 4.7.0 mail.example.org too busy\r\n") as port:
        results = asyncio.run(SmtpTransport("127.0.0.1", port, timeout=5).send(BATCH))
    assert [r.outcome for r in results] == ["retry", "retry"]
    assert results[0].detail == "421 4.7.0 mail.example.org too busy"


def test_silent_server_times_out_into_retry() -> None:
    with greeting_only_server(None) as port:
        results = asyncio.run(SmtpTransport("127.0.0.1", port, timeout=0.3).send(BATCH))
    assert [r.outcome for r in results] == ["retry", "retry"]


def test_on_sent_runs_in_the_same_transaction_as_the_mark(
    db_url: str, sink: tuple[LocalMailServer, RecordingHandler]
) -> None:
    server, _ = sink
    [row_id] = queue(make_email(1))
    seen: list[tuple[int | None, MessageStatus]] = []

    def on_sent(db: Session, row: OutboundMessage) -> None:
        seen.append((row.id, row.status))

    send(transport_to(server), on_sent=on_sent)
    assert seen == [(row_id, MessageStatus.SENT)]


def test_embedded_transport_delivers_into_the_sent_maildir(settings: Settings) -> None:
    ids = queue(make_email(1), make_email(2))
    with open_transport(settings) as transport:
        report = send(transport)
    assert report.sent == 2
    expected = {rows()[i].message_id for i in ids}
    assert maildir_message_ids(settings.sent_maildir) == expected


# --- two senders -----------------------------------------------------------------------------


def test_two_concurrent_senders_send_each_message_exactly_once(
    db_url: str, sink: tuple[LocalMailServer, RecordingHandler]
) -> None:
    server, handler = sink
    ids = queue(*(make_email(i) for i in range(50)))
    start = threading.Barrier(2)

    transports = [CountingTransport(server), CountingTransport(server)]

    def worker(number: int) -> int:
        start.wait()
        return int(send(transports[number], worker=f"sender-{number}", batch_size=5).sent)

    with ThreadPoolExecutor(max_workers=2) as pool:
        counts = list(pool.map(worker, [0, 1]))
    assert sum(counts) == 50
    assert max(transports[0].batches + transports[1].batches) <= 5
    stored = rows()
    assert handler.message_ids() == Counter({stored[i].message_id: 1 for i in ids})
    assert {r.status for r in stored.values()} == {MessageStatus.SENT}
    assert {r.attempts for r in stored.values()} == {1}


# --- a sender that died mid-send -------------------------------------------------------------


def test_stuck_message_found_in_the_maildir_is_marked_sent_not_resent(
    db_url: str, tmp_path: Path
) -> None:
    [row_id] = queue(make_email(1))
    make_stuck(row_id)
    maildir = tmp_path / "sent"
    mailbox.Maildir(maildir, create=True).add(rows()[row_id].raw)  # it did reach the server
    with LocalMailServer(maildir) as server:
        report = send(transport_to(server, maildir_for_lookup=maildir))
    row = rows()[row_id]
    assert (row.status, report.recovered, report.sent) == (MessageStatus.SENT, 1, 0)
    assert len(mailbox.Maildir(maildir)) == 1


def test_stuck_message_missing_from_the_maildir_is_requeued_and_sent_once(
    db_url: str, tmp_path: Path
) -> None:
    [row_id] = queue(make_email(1))
    make_stuck(row_id)
    maildir = tmp_path / "sent"
    with LocalMailServer(maildir) as server:
        report = send(transport_to(server, maildir_for_lookup=maildir))
    row = rows()[row_id]
    assert (row.status, row.attempts) == (MessageStatus.SENT, 2)
    assert (report.recovered, report.sent) == (1, 1)
    assert maildir_message_ids(maildir) == {row.message_id}
    assert len(mailbox.Maildir(maildir)) == 1


def test_stuck_message_within_its_lease_is_left_alone(
    db_url: str, sink: tuple[LocalMailServer, RecordingHandler]
) -> None:
    server, handler = sink
    [row_id] = queue(make_email(1))
    make_stuck(row_id)
    resolved = recover_stuck(
        now=NOW - timedelta(seconds=2), transport=transport_to(server), lease_seconds=LEASE
    )
    assert resolved == []
    assert rows()[row_id].status == MessageStatus.SENDING


def test_stuck_message_on_a_relay_that_cannot_tell_becomes_uncertain_until_resent(
    db_url: str, sink: tuple[LocalMailServer, RecordingHandler]
) -> None:
    server, handler = sink
    [row_id] = queue(make_email(1))
    make_stuck(row_id)
    report = send(transport_to(server))
    row = rows()[row_id]
    assert (row.status, report.uncertain, report.sent) == (MessageStatus.UNCERTAIN, 1, 0)
    assert "not sent again automatically" in (row.last_error or "")
    assert handler.received == []
    assert send(transport_to(server)).sent == 0  # still not resent on the next run

    with session() as db:
        requeue_uncertain(db, row_id, NOW, "coordinator")
        db.commit()
    assert send(transport_to(server)).sent == 1
    assert len(handler.received) == 1
    with session() as db:
        resend = db.exec(select(AuditEvent).where(col(AuditEvent.action) == "message.resend"))
        assert resend.one().actor == "coordinator"


def test_requeue_refuses_a_message_that_was_sent(
    db_url: str, sink: tuple[LocalMailServer, RecordingHandler]
) -> None:
    server, _ = sink
    [row_id] = queue(make_email(1))
    send(transport_to(server))
    with session() as db, pytest.raises(ValueError, match="only uncertain or failed"):
        requeue_uncertain(db, row_id, NOW, "coordinator")


def test_a_dead_senders_rows_are_resolved_at_once_only_the_one_in_flight_in_doubt(
    db_url: str, sink: tuple[LocalMailServer, RecordingHandler]
) -> None:
    server, handler = sink
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    claimant = f"{socket.gethostname()}:{dead.pid}:deadbeef#0"
    in_flight, never = queue(make_email(1), make_email(2))
    make_stuck(in_flight, claimant)
    make_stuck(never, claimant, attempted=False)
    # Within the lease (claimed 1 s ago), but its sender is gone: no need to wait.
    report = send(transport_to(server), now=NOW - timedelta(seconds=LEASE))
    assert (rows()[never].status, rows()[never].attempts) == (MessageStatus.SENT, 1)
    assert rows()[in_flight].status == MessageStatus.UNCERTAIN  # this relay cannot tell
    assert (report.recovered, report.sent, report.uncertain) == (2, 1, 1)
    assert handler.message_ids() == Counter({rows()[never].message_id: 1})


def test_a_live_senders_claim_waits_for_its_lease(
    db_url: str, sink: tuple[LocalMailServer, RecordingHandler]
) -> None:
    server, handler = sink
    [row_id] = queue(make_email(1))
    make_stuck(row_id, f"{socket.gethostname()}:{os.getppid()}:alive#0", attempted=False)
    report = send(transport_to(server), now=NOW - timedelta(seconds=LEASE))
    assert (report.recovered, rows()[row_id].status) == (0, MessageStatus.SENDING)
    assert handler.received == []
