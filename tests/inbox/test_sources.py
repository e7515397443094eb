"""Mail in: the Maildir source on disk, the IMAP source against a real Dovecot."""

from __future__ import annotations

import email.policy
import os
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from models.db import session
from models.inbound import MailboxState
from models.settings import Settings
from reportcycle.inbox.imap import ImapSource
from reportcycle.inbox.mailbox import DONE_KEYWORD, Fetched, MailSource, MailSourceError
from reportcycle.inbox.maildir import MaildirSource
from reportcycle.inbox.sources import source_from_settings
from tests.imap_server import Dovecot, dovecot_server, free_ports, imap_mailbox  # noqa: F401

KINDS = ["imap", "imaps"]  # STARTTLS on the plain port, and TLS from the first byte
NO_DB = "sqlite://"  # an empty in-memory database: errors out if a test that fails early reads it


def reply(n: int) -> bytes:
    """A unit's reply as it arrives: CRLF, an 8-bit Vietnamese body, a binary attachment."""
    message = EmailMessage()
    message["From"] = "Sở Tài chính <stc@example.org>"
    message["To"] = "baocao+tok123@example.org"
    message["Subject"] = f"Re: Báo cáo 6 tháng đầu năm 2025 (lần {n})"
    message["Message-ID"] = make_msgid(domain="example.org")
    message.set_content(f"Kính gửi Văn phòng UBND tỉnh,\nĐơn vị gửi báo cáo số {n}.\n", cte="8bit")
    message.add_attachment(
        bytes(range(256)) * 4, maintype="application", subtype="octet-stream", filename=f"{n}.bin"
    )
    return message.as_bytes(policy=email.policy.SMTP)


def deliver(maildir: Path, name: str, raw: bytes) -> None:
    (maildir / "tmp" / name).write_bytes(raw)
    os.rename(maildir / "tmp" / name, maildir / "new" / name)


def drain(source: MailSource, limit: int) -> list[list[Fetched]]:
    batches = []
    while batch := source.fetch_new(limit=limit):
        batches.append(batch)
    return batches


def imap_source(server: Dovecot, db_url: str, kind: str = "imap", **options: Any) -> ImapSource:
    options.setdefault("cafile", server.cafile)
    return ImapSource(server.url(kind), timeout=10, db_url=db_url, **options)


def save(source: MailSource, batch: list[Fetched], db_url: str) -> None:
    with session(db_url) as db:
        source.save_position(db, batch, datetime(2024, 6, 19, 3, tzinfo=UTC))
        db.commit()


# --- Maildir -------------------------------------------------------------------------------


@pytest.fixture
def maildir(tmp_path: Path) -> Path:
    path = tmp_path / "inbox"
    MaildirSource(path)  # creates tmp/, new/, cur/
    return path


def test_maildir_source_creates_a_missing_maildir(tmp_path: Path) -> None:
    source = MaildirSource(tmp_path / "mail" / "inbox")
    assert {p.name for p in (tmp_path / "mail" / "inbox").iterdir()} == {"tmp", "new", "cur"}
    assert source.name == f"maildir:{(tmp_path / 'mail' / 'inbox').resolve()}"


def test_maildir_returns_new_messages_in_delivery_order(maildir: Path) -> None:
    names = ["1700000003.c", "1700000001.a", "1700000002.b"]  # written out of order
    raws = {name: reply(n) for n, name in enumerate(names)}
    for name, raw in raws.items():
        deliver(maildir, name, raw)
    with MaildirSource(maildir) as source:
        batches = drain(source, limit=2)
    assert [[f.ref for f in b] for b in batches] == [
        ["1700000001.a", "1700000002.b"],
        ["1700000003.c"],
    ]
    assert [f.raw for b in batches for f in b] == [raws[f.ref] for b in batches for f in b]
    assert all(f.uid is None for b in batches for f in b)
    assert os.listdir(maildir / "cur") == []  # fetching moves nothing


def test_maildir_mark_processed_moves_to_cur_with_seen_flag(maildir: Path) -> None:
    raw = reply(1)
    deliver(maildir, "1700000001.a", raw)
    with MaildirSource(maildir) as source:
        [fetched] = source.fetch_new(limit=10)
        source.mark_processed([fetched.ref])
        source.mark_processed([fetched.ref])  # twice is harmless
    assert os.listdir(maildir / "new") == []
    assert os.listdir(maildir / "cur") == ["1700000001.a:2,S"]
    assert (maildir / "cur" / "1700000001.a:2,S").read_bytes() == raw


def test_maildir_restart_sees_unprocessed_messages_again_but_not_processed_ones(
    maildir: Path,
) -> None:
    for name in ["1.a", "2.b", "3.c"]:
        deliver(maildir, name, reply(1))
    with MaildirSource(maildir) as source:
        batch = source.fetch_new(limit=10)
        source.mark_processed([batch[1].ref])  # the others fail processing, say
    with MaildirSource(maildir) as source:
        assert [f.ref for f in source.fetch_new(limit=10)] == ["1.a", "3.c"]


def test_maildir_one_session_never_returns_a_ref_twice(maildir: Path) -> None:
    deliver(maildir, "1.a", reply(1))
    source = MaildirSource(maildir)
    with source:
        assert [f.ref for f in source.fetch_new(limit=10)] == ["1.a"]
        deliver(maildir, "2.b", reply(2))
        assert [f.ref for f in source.fetch_new(limit=10)] == ["2.b"]  # not marked, not repeated
        assert source.fetch_new(limit=10) == []
    with source:  # the same object, a new session: a restart
        assert [f.ref for f in source.fetch_new(limit=10)] == ["1.a", "2.b"]


def test_maildir_skips_a_message_that_vanishes_between_listing_and_reading(
    maildir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ["1.a", "2.b", "3.c"]:
        deliver(maildir, name, reply(1))
    real_listdir = os.listdir

    def listdir_then_another_reader_takes_one(path: Any) -> list[str]:
        names = real_listdir(path)
        taken = maildir / "new" / "2.b"
        if taken.exists():
            os.rename(taken, maildir / "cur" / "2.b:2,S")
        return names

    monkeypatch.setattr(os, "listdir", listdir_then_another_reader_takes_one)
    with MaildirSource(maildir) as source:
        assert [f.ref for f in source.fetch_new(limit=10)] == ["1.a", "3.c"]


def test_maildir_save_position_is_a_no_op(maildir: Path, db_url: str) -> None:
    deliver(maildir, "1.a", reply(1))
    with MaildirSource(maildir) as source:
        save(source, source.fetch_new(limit=10), db_url)
    with session(db_url) as db:
        assert db.exec(select(MailboxState)).all() == []


# --- Choosing the source -------------------------------------------------------------------


def test_settings_without_inbox_url_read_the_local_maildir(home: Path) -> None:
    settings = Settings()
    source = source_from_settings(settings)
    assert isinstance(source, MaildirSource)
    assert source.path == settings.inbox_maildir
    assert (settings.inbox_maildir / "new").is_dir()


def test_settings_with_imap_url_build_an_imap_source(home: Path) -> None:
    settings = Settings(
        inbox_url="imaps://b%C3%A1o:p%40ss@mail.example.org/B%C3%A1o%20c%C3%A1o",
        imap_processed="move",
        imap_processed_folder="Đã xử lý",
        imap_cafile=home / "ca.pem",
    )
    source = source_from_settings(settings)
    assert isinstance(source, ImapSource)
    assert source.name == "imaps://báo@mail.example.org:993/Báo cáo"
    assert (source.target.user, source.target.password) == ("báo", "p@ss")
    assert (source.processed, source.processed_folder) == ("move", "Đã xử lý")
    assert source.cafile == home / "ca.pem"
    assert source.db_url == settings.db_url


def test_settings_with_another_scheme_are_refused_without_echoing_the_url(home: Path) -> None:
    settings = Settings(inbox_url="pop3://user:hunter2@mail.example.org")
    with pytest.raises(ValueError, match=r"imap://.*imaps://") as caught:
        source_from_settings(settings)
    assert "hunter2" not in str(caught.value)


# --- IMAP against Dovecot ------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_imap_fetches_all_messages_oldest_first_byte_identical(
    imap: Dovecot, db_url: str, kind: str
) -> None:
    raws = [reply(n) for n in range(5)]
    for raw in raws:
        imap.append(raw)
    uids = imap.uids()
    with imap_source(imap, db_url, kind) as source:
        batches = drain(source, limit=2)
    assert [len(b) for b in batches] == [2, 2, 1]
    fetched = [f for b in batches for f in b]
    assert [f.uid for f in fetched] == uids
    assert [f.ref for f in fetched] == [f"{source.uidvalidity}:{uid}" for uid in uids]
    assert [f.raw for f in fetched] == raws
    assert source.reset_reason is None  # a first run resets nothing
    assert imap.password not in source.name


def test_imap_fetching_does_not_mark_messages_seen(imap: Dovecot, db_url: str) -> None:
    for n in range(3):
        imap.append(reply(n))
    with imap_source(imap, db_url) as source:
        assert len(source.fetch_new(limit=10)) == 3
    assert all("\\Seen" not in flags for flags in imap.flags().values())


def test_imap_mark_processed_flag_sets_seen_and_done_keyword(imap: Dovecot, db_url: str) -> None:
    for n in range(3):
        imap.append(reply(n))
    with imap_source(imap, db_url, processed="flag") as source:
        batch = source.fetch_new(limit=10)
        source.mark_processed([f.ref for f in batch[:2]])
    flags = imap.flags()
    first, second, third = sorted(flags)
    assert {"\\Seen", DONE_KEYWORD} <= flags[first]
    assert {"\\Seen", DONE_KEYWORD} <= flags[second]
    assert flags[third].isdisjoint({"\\Seen", DONE_KEYWORD})


@pytest.mark.parametrize("with_move", [True, False], ids=["MOVE", "COPY+EXPUNGE"])
def test_imap_mark_processed_move_creates_the_folder_and_loses_nothing(
    imap: Dovecot, db_url: str, with_move: bool
) -> None:
    raws = [reply(n) for n in range(3)]
    for raw in raws:
        imap.append(raw)
    assert "Reportcycle/Processed" not in imap.folders()
    with imap_source(imap, db_url, processed="move") as source:
        if not with_move:
            source._caps.discard("MOVE")  # as on a server without RFC 6851
        batch = source.fetch_new(limit=10)
        source.mark_processed([f.ref for f in batch])
    assert imap.folders() == {"INBOX": 0, "Reportcycle/Processed": 3}
    assert imap.messages("Reportcycle/Processed") == raws
    flags = imap.flags("Reportcycle/Processed")
    assert all({"\\Seen", DONE_KEYWORD} <= f and "\\Deleted" not in f for f in flags.values())


def test_imap_move_into_a_vietnamese_folder_name(imap: Dovecot, db_url: str) -> None:
    imap.append(reply(1))
    folder = "Báo cáo/Đã xử lý"
    with imap_source(imap, db_url, processed="move", processed_folder=folder) as source:
        source.mark_processed([f.ref for f in source.fetch_new(limit=10)])
    assert imap.folders() == {"INBOX": 0, folder: 1}


def test_imap_restart_after_saved_position_reads_only_later_messages(
    imap: Dovecot, db_url: str
) -> None:
    for n in range(3):
        imap.append(reply(n))
    with imap_source(imap, db_url) as source:
        batch = source.fetch_new(limit=10)
        save(source, batch, db_url)  # stored, never marked processed (a crash, say)
    later = [reply(3), reply(4)]
    for raw in later:
        imap.append(raw)
    with imap_source(imap, db_url) as source:
        assert [f.raw for f in drain(source, limit=10)[0]] == later
        assert source.fetch_new(limit=10) == []
    with session(db_url) as db:
        [state] = db.exec(select(MailboxState)).all()
    assert (state.source, state.uidvalidity, state.last_uid) == (
        source.name,
        source.uidvalidity,
        max(f.uid or 0 for f in batch),
    )


def test_imap_restart_without_saved_position_reads_the_batch_again(
    imap: Dovecot, db_url: str
) -> None:
    for n in range(3):
        imap.append(reply(n))
    with imap_source(imap, db_url) as source:
        first = source.fetch_new(limit=2)
        save(source, first, db_url)
        second = source.fetch_new(limit=2)  # crash before its transaction commits
    with imap_source(imap, db_url) as source:
        assert source.fetch_new(limit=10) == second  # at least once; the store drops repeats


def test_imap_messages_marked_processed_are_not_returned_after_a_restart(
    imap: Dovecot, db_url: str
) -> None:
    for n in range(3):
        imap.append(reply(n))
    with imap_source(imap, db_url) as source:
        batch = source.fetch_new(limit=10)
        source.mark_processed([batch[0].ref, batch[2].ref])  # position never saved
    with imap_source(imap, db_url) as source:
        assert source.fetch_new(limit=10) == [batch[1]]


def test_imap_uidvalidity_change_rereads_the_folder_from_the_start(
    imap: Dovecot, db_url: str
) -> None:
    for n in range(3):
        imap.append(reply(n))
    with imap_source(imap, db_url) as source:
        old = source.fetch_new(limit=10)
        save(source, old, db_url)
    old_validity = source.uidvalidity
    new_validity = imap.recreate_folder("INBOX")
    with imap_source(imap, db_url) as source:
        assert source.reset_reason == (
            f"UIDVALIDITY changed from {old_validity} to {new_validity}: re-reading the folder;"
            " duplicates are recognised by Message-ID"
        )
        again = source.fetch_new(limit=10)
        assert [f.raw for f in again] == [f.raw for f in old]
        assert all(f.ref.startswith(f"{new_validity}:") for f in again)
        source.mark_processed([f.ref for f in old])  # stale refs: ignored
        assert all("\\Seen" not in flags for flags in imap.flags().values())
        save(source, again, db_url)
    with session(db_url) as db:
        [state] = db.exec(select(MailboxState)).all()
    assert state.uidvalidity == new_validity


def test_imap_logs_in_again_when_the_server_drops_the_connection(
    imap: Dovecot, db_url: str
) -> None:
    for n in range(3):
        imap.append(reply(n))
    with imap_source(imap, db_url) as source:
        first = source.fetch_new(limit=2)
        imap.kick()  # the server's idle timeout while the collector processed the batch
        source.mark_processed([f.ref for f in first])
        imap.kick()
        assert [f.uid for f in source.fetch_new(limit=2)] == [imap.uids()[2]]
    flags = imap.flags()
    assert [DONE_KEYWORD in flags[uid] for uid in sorted(flags)] == [True, True, False]


def test_imap_plaintext_login_when_starttls_is_off(imap: Dovecot, db_url: str) -> None:
    imap.append(reply(1))
    with imap_source(imap, db_url, starttls=False) as source:
        assert len(source.fetch_new(limit=10)) == 1


@pytest.mark.parametrize("kind", KINDS)
def test_imap_wrong_password_names_the_server_and_the_setting(imap: Dovecot, kind: str) -> None:
    url = imap.url(kind).replace("s3cret%40p", "wrong%40p")
    with (
        pytest.raises(MailSourceError) as caught,
        ImapSource(url, cafile=imap.cafile, db_url=NO_DB),
    ):
        pass
    message = str(caught.value)
    assert f"IMAP login to {imap.host}:" in message
    assert "as baocao failed: [AUTHENTICATIONFAILED]" in message
    assert "check REPORTCYCLE_INBOX_URL" in message
    assert "wrong" not in message


@pytest.mark.parametrize("kind", KINDS)
def test_imap_certificate_is_verified_against_the_configured_ca(
    imap: Dovecot, db_url: str, kind: str
) -> None:
    with pytest.raises(MailSourceError, match="TLS error: .*CERTIFICATE_VERIFY_FAILED") as caught:
        with imap_source(imap, db_url, kind, cafile=None):
            pass
    assert "REPORTCYCLE_IMAP_CAFILE" in str(caught.value)
    with imap_source(imap, db_url, kind, cafile=imap.cafile) as source:
        assert source.fetch_new(limit=1) == []
    with imap_source(imap, db_url, kind, cafile=None, validate_certs=False) as source:
        assert source.fetch_new(limit=1) == []


def test_imap_missing_folder_is_a_clear_error(imap: Dovecot) -> None:
    url = imap.url(folder="Baocao")
    with pytest.raises(MailSourceError, match=r"folder 'Baocao' cannot be opened on 127\."):
        with ImapSource(url, cafile=imap.cafile, db_url=NO_DB):
            pass


def test_imap_connection_refused_is_a_clear_error() -> None:
    [port] = free_ports(1)
    url = f"imap://u:p@127.0.0.1:{port}/INBOX"
    with pytest.raises(
        MailSourceError, match=rf"connecting to the IMAP server 127\.0\.0\.1:{port}"
    ):
        with ImapSource(url, db_url=NO_DB, timeout=5):
            pass


@pytest.fixture
def server_without_starttls() -> Iterator[tuple[int, list[bytes]]]:
    """Just enough of an IMAP server to announce no STARTTLS, recording what it hears."""
    heard: list[bytes] = []
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        conn, _ = listener.accept()
        with conn, conn.makefile("rb") as lines:
            conn.sendall(b"* OK test server ready\r\n")
            for line in lines:
                heard.append(line)
                tag = line.split(b" ", 1)[0]
                if b"CAPABILITY" in line:
                    conn.sendall(b"* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n")
                conn.sendall(tag + b" OK done\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1], heard
    listener.close()
    thread.join(timeout=5)


def test_imap_refuses_to_send_the_password_without_starttls(
    server_without_starttls: tuple[int, list[bytes]],
) -> None:
    port, heard = server_without_starttls
    url = f"imap://u:secret@127.0.0.1:{port}/INBOX"
    with pytest.raises(MailSourceError, match="does not offer STARTTLS.*imaps://"):
        with ImapSource(url, db_url=NO_DB, timeout=5):
            pass
    assert not any(b"secret" in line or b"LOGIN" in line for line in heard)


# --- big mail: a batch stops growing at the byte budget --------------------------------------


@pytest.mark.parametrize("kind", ["maildir", "imap"])
def test_a_batch_of_big_messages_stops_at_the_byte_budget_and_loses_none(
    kind: str, maildir: Path, imap: Dovecot, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    raws = [reply(n) for n in range(5)]
    budget = len(raws[0]) * 2 + 10  # two messages fit, a third would not
    monkeypatch.setattr(f"reportcycle.inbox.{kind}.FETCH_BUDGET_BYTES", budget)
    source: MailSource
    if kind == "maildir":
        for n, raw in enumerate(raws):
            deliver(maildir, f"170000000{n}.m", raw)
        source = MaildirSource(maildir)
    else:
        for raw in raws:
            imap.append(raw)
        source = imap_source(imap, db_url)
    with source:
        batches = drain(source, limit=100)
    assert [len(b) for b in batches] == [2, 2, 1]
    assert [f.raw for b in batches for f in b] == raws
