"""The secretariat's decision on a draft (DESIGN §8), and the final it issues. Every step is
safe to run again: a flow run resumed after its suspension starts from the top, and a process
may die anywhere.

`decide` records "request changes", or approves: takes the next number of the issuing body for
the year (committed on its own, reused by a rerun), renders the final from exactly the
approved draft (or from the edited DOCX handed in), converts it to PDF, archives it and queues
one email per recipient with an address.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlmodel import Session

from models.db import audit
from models.report import (
    IssuedNumber,
    ReportKind,
    ReportStatus,
    ReportVersion,
)
from models.settings import Settings
from models.tables import Cycle, CycleStatus
from reportcycle.clock import VN_TZ
from reportcycle.faults import checkpoint
from reportcycle.lookup import regime_of
from reportcycle.regime.schema import Regime
from reportcycle.report import signing
from reportcycle.report.archive import archive, queue_distribution
from reportcycle.report.build import FinalHeader, as_final, final_header
from reportcycle.report.context import context_from_json
from reportcycle.report.drafts import final_of, latest_draft, next_version
from reportcycle.report.errors import ConsolidationError
from reportcycle.report.numbering import issue_number
from reportcycle.report.rollup import contribute_to_parent


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
    signing.check_key(settings)  # before a number is taken for a final that cannot be signed
    regime = regime_of(db, cycle)
    if edited is not None and decision.edited is not None:
        check_edited(decision.edited, edited, regime)  # before the number is taken
    on = decision.at.astimezone(VN_TZ).date()
    number = issue_number(db, cycle, regime, on=on, at=decision.at)
    db.commit()  # the number is taken for good: a rerun after a crash reuses it
    checkpoint("after_number")
    return _issue_final(db, cycle, regime, draft, decision, number, edited, settings=settings)


def check_edited(path: Path, data: bytes, regime: Regime) -> None:
    """Refuse an edited DOCX that cannot be made final, naming the file and what it lacks."""
    from reportcycle.report.finalize import edited_problem

    problem = edited_problem(data, place=regime.issuer.place)
    if problem is not None:
        raise ConsolidationError(
            f"{path}: {problem}. Sửa tệp (hoặc tải lại dự thảo) rồi chạy lại `approve`; "
            "dự thảo vẫn chờ phê duyệt, chưa lấy số / fix the file (or start again from the "
            "draft) and run `approve` again; the draft still awaits its decision, no number "
            "was taken"
        )


def read_edited(path: Path) -> bytes:
    """The edited DOCX's bytes, or a ConsolidationError saying why it cannot be one."""
    return _read_edited(path)


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
    on = decision.at.astimezone(VN_TZ).date()
    base = draft
    if edited is not None:
        base = _store_edited(db, cycle, draft, edited, decision, settings=settings)
    docx = _final_docx(draft, edited, final_header(regime, number.text, on))
    checkpoint("after_final_docx")
    pdf = _final_pdf(docx, regime, decision, settings=settings)
    checkpoint("after_pdf")
    final = ReportVersion(
        cycle_id=cycle.id or 0,
        version=next_version(db, cycle),
        kind=ReportKind.FINAL,
        status=ReportStatus.ISSUED,
        based_on_id=base.id,
        created_at=decision.at,
        docx=docx,
        docx_sha256=hashlib.sha256(docx).hexdigest(),
        pdf=pdf,
        number_text=number.text,
        summary={**draft.summary, "number": number.text, "date": on.isoformat()},
        context=draft.context,
    )
    _decided(final, decision)
    db.add(final)
    _close(db, cycle, {draft.id: draft, base.id: base}.values(), decision)
    contribute_to_parent(db, cycle, regime, final, draft)  # a lower body's report goes up
    archive(settings, cycle, final)
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
        number=number.text,
        path=final.path,
        pdf_path=final.pdf_path,
        recipients=queued,
        comment=decision.comment,
    )
    return final


def _final_pdf(docx: bytes, regime: Regime, decision: Decision, *, settings: Settings) -> bytes:
    """The final's PDF by LibreOffice, signed with the organisation's key where one is set."""
    from reportcycle.documents.convert import convert

    stamp = signing.Stamp(regime.signer.name, regime.issuer.name, decision.at)
    return signing.sign_final(
        convert(docx, source_suffix=".docx", target="pdf"), stamp, settings=settings
    )


def _final_docx(draft: ReportVersion, edited: bytes | None, header: FinalHeader) -> bytes:
    """The final: the secretariat's edited DOCX stamped, or exactly the approved draft's
    context rendered again as a final; never a fresh merge."""
    from reportcycle.report.finalize import finalize_edited
    from reportcycle.report.render import render_docx

    context = context_from_json(draft.context)
    if edited is not None:
        return finalize_edited(
            edited,
            number_line=header.number_line,
            place_date=header.place_date,
            drop_indicator_tables=not context.indicator_tables_in_final,
        )
    return render_docx(as_final(context, header))


def _close(
    db: Session, cycle: Cycle, approved: Iterable[ReportVersion], decision: Decision
) -> None:
    """The approved draft (and its edited copy) marked approved, the cycle closed."""
    for row in approved:
        row.status = ReportStatus.APPROVED
        _decided(row, decision)
        db.add(row)
    cycle.status = CycleStatus.CLOSED
    db.add(cycle)
    db.flush()


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
        version=next_version(db, cycle),
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
    archive(settings, cycle, row)
    return row


def _decided(row: ReportVersion, decision: Decision) -> None:
    row.decided_at, row.decided_by = decision.at, decision.actor
    row.decision_comment = decision.comment or None
