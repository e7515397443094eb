"""Engine, sessions, migrations and the audit helper."""

from __future__ import annotations

import re
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event, insert, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, create_engine

from models.settings import get_settings
from models.tables import AuditEvent

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
_REVISION = re.compile(r'^revision(?:: str)? = "([^"]+)"', re.M)
_DOWN = re.compile(r'^down_revision(?:: [^=]+)? = "([^"]+)"', re.M)


@lru_cache(maxsize=8)
def get_engine(url: str | None = None) -> Engine:
    """One engine per database URL (default: the configured one)."""
    url = url or get_settings().db_url
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database:
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        # No sqlite3 statement cache: a cached INSERT keeps its bound values until it runs
        # again, so one stored 40 MB reply stayed in memory after its commit (issue 12).
        engine = create_engine(url, connect_args={"timeout": 30, "cached_statements": 0})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the collector read while a sender writes; foreign keys are off by default.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # In WAL mode NORMAL survives a killed process (what exactly-once relies on); only a power
    # cut can lose the last commits. FULL fsyncs every commit, a third of a bulk collect.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def session(url: str | None = None) -> Session:
    return Session(get_engine(url), expire_on_commit=False)


def alembic_config(url: str | None = None) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", (url or get_settings().db_url).replace("%", "%%"))
    return config


def migrate(url: str | None = None, revision: str = "head") -> None:
    """Bring the schema to `revision` (idempotent; every command calls it). A database already
    at head is left without importing Alembic (0.6 s of every command's start)."""
    engine = get_engine(url)
    if revision == "head" and at_head(engine):
        return
    from alembic import command

    config = alembic_config(url)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def head_revisions() -> set[str]:
    """The revisions no migration builds on, read from the migration files themselves."""
    found: dict[str, str | None] = {}
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        text = path.read_text("utf-8")
        revision = _REVISION.search(text)
        down = _DOWN.search(text)
        if revision:
            found[revision.group(1)] = down.group(1) if down else None
    return set(found) - {d for d in found.values() if d}


def at_head(engine: Engine) -> bool:
    """Whether the database's Alembic version is the migrations' head (False if it has none)."""
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT version_num FROM alembic_version")).all()
    except DBAPIError:
        return False
    return {r[0] for r in rows} == head_revisions()


def insert_ignoring_duplicates(db: Session, model: Any, key: str) -> Any:
    """INSERT … ON CONFLICT (key) DO NOTHING for the session's backend.

    Not a savepoint around a plain INSERT: with pysqlite a SAVEPOINT opened first in a
    transaction is released as a COMMIT, and on PostgreSQL a concurrent insert of the same key
    waits for the other transaction and then does nothing, with no error to catch."""
    dialect = db.get_bind().dialect.name
    if dialect == "postgresql":
        return pg_insert(model).on_conflict_do_nothing(index_elements=[key])
    if dialect == "sqlite":
        return sqlite_insert(model).on_conflict_do_nothing(index_elements=[key])
    raise NotImplementedError(f"reportcycle supports SQLite and PostgreSQL, not {dialect}")


def audit_many(db: Session, events: list[dict[str, Any]]) -> None:
    """Many audit events in one INSERT (keys as in AuditEvent; `details` a dict)."""
    if events:
        # The table, not the entity: the ORM's bulk path cost a third more a call, and the
        # outbox's journal writes one per message sent.
        db.connection().execute(insert(AuditEvent.__table__), events)  # type: ignore[attr-defined]


def audit(
    db: Session,
    *,
    at: datetime,
    action: str,
    entity: str,
    entity_id: int | None = None,
    cycle_id: int | None = None,
    actor: str = "system",
    **details: Any,
) -> None:
    """Record a state change in the same transaction as the change itself."""
    db.add(
        AuditEvent(
            at=at,
            actor=actor,
            action=action,
            entity=entity,
            entity_id=entity_id,
            cycle_id=cycle_id,
            details=details,
        )
    )
