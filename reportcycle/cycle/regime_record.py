"""The regime as the database keeps it: a row per regime, a version per content (a cycle keeps
the version it opened under), and the units upserted (names and addresses change between
cycles)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from models.db import audit
from models.tables import Regime as RegimeRow
from models.tables import RegimeVersion, Unit
from reportcycle.regime.loading import LoadedRegime
from reportcycle.regime.schema import Regime, UnitSpec


def sync_regime(db: Session, loaded: LoadedRegime, *, now: datetime) -> RegimeRow:
    """Record the regime and this version of it; upsert its units."""
    row = _regime_row(db, loaded, now)
    _record_version(db, row, loaded, now)
    existing = {u.code: u for u in db.exec(select(Unit)).all()}
    for spec in loaded.regime.units:
        _upsert_unit(db, existing.get(spec.code), spec, now)
    db.flush()
    record_lineage(db, loaded.regime, now=now)
    return row


def record_lineage(db: Session, regime: Regime, *, now: datetime) -> None:
    """Units renamed or merged point to their successor and end; dissolved units end; a unit
    listed again is active again. Old rows stay: earlier cycles' requests refer to them."""
    units = {u.code: u for u in db.exec(select(Unit)).all()}
    for spec in regime.units:
        unit = units[spec.code]
        if not unit.active:
            unit.active, unit.successor_id, unit.ended_at = True, None, None
            audit(db, at=now, action="unit.reactivated", entity="unit", entity_id=unit.id)
        for code in spec.predecessors():
            old = units.get(code)  # one never seen here has no history to carry over
            if old is not None and old.successor_id != unit.id:
                _end(db, old, now, successor=unit)
    for code in regime.dissolved:
        old = units.get(code)
        if old is not None and (old.active or old.successor_id is not None):
            _end(db, old, now, successor=None)
    db.flush()


def _end(db: Session, unit: Unit, now: datetime, *, successor: Unit | None) -> None:
    unit.active, unit.ended_at = False, now
    unit.successor_id = successor.id if successor else None
    audit(
        db,
        at=now,
        action="unit.replaced" if successor else "unit.dissolved",
        entity="unit",
        entity_id=unit.id,
        code=unit.code,
        successor=successor.code if successor else None,
    )


def _regime_row(db: Session, loaded: LoadedRegime, now: datetime) -> RegimeRow:
    regime = loaded.regime
    row = db.exec(select(RegimeRow).where(RegimeRow.code == regime.code)).first()
    if row is None:
        row = RegimeRow(
            code=regime.code,
            name=regime.name,
            source_path=str(loaded.path),
            content_sha256=loaded.sha256,
            loaded_at=now,
        )
        db.add(row)
        db.flush()
    elif row.content_sha256 != loaded.sha256:
        row.name, row.content_sha256, row.loaded_at = regime.name, loaded.sha256, now
    return row


def _record_version(db: Session, row: RegimeRow, loaded: LoadedRegime, now: datetime) -> None:
    known = db.exec(select(RegimeVersion.id).where(RegimeVersion.sha256 == loaded.sha256)).first()
    if known is not None:
        return
    assert row.id is not None
    db.add(
        RegimeVersion(
            regime_id=row.id,
            sha256=loaded.sha256,
            body=loaded.regime.model_dump(mode="json"),
            loaded_at=now,
        )
    )
    audit(
        db,
        at=now,
        action="regime.loaded",
        entity="regime",
        entity_id=row.id,
        path=str(loaded.path),
        sha256=loaded.sha256,
    )


def _upsert_unit(db: Session, unit: Unit | None, spec: UnitSpec, now: datetime) -> None:
    emails = list(spec.emails)
    if unit is None:
        db.add(
            Unit(
                code=spec.code,
                name=spec.name,
                emails=emails,
                head_email=spec.head_email,
                updated_at=now,
            )
        )
    elif (unit.name, unit.emails, unit.head_email) != (spec.name, emails, spec.head_email):
        audit(
            db,
            at=now,
            action="unit.updated",
            entity="unit",
            entity_id=unit.id,
            old_name=unit.name,
            name=spec.name,
        )
        unit.name, unit.emails, unit.head_email = spec.name, emails, spec.head_email
        unit.updated_at = now
