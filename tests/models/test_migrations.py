"""The migrations build exactly the schema the models describe, on each backend."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlmodel import SQLModel

import models.inbound  # noqa: F401  (registers the tables)
import models.report  # noqa: F401
import models.tables  # noqa: F401
from models.db import get_engine


def test_migrated_schema_matches_the_models(db_url: str) -> None:
    with get_engine(db_url).connect() as connection:
        context = MigrationContext.configure(connection)
        differences = compare_metadata(context, SQLModel.metadata)
    assert differences == []


def test_a_database_at_head_is_recognised_and_an_older_one_upgraded(db_url: str) -> None:
    """`migrate` skips Alembic only when the database is at the migrations' head."""
    from alembic import command

    from models.db import alembic_config, at_head, head_revisions, migrate

    engine = get_engine(db_url)
    assert head_revisions() == {"0005"}  # a new migration moves this: update it with them
    assert at_head(engine)
    with engine.begin() as connection:
        config = alembic_config(db_url)
        config.attributes["connection"] = connection
        command.downgrade(config, "0004")
    assert not at_head(engine)
    migrate(db_url)
    assert at_head(engine)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT version_num FROM alembic_version")).all() == [
            ("0005",)
        ]


def test_an_empty_database_is_not_at_head(tmp_path: Path) -> None:
    from models.db import at_head

    assert not at_head(get_engine(f"sqlite:///{tmp_path / 'empty.db'}"))
