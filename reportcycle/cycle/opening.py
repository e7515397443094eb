"""Opening a cycle: the plain functions behind the `open-cycle` flow (no Prefect here)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from sqlmodel import Session, select

from models.db import audit, audit_many, session
from models.tables import Cycle, DataRequest, Unit
from reportcycle.calendar.periods import (
    DeadlineRule,
    Period,
    WindowRule,
    deadline,
    parse_period,
    period_containing,
    window,
)
from reportcycle.cycle.parents import child_deadline
from reportcycle.cycle.regime_record import sync_regime
from reportcycle.lookup import calendar_for
from reportcycle.outbox.messages import new_token
from reportcycle.regime.loading import LoadedRegime, load_regime
from reportcycle.regime.schema import Regime
from reportcycle.superior_request import SuperiorRequest


@dataclass(frozen=True)
class OpenedCycle:
    cycle_id: int
    code: str
    created: bool


def cycle_code(regime_code: str, period: Period) -> str:
    return f"{regime_code}-{period.code}"


def open_cycle(
    db: Session,
    *,
    loaded: LoadedRegime,
    period_code: str,
    request: SuperiorRequest | None,
    now: datetime,
) -> OpenedCycle:
    """Create the cycle and one request per assigned unit; if it exists, create nothing."""
    regime = loaded.regime
    period = _period_of(regime, period_code, now)
    code = cycle_code(regime.code, period)
    found = db.exec(select(Cycle).where(Cycle.code == code)).first()
    if found is not None:
        assert found.id is not None
        return OpenedCycle(found.id, code, created=False)
    cutoff = child_deadline(db, loaded, period.code)  # checked before anything is written
    regime_row = sync_regime(db, loaded, now=now)
    start, end, due = _dates(regime, period, now)
    due = cutoff or due  # a parent's common cutoff wins over the regime's own rule
    assert regime_row.id is not None
    cycle = Cycle(
        code=code,
        regime_id=regime_row.id,
        period_code=period.code,
        window_start=start,
        window_end=end,
        deadline=due,
        opened_at=now,
        request_ref=request.ref if request else None,
        request_date=request.date if request else None,
        request_from=request.sender if request else None,
        regime_sha256=loaded.sha256,
    )
    db.add(cycle)
    db.flush()
    assert cycle.id is not None
    audit(
        db,
        at=now,
        action="cycle.opened",
        entity="cycle",
        entity_id=cycle.id,
        cycle_id=cycle.id,
        period=period.code,
        deadline=due.isoformat(),
        request=request.model_dump(mode="json") if request else None,
    )
    _create_requests(db, cycle=cycle, regime=regime, now=now)
    return OpenedCycle(cycle.id, code, created=True)


def _period_of(regime: Regime, period_code: str, now: datetime) -> Period:
    period = parse_period(period_code)
    if period.kind != regime.period:
        raise ValueError(
            f"period {period.code} is a {period.kind.value} period but regime {regime.code} "
            f"reports per {regime.period.value}; give a period like "
            f"{_example_period(regime, now).code}"
        )
    return period


def _dates(regime: Regime, period: Period, now: datetime) -> tuple[date, date, date]:
    """The data window and the deadline, in the regime's working days."""
    rule = WindowRule(regime.window.start_day)
    start, end = window(period, rule)
    due = deadline(
        DeadlineRule(regime.deadline.anchor, regime.deadline.working_days),
        period=period,
        opened=now.date(),
        calendar=calendar_for(regime),
        window_rule=rule,
    )
    return start, end, due


def _example_period(regime: Regime, now: datetime) -> Period:
    return period_containing(regime.period, now.date())


def _create_requests(db: Session, *, cycle: Cycle, regime: Regime, now: datetime) -> None:
    units = {u.code: u for u in db.exec(select(Unit)).all()}
    section_order = [s.code for s in regime.leaf_sections()]
    indicator_order = [i.code for i in regime.indicators]
    assert cycle.id is not None
    assert all(u.id is not None for u in units.values())
    requests = [
        DataRequest(
            cycle_id=cycle.id,
            unit_id=units[spec.code].id or 0,
            unit_code=spec.code,
            unit_name=spec.name,
            to_addresses=list(spec.emails),
            section_codes=[c for c in section_order if c in spec.sections],
            indicator_codes=[c for c in indicator_order if c in spec.indicators],
            token=new_token(),
            deadline=cycle.deadline,
            created_at=now,
        )
        for spec in regime.units
    ]
    db.add_all(requests)
    db.flush()  # one batched INSERT; ids for the audit trail
    audit_many(
        db,
        [
            {
                "at": now,
                "actor": "system",
                "action": "request.created",
                "entity": "datarequest",
                "entity_id": r.id,
                "cycle_id": cycle.id,
                "details": {"unit": r.unit_code},
            }
            for r in requests
        ],
    )


def create_cycle(
    regime_path: str, period: str, request: SuperiorRequest | None, now: datetime
) -> OpenedCycle:
    """The `open-cycle` flow's first step, in its own session: the regime file loaded, the
    cycle and its requests created (or found, when the cycle is open already)."""
    loaded = load_regime(Path(regime_path))
    with session() as db:
        opened = open_cycle(db, loaded=loaded, period_code=period, request=request, now=now)
        db.commit()
    return opened
