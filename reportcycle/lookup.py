"""The queries every room shares, each in one place: a cycle by code, the regime a cycle was
opened under and its calendar, the version of a unit's reply that counts, and the variables of
a cycle's titles and letters."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol, TypeVar, cast

from sqlalchemy import select as sa_select
from sqlalchemy.orm import QueryableAttribute, defer
from sqlmodel import Session, col, select

from models.inbound import ReviewState, Submission
from models.settings import Settings
from models.tables import Cycle, RegimeVersion
from models.types import JsonOnce, json_as_text
from reportcycle.calendar.dates import format_date_short, format_date_vi
from reportcycle.calendar.periods import next_period, parse_period

if TYPE_CHECKING:  # imported where used: `status` needs neither the regime nor the calendar
    from reportcycle.calendar.workdays import WorkCalendar
    from reportcycle.regime.schema import Regime

_VERSIONS: dict[str, Regime] = {}  # versions never change: safe to keep per process


def find_cycle(db: Session, ref: str) -> Cycle:
    """A cycle by code, or by numeric id."""
    query = select(Cycle).where(Cycle.code == ref)
    found = db.exec(query).first()
    if found is None and ref.isdigit():
        found = db.get(Cycle, int(ref))
    if found is None:
        known = ", ".join(db.exec(select(Cycle.code).order_by(col(Cycle.id))).all()) or "chưa có"
        raise LookupError(f"không có kỳ báo cáo {ref!r}; các kỳ đã có: {known}")
    return found


def regime_of(db: Session, cycle: Cycle) -> Regime:
    """The regime as it was when the cycle opened; later edits of the file do not change it."""
    from reportcycle.regime.schema import Regime

    regime = _VERSIONS.get(cycle.regime_sha256)
    if regime is None:
        body = db.exec(
            select(RegimeVersion.body).where(RegimeVersion.sha256 == cycle.regime_sha256)
        ).one()
        regime = _VERSIONS[cycle.regime_sha256] = Regime.model_validate(body)
    return regime


def calendar_for(regime: Regime) -> WorkCalendar:
    from reportcycle.calendar.workdays import WorkCalendar

    return WorkCalendar(regime.calendar.days_off, regime.calendar.working_days)


# What a reply says (its text and figures, a few KB a version): status and chase need only
# each version's review, lateness and what is missing, so they leave these unloaded.
CONTENTS = (Submission.sections, Submission.indicators, Submission.evidence, Submission.warnings)


def submissions_by_request(
    db: Session, cycle: Cycle, *, contents: bool = True
) -> dict[int, list[Submission]]:
    """Every version of every unit's reply in the cycle, oldest first, by request id.

    `contents=False` defers what the replies say (a lazy load per row if read after all)."""
    versions: dict[int, list[Submission]] = defaultdict(list)
    query = (
        select(Submission).where(Submission.cycle_id == cycle.id).order_by(col(Submission.version))
    )
    if not contents:
        query = query.options(*(defer(cast(QueryableAttribute[Any], c)) for c in CONTENTS))
    for submission in db.exec(query).all():
        versions[submission.request_id].append(submission)
    return versions


class SubmissionState(NamedTuple):
    """What the progress of a reply needs of a version, without its text (status, chase)."""

    request_id: int
    version: int
    received_at: datetime
    late: bool
    review: str
    missing_sections: list[str]
    missing_indicators: list[str]


SUBMISSION_STATE: tuple[Any, ...] = tuple(
    col(c)
    for c in (
        Submission.request_id,
        Submission.version,
        Submission.received_at,
        Submission.late,
        Submission.review,
    )
) + (
    json_as_text(col(Submission.missing_sections)),
    json_as_text(col(Submission.missing_indicators)),
)


def submission_states(db: Session, cycle: Cycle) -> dict[int, list[SubmissionState]]:
    """`submissions_by_request` without the sections, indicators and evidence: a cycle of
    5,000 replies loads in a tenth of the time and memory."""
    versions: dict[int, list[SubmissionState]] = defaultdict(list)
    rows = (
        db.connection()
        .execute(
            sa_select(*SUBMISSION_STATE)
            .where(col(Submission.cycle_id) == cycle.id)
            .order_by(col(Submission.version))
        )
        .all()
    )
    decode = JsonOnce()  # the same few "missing" lists on thousands of rows
    for row in rows:
        r = tuple(row)
        versions[r[0]].append(
            SubmissionState(r[0], r[1], r[2], r[3], r[4], decode(r[5]), decode(r[6]))
        )
    return versions


class _Reviewed(Protocol):
    @property
    def review(self) -> str: ...


V = TypeVar("V", bound=_Reviewed)


def counted_submission(versions: Sequence[V]) -> V | None:
    """The version that counts: the latest one accepted, with or without a review."""
    usable = [v for v in versions if v.review in (ReviewState.NONE, ReviewState.ACCEPTED)]
    return usable[-1] if usable else None


def title_variables(cycle: Cycle) -> dict[str, str]:
    """What a regime's titles may name: `{period}` and `{next_period}` ("6 tháng đầu năm 2024")."""
    period = parse_period(cycle.period_code)
    return {"period": period.label_vi, "next_period": next_period(period).label_vi}


def cycle_context(cycle: Cycle, regime: Regime, settings: Settings) -> dict[str, Any]:
    """The variables every letter of a cycle shares (requests, reminders, digests)."""
    from reportcycle.superior_request import SuperiorRequest

    title_vars = title_variables(cycle)
    if cycle.request_ref and cycle.request_date and cycle.request_from:
        basis = SuperiorRequest(
            ref=cycle.request_ref, date=cycle.request_date, sender=cycle.request_from
        ).sentence()
    else:
        basis = f"chế độ báo cáo định kỳ ({regime.name})"
    return {
        "period_label": title_vars["period"],
        "title_vars": title_vars,
        "report_title": regime.report_title.format(**title_vars),
        "basis": basis,
        "issuer_short": regime.issuer.short_name,
        "window_start": format_date_short(cycle.window_start),
        "window_end": format_date_short(cycle.window_end),
        "deadline_text": format_date_vi(cycle.deadline),
        "signature": f"Văn phòng {regime.issuer.name}",
        "cycle_code": cycle.code,
    }
