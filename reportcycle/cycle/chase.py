"""Chasing late units: reminders on the regime's ladder, escalation to the unit's head, and a
daily digest for the secretariat. The plain functions behind the `chase-late-units` flow."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from models.db import audit_many, session
from models.inbound import ReviewState, Submission
from models.settings import Settings, get_settings
from models.tables import Cycle, CycleStatus, DataRequest, OutboundMessage, Unit
from reportcycle.calendar.dates import format_date_vi
from reportcycle.clock import VN_TZ
from reportcycle.cycle.digest import queue_digest, sent_rungs
from reportcycle.cycle.ladder import due_rung, in_office_hours
from reportcycle.cycle.request_emails import TemplateCache, render_form, unit_message
from reportcycle.lookup import (
    calendar_for,
    counted_submission,
    cycle_context,
    regime_of,
    submissions_by_request,
)
from reportcycle.outbox.queue import QueueItem, enqueue_many
from reportcycle.regime.schema import Regime


@dataclass
class ChaseReport:
    skipped: str | None = None  # why nothing was considered (a holiday, out of office hours)
    reminders: dict[str, int] = field(default_factory=dict)  # unit code -> rung (1-based)
    digests: int = 0


def reminder_key(cycle: Cycle, request: DataRequest, rung: int) -> str:
    return f"{cycle.code}/{request.unit_code}/reminder/{rung + 1}"


def chase(db: Session, *, now: datetime, settings: Settings) -> ChaseReport:
    """Queue every reminder and digest due at `now` for the open cycles (not committed)."""
    report = ChaseReport()
    cycles = db.exec(select(Cycle).where(col(Cycle.status) == CycleStatus.OPEN)).all()
    for cycle in cycles:
        regime = regime_of(db, cycle)
        calendar = calendar_for(regime)
        if not in_office_hours(now, calendar, settings.office_start, settings.office_end):
            report.skipped = _why_not(now, calendar)
            continue
        report.reminders.update(_queue_reminders(db, cycle, regime, now=now, settings=settings))
        report.digests += queue_digest(db, cycle, regime, now=now, settings=settings)
    return report


def _why_not(now: datetime, calendar: Any) -> str:
    local = now.astimezone(VN_TZ)
    if not calendar.is_working_day(local.date()):
        name = calendar.holiday_name(local.date())
        return f"{local.date()} is not a working day" + (f" ({name})" if name else "")
    return f"{local:%H:%M} is outside office hours"


REMINDER_CHUNK = 200  # reminders composed and queued at a time; their forms then dropped


def _queue_reminders(
    db: Session, cycle: Cycle, regime: Regime, *, now: datetime, settings: Settings
) -> dict[str, int]:
    """Queue the due rung for every unit still missing something; {unit: rung} queued now.

    Composed and queued a chunk at a time: each reminder carries its form (~30 KB), and
    holding them all until one insert grew with the number of late units (issue 15)."""
    due = _due_reminders(db, cycle, regime, now=now, settings=settings)
    context = cycle_context(cycle, regime, settings)
    cache: TemplateCache = {}
    queued: dict[str, int] = {}
    for start in range(0, len(due), REMINDER_CHUNK):
        chunk: dict[str, tuple[QueueItem, int]] = {}
        for request, rung, missing in due[start : start + REMINDER_CHUNK]:
            message = _reminder(
                db, cycle, regime, request, rung, missing, context, now, settings, cache
            )
            key = reminder_key(cycle, request, rung)
            item = QueueItem(key, "reminder", message, cycle.id, request.id)
            chunk[request.unit_code] = (item, rung)
        created = enqueue_many(db, [item for item, _ in chunk.values()], now=now)
        done = {unit: pair for unit, pair in chunk.items() if pair[0].key in created}
        _audit_reminders(db, cycle, regime, list(done.values()), now)
        queued.update({unit: rung + 1 for unit, (_, rung) in done.items()})
    return queued


def _due_reminders(
    db: Session, cycle: Cycle, regime: Regime, *, now: datetime, settings: Settings
) -> list[tuple[DataRequest, int, list[tuple[str, str]]]]:
    """(request, rung, what is missing) for every request a reminder is due for at `now`."""
    requests = db.exec(
        select(DataRequest).where(DataRequest.cycle_id == cycle.id).order_by(col(DataRequest.id))
    ).all()
    versions = submissions_by_request(db, cycle, contents=False)
    sent, calendar = sent_rungs(db, cycle), calendar_for(regime)
    due = []
    for request in requests:
        missing = _still_missing(versions.get(request.id or 0, []))
        if missing is None:
            continue
        rung = due_rung(
            deadline=request.deadline,
            steps=regime.reminders,
            calendar=calendar,
            sent=sent.get(request.unit_code, set()),
            now=now,
            start=settings.office_start,
            end=settings.office_end,
        )
        if rung is not None:
            due.append((request, rung, missing))
    return due


def _audit_reminders(
    db: Session, cycle: Cycle, regime: Regime, queued: list[tuple[QueueItem, int]], now: datetime
) -> None:
    audit_many(
        db,
        [
            {
                "at": now,
                "actor": "system",
                "action": "request.reminded",
                "entity": "datarequest",
                "entity_id": item.request_id,
                "cycle_id": cycle.id,
                "details": {
                    "key": item.key,
                    "rung": rung + 1,
                    "escalated": regime.reminders[rung].escalate,
                },
            }
            for item, rung in queued
        ],
    )


def _still_missing(versions: list[Submission]) -> list[tuple[str, str]] | None:
    """None: nothing to ask (answered in full, or a reply is waiting for our review).
    []: nothing received. Otherwise the (kind, code) pairs still empty in the counted reply."""
    if any(v.review == ReviewState.PENDING for v in versions):
        return None
    counted = counted_submission(versions)
    if counted is None:
        return []
    missing = [("section", c) for c in counted.missing_sections]
    missing += [("indicator", c) for c in counted.missing_indicators]
    return missing or None


def _reminder(
    db: Session,
    cycle: Cycle,
    regime: Regime,
    request: DataRequest,
    rung: int,
    missing: list[tuple[str, str]],
    context: dict[str, Any],
    now: datetime,
    settings: Settings,
    cache: TemplateCache,
) -> Any:
    step = regime.reminders[rung]
    assert request.id is not None
    filename, form = render_form(db, request_id=request.id, settings=settings, cache=cache)
    unit = db.get(Unit, request.unit_id)
    cc = [unit.head_email] if step.escalate and unit and unit.head_email else []
    today = now.astimezone(VN_TZ).date()
    return unit_message(
        "reminder",
        request=request,
        filename=filename,
        form=form,
        now=now,
        settings=settings,
        cc=cc,
        headers=_in_reply_to_request(db, request),
        context={
            **context,
            "rung": rung + 1,
            "escalate": bool(cc),
            "final": step.final,
            "overdue": today > request.deadline,
            "today_text": format_date_vi(today),
            "received": bool(missing),
            "missing": _labels(regime, missing, context["title_vars"]),
        },
    )


def _labels(
    regime: Regime, missing: list[tuple[str, str]], title_vars: dict[str, str]
) -> list[str]:
    """What a reminder names as still missing: "Mục 3a. …", "Số liệu: …"."""
    return [
        f"Mục {code}. {regime.section(code).title.format(**title_vars)}"
        if kind == "section"
        else f"Số liệu: {regime.indicator(code).label}"
        for kind, code in missing
    ]


def _in_reply_to_request(db: Session, request: DataRequest) -> dict[str, str]:
    """A reminder threads under the request email, so the unit's mail client shows them together."""
    original = db.exec(
        select(OutboundMessage.message_id).where(
            OutboundMessage.request_id == request.id, OutboundMessage.kind == "request"
        )
    ).first()
    return {"In-Reply-To": original, "References": original} if original else {}


def queue_reminders(now: datetime) -> ChaseReport:
    """The `chase-late-units` flow's step, in its own session: for every open cycle, the
    reminders and escalations due at `now`, and the daily digest."""
    with session() as db:
        report = chase(db, now=now, settings=get_settings())
        db.commit()
    return report
