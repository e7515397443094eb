"""The message a crash left in doubt, looked up in the relay's sent folder over IMAP (a real
Dovecot), and resolved without a person: found there, it is sent; missing, it goes again."""

from __future__ import annotations

import pytest

from models.settings import Settings, get_settings
from models.tables import MessageStatus
from reportcycle.outbox.local_server import LocalMailServer
from reportcycle.outbox.sent_folder import ImapSentFolder
from reportcycle.outbox.smtp import open_transport
from tests.imap_server import Dovecot, dovecot_server, imap_mailbox  # noqa: F401
from tests.outbox.test_sending import (
    RecordingHandler,
    make_email,
    make_stuck,
    queue,
    rows,
    send,
    sink,  # noqa: F401 (the fixture)
)

pytestmark = pytest.mark.slow


def _crlf(raw: bytes) -> bytes:
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def test_in_flight_message_found_in_the_sent_folder_is_sent_the_missing_one_goes_again(
    settings: Settings,
    imap: Dovecot,
    sink: tuple[LocalMailServer, RecordingHandler],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server, handler = sink
    with imap.connect() as conn:
        conn.create('"Sent"')
    arrived, lost = queue(make_email(1), make_email(2))
    make_stuck(arrived)
    make_stuck(lost)
    imap.append(_crlf(rows()[arrived].raw), folder="Sent")  # the relay kept its copy

    monkeypatch.setenv("REPORTCYCLE_SMTP_URL", f"smtp://{server.host}:{server.port}")
    monkeypatch.setenv("REPORTCYCLE_SENT_FOLDER_URL", imap.url("imaps", "Sent"))
    monkeypatch.setenv("REPORTCYCLE_IMAP_CAFILE", str(imap.cafile))
    get_settings.cache_clear()
    with open_transport(get_settings()) as transport:
        report = send(transport)

    assert rows()[arrived].status == MessageStatus.SENT
    assert (rows()[lost].status, report.uncertain, report.sent) == (MessageStatus.SENT, 0, 1)
    assert handler.message_ids() == {rows()[lost].message_id: 1}  # only the missing one again


def test_a_sent_folder_that_cannot_be_read_means_uncertain(imap: Dovecot) -> None:
    folder = ImapSentFolder(imap.url("imap", "No-Such-Folder"), starttls=False)
    assert folder.message_ids(["<x@example.org>"]) is None
    wrong = f"imap://{imap.user}:wrong-password@{imap.host}:{imap.imap_port}/INBOX"
    assert ImapSentFolder(wrong, starttls=False).message_ids(["<x@example.org>"]) is None
