"""Our fast MIME writer produces what the standard parser reads back exactly."""

from __future__ import annotations

import email
import email.policy
import unicodedata
from datetime import datetime
from email.message import EmailMessage

from reportcycle.clock import VN_TZ
from reportcycle.outbox.mime import Part, compose

LONG_NAME = "Phiếu cung cấp thông tin - Đài Phát thanh – Truyền hình Đồng Nai - " * 3 + ".docx"


def _compose(**overrides: object) -> EmailMessage:
    args: dict[str, object] = {
        "sender": "Văn phòng UBND tỉnh <thnc@example.org>",
        "to": ["Sở Ngoại vụ <songoaivu@example.org>", "dptth@example.org"],
        "cc": ["Giám đốc Sở <giamdoc@example.org>"],
        "bcc": ["luu@example.org"],
        "reply_to": "baocao+abc@example.org",
        "subject": "Đề nghị cung cấp thông tin: Kết quả triển khai công tác thông tin đối ngoại"
        " 6 tháng đầu năm 2024 [RC-abc]",
        "text": "Kính gửi: Sở Ngoại vụ\n\nHạn gửi: ngày 21 tháng 6 năm 2024.\n",
        "html": "<p>Kính gửi: <strong>Sở Ngoại vụ</strong></p>",
        "message_id": "<1.request@example.org>",
        "date": datetime(2024, 6, 17, 8, tzinfo=VN_TZ),
        "attachments": [
            Part(b"PK\x03\x04" + bytes(range(256)) * 200, "application/zip", LONG_NAME)
        ],
        "headers": {"X-Reportcycle-Token": "abc"},
    }
    args.update(overrides)
    composed = compose(**args)  # type: ignore[arg-type]
    parsed = email.message_from_bytes(composed.raw, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def test_headers_round_trip_with_vietnamese_names_and_long_subject() -> None:
    message = _compose()
    assert message["Subject"].startswith("Đề nghị cung cấp thông tin: Kết quả triển khai")
    assert message["Subject"].endswith("6 tháng đầu năm 2024 [RC-abc]")
    assert message["From"].addresses[0].display_name == "Văn phòng UBND tỉnh"
    assert [a.addr_spec for a in message["To"].addresses] == [
        "songoaivu@example.org",
        "dptth@example.org",
    ]
    assert message["Cc"].addresses[0].display_name == "Giám đốc Sở"
    assert message["Bcc"] is None  # travels in the envelope only
    assert message["Reply-To"].addresses[0].addr_spec == "baocao+abc@example.org"
    assert message["Message-ID"] == "<1.request@example.org>"
    assert message["X-Reportcycle-Token"] == "abc"


def test_envelope_holds_every_recipient_once() -> None:
    composed = compose(
        sender="a@example.org",
        to=["b@example.org", "b@example.org"],
        bcc=["c@example.org"],
        subject="s",
        text="t",
        html=None,
        message_id="<x@example.org>",
        date=datetime(2024, 1, 1, tzinfo=VN_TZ),
    )
    assert composed.sender == "a@example.org"
    assert composed.recipients == ["b@example.org", "c@example.org"]


def test_bodies_and_attachment_round_trip_byte_for_byte() -> None:
    message = _compose()
    plain, html = message.get_body(("plain",)), message.get_body(("html",))
    assert plain is not None
    assert html is not None
    assert plain.get_content() == "Kính gửi: Sở Ngoại vụ\n\nHạn gửi: ngày 21 tháng 6 năm 2024.\n"
    assert "<strong>Sở Ngoại vụ</strong>" in html.get_content()
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_filename() == LONG_NAME
    assert attachment.get_payload(decode=True) == b"PK\x03\x04" + bytes(range(256)) * 200


def test_every_line_is_short_and_ends_in_crlf() -> None:
    composed = compose(
        sender="a@example.org",
        to=["b@example.org"],
        subject="Đ" * 300,
        text="x" * 5000,
        html=None,
        message_id="<x@example.org>",
        date=datetime(2024, 1, 1, tzinfo=VN_TZ),
        attachments=[Part(b"z" * 1000, "application/pdf", "Đ" * 200 + ".pdf")],
    )
    lines = composed.raw.split(b"\r\n")
    assert b"\n" not in composed.raw.replace(b"\r\n", b"")
    assert max(len(line) for line in lines) <= 998
    parsed = email.message_from_bytes(composed.raw, policy=email.policy.default)
    assert parsed["Subject"] == "Đ" * 300


def test_decomposed_filename_stays_as_given_so_callers_normalise() -> None:
    nfd = unicodedata.normalize("NFD", "Phiếu.docx")
    message = _compose(attachments=[Part(b"x", "application/octet-stream", nfd)])
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_filename() == nfd
