"""letter texts per organisation: sender, contact line and privacy text per language

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 23:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSONType = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("organisation") as batch:
        batch.add_column(sa.Column("letter_texts", JSONType, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("organisation") as batch:
        batch.drop_column("letter_texts")
