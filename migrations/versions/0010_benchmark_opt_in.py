"""an organisation opts in to the cross-organisation benchmark (off by default)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 13:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ALTER TABLE, also on SQLite: a batch copy would drop and rebuild the organisation
    # table, cascade-deleting every row that references it while foreign keys are enforced.
    op.add_column(
        "organisation",
        sa.Column("benchmark_opt_in", sa.Boolean(), server_default=sa.false(), nullable=False),
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # Not a batch copy either (see upgrade).
        op.execute("ALTER TABLE organisation DROP COLUMN benchmark_opt_in")
    else:
        op.drop_column("organisation", "benchmark_opt_in")
