"""Document numbers: per issuing body and year, restarting at 01 each 1 January, one per
cycle (Decree 30: "Số: 05/BC-UBND")."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from models.db import audit, insert_ignoring_duplicates
from models.report import DocumentCounter, IssuedNumber
from models.tables import Cycle
from reportcycle.regime.schema import Regime


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
