"""Regimes that report up to a parent regime (commune → district → province): the parent's
cycle for the same period, the children's common cutoff before its deadline, and the child
cycles a parent's status shows."""

from __future__ import annotations

from datetime import date

from sqlmodel import Session, col, select

from models.tables import Cycle, DataRequest
from models.tables import Regime as RegimeRow
from reportcycle.lookup import calendar_for, regime_of
from reportcycle.regime.loading import LoadedRegime, RegimeError, issue_at
from reportcycle.regime.schema import Regime


def parent_cycle(db: Session, regime: Regime, period_code: str) -> Cycle | None:
    if regime.parent is None:
        return None
    return db.exec(
        select(Cycle)
        .join(RegimeRow, col(RegimeRow.id) == Cycle.regime_id)
        .where(RegimeRow.code == regime.parent.regime, Cycle.period_code == period_code)
    ).first()


def child_deadline(db: Session, loaded: LoadedRegime, period_code: str) -> date | None:
    """The parent's deadline less `cutoff_working_days` of this regime's working days, or None
    without a parent. The parent's cycle must be open, with this body among its units."""
    regime, spec = loaded.regime, loaded.regime.parent
    if spec is None:
        return None
    known = db.exec(select(RegimeRow.id).where(RegimeRow.code == spec.regime)).first()
    if known is None:
        raise RegimeError(
            [
                issue_at(
                    loaded.path,
                    ("parent", "regime"),
                    f"no regime {spec.regime!r} is known here; open the parent regime's cycle "
                    f"for {period_code} first (`reportcycle cycle open PARENT.yaml --period "
                    f"{period_code}`), or correct the code",
                )
            ]
        )
    parent = parent_cycle(db, regime, period_code)
    if parent is None:
        raise RegimeError(
            [
                issue_at(
                    loaded.path,
                    ("parent", "regime"),
                    f"regime {spec.regime!r} has no cycle for {period_code}; open it first: "
                    "the children's deadlines come from its deadline",
                )
            ]
        )
    if spec.unit not in {u.code for u in regime_of(db, parent).units}:
        raise RegimeError(
            [
                issue_at(
                    loaded.path,
                    ("parent", "unit"),
                    f"regime {spec.regime!r} has no unit {spec.unit!r}; expected one of "
                    f"{[u.code for u in regime_of(db, parent).units]}",
                )
            ]
        )
    return calendar_for(regime).add_working_days(parent.deadline, -spec.cutoff_working_days)


def child_cycles(db: Session, cycle: Cycle) -> list[tuple[Cycle, str]]:
    """(child cycle, its unit code here) for each cycle of the same period reporting up here."""
    code = regime_of(db, cycle).code
    out = []
    for other in db.exec(
        select(Cycle).where(Cycle.period_code == cycle.period_code).order_by(col(Cycle.id))
    ).all():
        parent = regime_of(db, other).parent
        if other.id != cycle.id and parent is not None and parent.regime == code:
            out.append((other, parent.unit))
    return out


def parent_request(db: Session, parent: Cycle, unit_code: str) -> DataRequest | None:
    return db.exec(
        select(DataRequest).where(
            DataRequest.cycle_id == parent.id, DataRequest.unit_code == unit_code
        )
    ).first()
