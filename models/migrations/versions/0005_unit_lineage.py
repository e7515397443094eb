"""unit lineage: the successor a unit was renamed or merged into, and when it ended

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.types

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("unit", schema=None) as batch_op:
        batch_op.add_column(sa.Column("successor_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("ended_at", models.types.UTCDateTime(), nullable=True))
        batch_op.create_index(batch_op.f("ix_unit_successor_id"), ["successor_id"], unique=False)
        batch_op.create_foreign_key("fk_unit_successor_id_unit", "unit", ["successor_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("unit", schema=None) as batch_op:
        batch_op.drop_constraint("fk_unit_successor_id_unit", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_unit_successor_id"))
        batch_op.drop_column("ended_at")
        batch_op.drop_column("successor_id")
