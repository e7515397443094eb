"""Small builders shared by the tests."""

from __future__ import annotations

import email
import email.policy
import io
import mailbox
import os
import subprocess
import sys
import zipfile
from collections.abc import Mapping
from datetime import UTC, date, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path


def maildir_messages(path: Path) -> list[EmailMessage]:
    """Every message in a Maildir, parsed with the modern policy, oldest first."""
    if not path.exists():
        return []
    box = mailbox.Maildir(path, create=False)
    out = []
    for key in sorted(box.keys()):  # our delivery names start with the time: oldest first
        parsed = email.message_from_bytes(box.get_bytes(key), policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        out.append(parsed)
    return out


def attachments(message: EmailMessage) -> list[tuple[str, bytes]]:
    found = []
    for part in message.iter_attachments():
        assert isinstance(part, EmailMessage)
        payload = part.get_payload(decode=True)
        assert isinstance(payload, bytes)
        found.append((part.get_filename() or "", payload))
    return found


def open_reference_cycle(now: datetime | None = None) -> int:
    """The reference cycle opened with the plain functions (no Prefect): requests sent."""
    from models.db import session
    from models.settings import get_settings
    from reportcycle.clock import VN_TZ
    from reportcycle.cycle import opening, request_emails
    from reportcycle.outbox.sending import send_outbox
    from reportcycle.regime.loading import load_regime
    from reportcycle.superior_request import SuperiorRequest
    from tests.conftest import REFERENCE_REGIME

    at = now or datetime(2024, 6, 17, 8, tzinfo=VN_TZ)
    request = SuperiorRequest(
        ref="2608/CV/BTGTU", date=date(2024, 6, 10), sender="Ban Tuyên giáo Tỉnh ủy"
    )
    with session() as db:
        opened = opening.open_cycle(
            db,
            loaded=load_regime(REFERENCE_REGIME),
            period_code="2024-H1",
            request=request,
            now=at,
        )
        request_emails.queue_request_emails(
            db, cycle_id=opened.cycle_id, now=at, settings=get_settings()
        )
        db.commit()
    send_outbox(at, opened.cycle_id)
    return opened.cycle_id


def plant_tokens(tokens: dict[str, str]) -> None:
    """Give units' requests known tokens, as the .eml fixtures carry them."""
    from sqlmodel import select

    from models.db import session
    from models.tables import DataRequest

    with session() as db:
        for request in db.exec(select(DataRequest)).all():
            if request.unit_code in tokens:
                request.token = tokens[request.unit_code]
        db.commit()


def deliver(maildir: Path, raw: bytes) -> None:
    """Drop a message into a Maildir inbox, as an MDA would."""
    mailbox.Maildir(maildir, create=True).add(raw)


def reply_with_form(
    *,
    token: str,
    sender: str,
    form: bytes | None,
    filename: str = "Phiếu cung cấp thông tin.docx",
    body: str = "Kính gửi Văn phòng, đơn vị gửi phiếu đã điền.",
    subject: str | None = None,
    message_id: str | None = None,
    extra: list[tuple[str, bytes, str]] | None = None,
) -> bytes:
    """A reply as a mail client would send it to the request's reply address."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = f"baocao+{token}@example.org"
    message["Subject"] = subject or f"RE: Đề nghị cung cấp thông tin [RC-{token}]"
    message["Message-ID"] = message_id or make_msgid(domain="unit.example.org")
    message["Date"] = format_datetime(datetime(2024, 6, 19, 9, tzinfo=UTC))
    message.set_content(body)
    if form is not None:
        message.add_attachment(
            form,
            maintype="application",
            subtype="vnd.openxmlformats-officedocument.wordprocessingml.document",
            filename=filename,
        )
    for name, data, content_type in extra or []:
        maintype, subtype = content_type.split("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return message.as_bytes(policy=email.policy.SMTP)


def zip_of(members: dict[str, bytes]) -> bytes:
    """A zip (a docx, a bomb, a broken package) with exactly these members."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def run_cli(
    *args: str,
    prefect: str | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 180,
) -> subprocess.CompletedProcess[str]:
    """`reportcycle ARGS` as a user runs it: a process of its own, from the repository, with
    `env` (default: this process's environment) and, if given, the Prefect API `prefect`."""
    full = {**(os.environ if env is None else env), "COLUMNS": "200"}
    if prefect:
        full["PREFECT_API_URL"] = prefect
    return subprocess.run(
        [sys.executable, "-m", "reportcycle.cli", *args],
        cwd=Path(__file__).resolve().parents[1],
        env=full,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
