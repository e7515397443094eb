"""The embedded SMTP server, exercised over real SMTP with aiosmtplib."""

from __future__ import annotations

import asyncio
import email
import email.policy
import mailbox
import unicodedata
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import aiosmtplib

from reportcycle.outbox.local_server import LocalMailServer, maildir_message_ids

SUBJECT = "Đề nghị báo cáo kết quả 6 tháng đầu năm 2025 – Sở Tài nguyên và Môi trường"
BODY = "Kính gửi Sở Tài nguyên và Môi trường,\nĐề nghị quý Sở gửi báo cáo trước ngày 15/6.\n"
FILENAME = "Biểu mẫu báo cáo – Sở Tài nguyên và Môi trường.docx"


def vietnamese_message(cte: str | None = None) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Văn phòng UBND tỉnh <thnc@example.org>"
    message["To"] = "Sở Tài nguyên và Môi trường <stnmt@example.org>"
    # NFD on the way in: what a template or a pasted name can carry.
    message["Subject"] = unicodedata.normalize("NFD", SUBJECT)
    message["Message-ID"] = make_msgid(domain="example.org")
    message.set_content(BODY, cte=cte)
    message.add_attachment(
        b"PK\x03\x04 docx bytes \xff\x00",
        maintype="application",
        subtype="vnd.openxmlformats-officedocument.wordprocessingml.document",
        filename=FILENAME,
    )
    return message


def stored(maildir: Path) -> list[bytes]:
    box = mailbox.Maildir(maildir, create=False)
    return [box.get_bytes(key) for key in box.keys()]


def parse(raw: bytes) -> EmailMessage:
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def body_text(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",))
    assert isinstance(body, EmailMessage)
    return str(body.get_content()).replace("\r\n", "\n")  # CRLF is how SMTP carries lines


def test_vietnamese_message_lands_in_the_maildir_intact(tmp_path: Path) -> None:
    message = vietnamese_message()
    with LocalMailServer(tmp_path / "sent") as server:
        asyncio.run(aiosmtplib.send(message, hostname=server.host, port=server.port))
    [raw] = stored(tmp_path / "sent")
    received = parse(raw)
    nfc = unicodedata.normalize
    assert nfc("NFC", str(received["Subject"])) == SUBJECT
    assert body_text(received) == BODY
    [attachment] = list(received.iter_attachments())
    assert nfc("NFC", attachment.get_filename() or "") == FILENAME
    assert attachment.get_payload(decode=True) == b"PK\x03\x04 docx bytes \xff\x00"
    assert received["X-Original-To"] == "stnmt@example.org"


def test_8bit_body_is_stored_byte_for_byte(tmp_path: Path) -> None:
    message = vietnamese_message(cte="8bit")
    raw = message.as_bytes(policy=email.policy.SMTP)
    assert not raw.isascii()

    async def send(port: int) -> None:
        async with aiosmtplib.SMTP(hostname="127.0.0.1", port=port) as client:
            await client.sendmail(
                "thnc@example.org", ["stnmt@example.org"], raw, mail_options=["BODY=8BITMIME"]
            )

    with LocalMailServer(tmp_path / "sent") as server:
        asyncio.run(send(server.port))
    [received] = stored(tmp_path / "sent")
    assert received.endswith(raw)
    assert body_text(parse(received)) == BODY


def test_maildir_message_ids_lists_every_delivered_message(tmp_path: Path) -> None:
    messages = [vietnamese_message() for _ in range(3)]
    with LocalMailServer(tmp_path / "sent") as server:
        for message in messages:
            asyncio.run(aiosmtplib.send(message, hostname=server.host, port=server.port))
    expected = {str(m["Message-ID"]) for m in messages}
    assert maildir_message_ids(tmp_path / "sent") == expected
    assert maildir_message_ids(tmp_path / "missing") == set()


def test_two_servers_get_different_free_ports(tmp_path: Path) -> None:
    with LocalMailServer(tmp_path / "a") as first, LocalMailServer(tmp_path / "b") as second:
        assert first.port != second.port
        assert first.port > 0
