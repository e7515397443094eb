"""The migrations build exactly the schema the models describe, on each backend."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
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
