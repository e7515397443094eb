"""Where report versions go: the archive folder (every version, as files beside the rows in
the database) and, for the final, one email per recipient."""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session

from models.report import ReportKind, ReportVersion
from models.settings import Settings
from models.tables import Cycle
from reportcycle.calendar.dates import format_date_short
from reportcycle.outbox.messages import Attachment, make_message
from reportcycle.outbox.queue import QueueItem, enqueue_many
from reportcycle.regime.schema import Regime
from reportcycle.report.context import context_from_json
from reportcycle.vietnamese import ascii_slug, lower_first

PDF_TYPE = "application/pdf"


def queue_distribution(
    db: Session,
    cycle: Cycle,
    regime: Regime,
    final: ReportVersion,
    *,
    on: date,
    now: datetime,
    settings: Settings,
) -> list[str]:
    """One email per recipient with an address, the final PDF and DOCX attached; queued under
    a key per cycle and address, so an address listed twice or a rerun sends once."""
    assert final.pdf is not None
    assert final.number_text is not None
    context = _distribution_context(regime, final, on=on)
    stem = file_stem(cycle, final)
    attachments = (
        Attachment(f"{stem}.pdf", final.pdf, PDF_TYPE),
        Attachment(f"{stem}.docx", final.docx),
    )
    items, addresses = [], []
    for recipient in regime.recipients:
        if recipient.email is None or recipient.email in addresses:
            continue
        addresses.append(recipient.email)
        items.append(
            _distribution_item(
                cycle,
                email=recipient.email,
                context={**context, "recipient": recipient.name},
                attachments=attachments,
                now=now,
                settings=settings,
            )
        )
    enqueue_many(db, items, now=now)
    return addresses


def _distribution_context(regime: Regime, final: ReportVersion, *, on: date) -> dict[str, Any]:
    """What every recipient's email shares; each adds only its own `recipient`."""
    title = context_from_json(final.context).summary
    return {
        "issuer_name": regime.issuer.name,
        "number": final.number_text,
        "date_text": format_date_short(on),
        "title": title,
        "subject": lower_first(title),  # "kết quả …", inside a sentence
        "signer": regime.signer,
        "signature": f"Văn phòng {regime.issuer.name}",
    }


def _distribution_item(
    cycle: Cycle,
    *,
    email: str,
    context: dict[str, Any],
    attachments: Sequence[Attachment],
    now: datetime,
    settings: Settings,
) -> QueueItem:
    message = make_message(
        "distribution",
        sender=settings.mail_from,
        to=[email],
        context=context,
        domain=settings.reply_domain,
        now=now,
        attachments=attachments,
    )
    return QueueItem(
        key=f"{cycle.code}/report/final/{email.lower()}",
        kind="distribution",
        message=message,
        cycle_id=cycle.id,
    )


def archive_dir(settings: Settings, cycle: Cycle) -> Path:
    return settings.home / "reports" / cycle.code


def file_stem(cycle: Cycle, row: ReportVersion) -> str:
    if row.kind == ReportKind.FINAL and row.number_text:
        return f"bao-cao-{ascii_slug(row.number_text)}-{cycle.period_code}"
    kind = {ReportKind.DRAFT: "du-thao", ReportKind.EDITED: "ban-sua"}[ReportKind(row.kind)]
    return f"{cycle.code}-v{row.version:02d}-{kind}"


def archive(settings: Settings, cycle: Cycle, row: ReportVersion) -> None:
    """Write the version's files (again, if missing) and note their paths on the row."""
    folder = archive_dir(settings, cycle)
    folder.mkdir(parents=True, exist_ok=True)
    stem = file_stem(cycle, row)
    row.path = str(_write(folder / f"{stem}.docx", row.docx))
    if row.pdf is not None:
        row.pdf_path = str(_write(folder / f"{stem}.pdf", row.pdf))


def _write(path: Path, data: bytes) -> Path:
    if path.is_file() and path.read_bytes() == data:
        return path
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_bytes(data)
    temporary.replace(path)
    return path
