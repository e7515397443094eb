"""Consolidation: drafts, the secretariat's decision, the number, the final and its
distribution (DESIGN §8). Every step is safe to run again: a flow run resumed after its
suspension starts from the top, and a process may die anywhere.

- `make_draft` renders a new draft version, one per flow run;
- `decide` records "request changes", or approves: takes the next number of the issuing body
  for the year (committed on its own, reused by a rerun), renders the final from exactly the
  approved draft (or from the edited DOCX handed in), converts it to PDF, archives it and
  queues one email per recipient with an address.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, func, select

from models.db import audit, insert_ignoring_duplicates
from models.report import (
    CycleText,
    DocumentCounter,
    IssuedNumber,
    ReportKind,
    ReportStatus,
    ReportVersion,
)
from models.settings import Settings
from models.tables import Cycle, CycleStatus
from reportcycle.clock import VN_TZ
from reportcycle.cycles import regime_of
from reportcycle.messages import Attachment, make_message
from reportcycle.outbox_queue import QueueItem, enqueue_many
from reportcycle.regime import Regime
from reportcycle.report import Stamp, build_report_context, gather
from reportcycle.report_model import context_from_json, context_to_json
from reportcycle.vntext import ascii_slug, nfc
from reportcycle.workcal import format_date_short, format_date_vi

PDF_TYPE = "application/pdf"


class ConsolidationError(ValueError):
    """A decision or text the system cannot take; the message says why and what to do."""


# --- the secretariat's texts ---------------------------------------------------------------


def read_text_file(path: Path) -> list[str]:
    """Paragraphs of a .txt (UTF-8) or .docx file: one per non-empty line/paragraph, NFC."""
    if not path.is_file():
        raise ConsolidationError(f"{path}: no such file / không tìm thấy tệp")
    if path.suffix.lower() == ".docx":
        from docx import Document

        try:
            lines = [p.text for p in Document(str(path)).paragraphs]
        except Exception as exc:  # python-docx raises several kinds on a bad package
            raise ConsolidationError(f"{path}: not a readable .docx ({exc})") from None
    else:
        try:
            lines = path.read_text(encoding="utf-8-sig").splitlines()
        except UnicodeDecodeError:
            raise ConsolidationError(
                f"{path}: not UTF-8 text; save it as UTF-8 (or as .docx) and try again / "
                "tệp không phải văn bản UTF-8, đề nghị lưu lại dạng UTF-8 hoặc .docx"
            ) from None
    paragraphs = [" ".join(nfc(line).split()) for line in lines]
    paragraphs = [p for p in paragraphs if p]
    if not paragraphs:
        raise ConsolidationError(f"{path}: the file has no text / tệp không có nội dung")
    return paragraphs


def set_text(
    db: Session,
    cycle: Cycle,
    section_code: str,
    paragraphs: list[str],
    *,
    source_name: str,
    now: datetime,
    actor: str = "secretariat",
) -> CycleText:
    """Set (or replace) the secretariat's text of a section for this cycle."""
    regime = regime_of(db, cycle)
    leaves = {s.code: s for s in regime.leaf_sections()}
    if section_code not in leaves:
        raise ConsolidationError(
            f"section {section_code!r} is not a section of {regime.code} without subsections; "
            f"use one of: {', '.join(leaves)}"
        )
    row = db.exec(
        select(CycleText).where(
            CycleText.cycle_id == cycle.id, CycleText.section_code == section_code
        )
    ).first()
    if row is None:
        row = CycleText(
            cycle_id=cycle.id or 0,
            section_code=section_code,
            paragraphs=[],
            source_name=source_name,
            updated_at=now,
        )
    row.paragraphs, row.source_name, row.updated_at, row.updated_by = (
        paragraphs,
        source_name,
        now,
        actor,
    )
    db.add(row)
    db.flush()
    audit(
        db,
        at=now,
        actor=actor,
        action="report.text_set",
        entity="cycletext",
        entity_id=row.id,
        cycle_id=cycle.id,
        section=section_code,
        source=source_name,
        paragraphs=len(paragraphs),
    )
    return row


# --- drafts -------------------------------------------------------------------------------


def make_draft(
    db: Session,
    cycle: Cycle,
    *,
    now: datetime,
    settings: Settings,
    flow_run_id: str | None = None,
) -> ReportVersion:
    """A new draft from the contributions counted now; the same one again for a flow run
    that already made it. Earlier drafts still awaiting a decision are superseded."""
    from reportcycle.report_docx import render_docx

    if flow_run_id is not None:
        made = db.exec(
            select(ReportVersion).where(ReportVersion.flow_run_id == flow_run_id)
        ).first()
        if made is not None:
            _archive(settings, cycle, made)
            return made
    version = _next_version(db, cycle)
    local = now.astimezone(VN_TZ)
    label = f"DỰ THẢO lần {version} — {local:%d/%m/%Y %H:%M}"
    ctx, summary = build_report_context(gather(db, cycle), stamp=None, draft_label=label)
    docx = render_docx(ctx)
    for earlier in db.exec(
        select(ReportVersion).where(
            ReportVersion.cycle_id == cycle.id, ReportVersion.status == ReportStatus.AWAITING
        )
    ).all():
        earlier.status = ReportStatus.SUPERSEDED
        db.add(earlier)
    row = ReportVersion(
        cycle_id=cycle.id or 0,
        version=version,
        kind=ReportKind.DRAFT,
        status=ReportStatus.AWAITING,
        flow_run_id=flow_run_id,
        created_at=now,
        docx=docx,
        docx_sha256=hashlib.sha256(docx).hexdigest(),
        summary=summary,
        context=context_to_json(ctx),
    )
    db.add(row)
    if cycle.status == CycleStatus.OPEN:
        cycle.status = CycleStatus.CONSOLIDATING
        db.add(cycle)
    db.flush()
    _archive(settings, cycle, row)
    audit(
        db,
        at=now,
        action="report.draft",
        entity="reportversion",
        entity_id=row.id,
        cycle_id=cycle.id,
        version=version,
        path=row.path,
        counted=summary["counted"],
        units=summary["units"],
        not_replied=summary["not_replied"],
    )
    return row


def _next_version(db: Session, cycle: Cycle) -> int:
    last = db.exec(
        select(func.max(ReportVersion.version)).where(ReportVersion.cycle_id == cycle.id)
    ).one()
    return (last or 0) + 1


def latest_draft(db: Session, cycle: Cycle) -> ReportVersion | None:
    return db.exec(
        select(ReportVersion)
        .where(ReportVersion.cycle_id == cycle.id, ReportVersion.kind == ReportKind.DRAFT)
        .order_by(col(ReportVersion.version).desc())
    ).first()


def final_of(db: Session, cycle: Cycle) -> ReportVersion | None:
    return db.exec(
        select(ReportVersion).where(
            ReportVersion.cycle_id == cycle.id, ReportVersion.kind == ReportKind.FINAL
        )
    ).first()


# --- the decision -------------------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    approve: bool
    at: datetime
    comment: str = ""
    edited: Path | None = None  # a DOCX the secretariat edited, to use as the final
    actor: str = "secretariat"


def decide(
    db: Session, cycle: Cycle, draft: ReportVersion, decision: Decision, *, settings: Settings
) -> ReportVersion:
    """Record the decision on `draft`; on approval return the final (made once)."""
    done = final_of(db, cycle)
    if done is not None:
        return done
    if draft.status == ReportStatus.SUPERSEDED:
        newer = latest_draft(db, cycle)
        raise ConsolidationError(
            f"draft {draft.version} was replaced by draft {newer.version if newer else '?'}; "
            "decide on the latest draft"
        )
    if not decision.approve:
        draft.status = ReportStatus.CHANGES_REQUESTED
        _decided(draft, decision)
        db.add(draft)
        audit(
            db,
            at=decision.at,
            actor=decision.actor,
            action="report.changes_requested",
            entity="reportversion",
            entity_id=draft.id,
            cycle_id=cycle.id,
            version=draft.version,
            comment=decision.comment,
        )
        return draft
    edited = _read_edited(decision.edited) if decision.edited else None
    regime = regime_of(db, cycle)
    on = decision.at.astimezone(VN_TZ).date()
    number = issue_number(db, cycle, regime, on=on, at=decision.at)
    db.commit()  # the number is taken for good: a rerun after a crash reuses it
    return _issue_final(db, cycle, regime, draft, decision, number, edited, settings=settings)


def _read_edited(path: Path) -> bytes:
    if not path.is_file():
        raise ConsolidationError(f"{path}: no such file / không tìm thấy tệp")
    data = path.read_bytes()
    if not data.startswith(b"PK"):
        raise ConsolidationError(
            f"{path}: not a .docx file; save the edited report as Word .docx and try again / "
            "tệp không phải .docx"
        )
    return data


def issue_number(
    db: Session, cycle: Cycle, regime: Regime, *, on: date, at: datetime
) -> IssuedNumber:
    """The next number of the issuing body in `on`'s year, once per cycle (atomic: the counter
    row is updated in place, so concurrent approvals serialise on it)."""
    issued = db.exec(select(IssuedNumber).where(IssuedNumber.cycle_id == cycle.id)).first()
    if issued is not None:
        return issued
    issuer, year = regime.issuer.name, on.year
    key = _counter(db, issuer, year)
    number = db.execute(
        update(DocumentCounter)
        .where(col(DocumentCounter.key) == key)
        .values(last_number=col(DocumentCounter.last_number) + 1)
        .returning(col(DocumentCounter.last_number))
    ).scalar_one()
    issued = IssuedNumber(
        cycle_id=cycle.id or 0,
        issuer=issuer,
        year=year,
        number=number,
        text=f"{number:02d}/{regime.issuer.symbol}",
        issued_at=at,
    )
    db.add(issued)
    db.flush()
    audit(
        db,
        at=at,
        action="report.numbered",
        entity="issuednumber",
        entity_id=issued.id,
        cycle_id=cycle.id,
        number=issued.text,
        issuer=issuer,
        year=year,
    )
    return issued


def set_counter(db: Session, regime: Regime, *, year: int, last: int, at: datetime) -> None:
    """Align the counter with the clerk's register: the next number will be `last + 1`."""
    issuer = regime.issuer.name
    key = _counter(db, issuer, year)
    db.execute(
        update(DocumentCounter).where(col(DocumentCounter.key) == key).values(last_number=last)
    )
    audit(
        db,
        at=at,
        action="report.counter_set",
        entity="documentcounter",
        issuer=issuer,
        year=year,
        last=last,
    )


def _counter(db: Session, issuer: str, year: int) -> str:
    """The counter row of `issuer` in `year`, created at 0 if missing; returns its key."""
    key = f"{issuer}/{year}"
    db.execute(
        insert_ignoring_duplicates(db, DocumentCounter, "key").values(
            key=key, issuer=issuer, year=year, last_number=0
        )
    )
    return key


def _issue_final(
    db: Session,
    cycle: Cycle,
    regime: Regime,
    draft: ReportVersion,
    decision: Decision,
    number: IssuedNumber,
    edited: bytes | None,
    *,
    settings: Settings,
) -> ReportVersion:
    from reportcycle.convert import convert
    from reportcycle.report_docx import finalize_edited, render_docx

    on = decision.at.astimezone(VN_TZ).date()
    stamp = Stamp(number.text, on)
    approved = context_from_json(draft.context)
    place_date = f"{regime.issuer.place}, {format_date_vi(on)}"
    number_line = f"Số: {number.text}"
    base = draft
    if edited is not None:
        base = _store_edited(db, cycle, draft, edited, decision, settings=settings)
        docx = finalize_edited(edited, number_line=number_line, place_date=place_date)
    else:
        final_ctx = replace(
            approved,
            number_line=number_line,
            place_date=place_date,
            draft=False,
            draft_label=None,
            review_notes=(),
        )
        docx = render_docx(final_ctx)
    pdf = convert(docx, source_suffix=".docx", target="pdf")
    final = ReportVersion(
        cycle_id=cycle.id or 0,
        version=_next_version(db, cycle),
        kind=ReportKind.FINAL,
        status=ReportStatus.ISSUED,
        based_on_id=base.id,
        created_at=decision.at,
        docx=docx,
        docx_sha256=hashlib.sha256(docx).hexdigest(),
        pdf=pdf,
        number_text=stamp.number_text,
        summary={**draft.summary, "number": stamp.number_text, "date": on.isoformat()},
        context=draft.context,
    )
    _decided(final, decision)
    db.add(final)
    for approved_row in {draft.id: draft, base.id: base}.values():
        approved_row.status = ReportStatus.APPROVED
        _decided(approved_row, decision)
        db.add(approved_row)
    cycle.status = CycleStatus.CLOSED
    db.add(cycle)
    db.flush()
    _archive(settings, cycle, final)
    queued = queue_distribution(db, cycle, regime, final, on=on, now=decision.at, settings=settings)
    audit(
        db,
        at=decision.at,
        actor=decision.actor,
        action="report.approved",
        entity="reportversion",
        entity_id=final.id,
        cycle_id=cycle.id,
        draft_version=draft.version,
        edited=edited is not None,
        number=stamp.number_text,
        path=final.path,
        pdf_path=final.pdf_path,
        recipients=queued,
        comment=decision.comment,
    )
    return final


def _store_edited(
    db: Session,
    cycle: Cycle,
    draft: ReportVersion,
    data: bytes,
    decision: Decision,
    *,
    settings: Settings,
) -> ReportVersion:
    row = ReportVersion(
        cycle_id=cycle.id or 0,
        version=_next_version(db, cycle),
        kind=ReportKind.EDITED,
        status=ReportStatus.APPROVED,
        based_on_id=draft.id,
        created_at=decision.at,
        docx=data,
        docx_sha256=hashlib.sha256(data).hexdigest(),
        summary={"file": str(decision.edited)},
        context={},
    )
    db.add(row)
    db.flush()
    _archive(settings, cycle, row)
    return row


def _decided(row: ReportVersion, decision: Decision) -> None:
    row.decided_at, row.decided_by = decision.at, decision.actor
    row.decision_comment = decision.comment or None


# --- distribution -------------------------------------------------------------------------


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
    title = context_from_json(final.context).summary
    stem = _file_stem(cycle, final)
    context: dict[str, Any] = {
        "issuer_name": regime.issuer.name,
        "number": final.number_text,
        "date_text": format_date_short(on),
        "title": title,
        "signer": regime.signer,
        "signature": f"Văn phòng {regime.issuer.name}",
    }
    items, addresses = [], []
    for recipient in regime.recipients:
        if recipient.email is None or recipient.email in addresses:
            continue
        addresses.append(recipient.email)
        message = make_message(
            "distribution",
            sender=settings.mail_from,
            to=[recipient.email],
            context={**context, "recipient": recipient.name},
            domain=settings.reply_domain,
            now=now,
            attachments=[
                Attachment(f"{stem}.pdf", final.pdf, PDF_TYPE),
                Attachment(f"{stem}.docx", final.docx),
            ],
        )
        items.append(
            QueueItem(
                key=f"{cycle.code}/report/final/{recipient.email.lower()}",
                kind="distribution",
                message=message,
                cycle_id=cycle.id,
            )
        )
    enqueue_many(db, items, now=now)
    return addresses


# --- the archive --------------------------------------------------------------------------


def archive_dir(settings: Settings, cycle: Cycle) -> Path:
    return settings.home / "reports" / cycle.code


def _file_stem(cycle: Cycle, row: ReportVersion) -> str:
    if row.kind == ReportKind.FINAL and row.number_text:
        return f"bao-cao-{ascii_slug(row.number_text)}-{cycle.period_code}"
    kind = {ReportKind.DRAFT: "du-thao", ReportKind.EDITED: "ban-sua"}[ReportKind(row.kind)]
    return f"{cycle.code}-v{row.version:02d}-{kind}"


def _archive(settings: Settings, cycle: Cycle, row: ReportVersion) -> None:
    """Write the version's files (again, if missing) and note their paths on the row."""
    folder = archive_dir(settings, cycle)
    folder.mkdir(parents=True, exist_ok=True)
    stem = _file_stem(cycle, row)
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
