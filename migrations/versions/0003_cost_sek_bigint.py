"""intervention cost_sek as a 64-bit integer

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 23:00:00

The API accepts costs up to 10 000 000 000 SEK, beyond a 32-bit INTEGER: on PostgreSQL such a
cost failed on insert ("integer out of range"). SQLite is left alone: its INTEGER already holds
64 bits, and changing the declared type means rebuilding the table, whose DROP would
cascade-delete every intervention_area row (foreign keys are on). Downgrading fails on
PostgreSQL while a stored cost is above 2 147 483 647; lower or clear those costs first.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _alter_cost_sek(old: sa.types.TypeEngine[int], new: sa.types.TypeEngine[int]) -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    with op.batch_alter_table("intervention", schema=None) as batch_op:
        batch_op.alter_column("cost_sek", existing_type=old, type_=new, existing_nullable=True)


def upgrade() -> None:
    _alter_cost_sek(sa.Integer(), sa.BigInteger())


def downgrade() -> None:
    _alter_cost_sek(sa.BigInteger(), sa.Integer())
