"""Alembic environment: runs on the connection handed over by models.db.migrate()."""

from alembic import context
from sqlalchemy import engine_from_config, pool
from sqlmodel import SQLModel

import models.inbound  # noqa: F401  (registers the tables on SQLModel.metadata)
import models.report  # noqa: F401
import models.tables  # noqa: F401

config = context.config
target_metadata = SQLModel.metadata


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(
            connection=connection, target_metadata=target_metadata, render_as_batch=True
        )
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = engine_from_config(
        config.get_section(config.config_ini_section, {}),
        prefix="sqlalchemy.",
        poolclass=pool.NullPool,
    )
    with engine.connect() as conn:
        context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
