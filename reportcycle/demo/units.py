"""The simulated units of `reportcycle demo`: who answers when and how, as real emails sent over
SMTP to a local server that delivers into the reply inbox (a Maildir), as an MDA would.

The units' words are the project's reference contributions (`tests/fixtures/reference.py`:
what each unit of the Đồng Nai report of 03/7/2024 would have sent), so the demo needs a
checkout of the repository, as `make demo` has.
"""

from __future__ import annotations

import asyncio
import email.policy
import importlib
import sys
from dataclasses import dataclass
from datetime import date, datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

import aiosmtplib

from reportcycle.documents.convert import convert

REPO = Path(__file__).resolve().parents[2]
REGIME_FILE = REPO / "regimes" / "dong-nai-ttdn-6-thang.yaml"
DOCX_TYPE = "vnd.openxmlformats-officedocument.wordprocessingml.document"
# STTTT's officer writes from a personal mailbox the regime does not list.
PERSONAL_ADDRESS = "nguyenvana.sotttt@gmail.example"
SILENT_UNIT = "SVHTTDL"

Kind = Literal["docx", "body", "doc", "unregistered", "completion"]


@dataclass(frozen=True)
class Reply:
    unit: str
    day: date
    kind: Kind


SCENARIO: tuple[Reply, ...] = (
    Reply("SNGV", date(2024, 6, 18), "docx"),
    Reply("DPTTH", date(2024, 6, 18), "docx"),
    Reply("STTTT", date(2024, 6, 19), "unregistered"),
    Reply("BDN", date(2024, 6, 19), "body"),
    Reply("SCT", date(2024, 6, 20), "docx"),
    Reply("LHHN", date(2024, 6, 20), "doc"),
    # The reminder of 21/6 told BDN what its email lacked (its indicator): it sends the form.
    Reply("BDN", date(2024, 6, 21), "completion"),
    # Late, after two reminders: those of 18/6 (D-3) and 21/6 (the deadline); it answers on
    # the Saturday, before the reminder of Monday 24/6 (D+1).
    Reply("SKHDT", date(2024, 6, 22), "docx"),
)
HOW = {
    "docx": "phiếu DOCX",
    "body": "nội dung trong thân thư",
    "doc": "tệp .doc cũ",
    "unregistered": f"phiếu DOCX từ địa chỉ chưa đăng ký {PERSONAL_ADDRESS}",
    "completion": "phiếu DOCX đủ số liệu, trả lời thư nhắc",
}


def reference_data() -> ModuleType:
    """tests/fixtures/reference.py; an installed `reportcycle` script does not have the
    checkout on sys.path, so it is added."""
    if not (REPO / "tests" / "fixtures" / "reference.py").is_file():
        raise RuntimeError(
            f"the demo needs the repository checkout (tests/fixtures/reference.py under {REPO})"
        )
    if str(REPO) not in sys.path:
        sys.path.append(str(REPO))
    return importlib.import_module("tests.fixtures.reference")


@dataclass(frozen=True)
class Request:
    """What a unit's request email told it: where to reply, with which token."""

    token: str
    reply_to: str
    message_id: str | None


def build_reply(reply: Reply, request: Request, at: datetime) -> tuple[str, bytes]:
    """(envelope sender, the RFC 5322 message) of a unit's reply, as its mail client sends it."""
    ref = reference_data()
    spec = ref.unit_spec(reply.unit)
    sender = PERSONAL_ADDRESS if reply.kind == "unregistered" else spec.emails[0]
    message = EmailMessage()
    name = "Nguyễn Văn A" if reply.kind == "unregistered" else spec.name
    message["From"] = formataddr((name, sender))
    message["To"] = request.reply_to
    message["Subject"] = f"RE: Đề nghị cung cấp thông tin [RC-{request.token}]"
    message["Date"] = format_datetime(at)
    message["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[1])
    if request.message_id:
        message["In-Reply-To"] = request.message_id
        message["References"] = request.message_id
    if reply.kind == "body":
        message.set_content(_body_text(spec.name, ref.UNITS[reply.unit]["sections"]))
        return sender, message.as_bytes(policy=email.policy.SMTP)
    message.set_content(
        f"Kính gửi Văn phòng UBND tỉnh,\n\n{spec.name} gửi phiếu cung cấp thông tin đã điền.\n\n"
        f"Trân trọng,\n{name}\n"
    )
    form = ref.filled_form(reply.unit, request.token)
    if reply.kind == "doc":
        data = convert(form, source_suffix=".docx", target="doc")
        message.add_attachment(
            data, maintype="application", subtype="msword", filename="Phiếu cung cấp thông tin.doc"
        )
    else:
        message.add_attachment(
            form,
            maintype="application",
            subtype=DOCX_TYPE,
            filename="Phiếu cung cấp thông tin.docx",
        )
    return sender, message.as_bytes(policy=email.policy.SMTP)


def _body_text(unit_name: str, sections: dict[str, list[Any]]) -> str:
    """A unit that does not use the form: its sections typed under "Mục 3b." lines."""
    lines = ["Kính gửi Văn phòng UBND tỉnh,", "", f"{unit_name} xin gửi nội dung như sau:", ""]
    for code, items in sections.items():
        lines.append(f"Mục {code}.")
        lines += [item for item in items if isinstance(item, str)]
        lines.append("")
    lines += ["Trân trọng,", unit_name]
    return "\n".join(lines) + "\n"


def send_all(host: str, port: int, messages: list[tuple[str, str, bytes]]) -> None:
    """Send (envelope sender, recipient, message) over SMTP, one connection."""

    async def run() -> None:
        client = aiosmtplib.SMTP(hostname=host, port=port, start_tls=False)
        async with client:
            for sender, recipient, raw in messages:
                await client.sendmail(sender, [recipient], raw)

    asyncio.run(run())
