"""pending code responses, the way in of each response, and area links per round

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 22:50:00

Before this revision the way in was not recorded: existing web answers are marked `link` and
paper or phone answers `api` (the demo's and tests' data; no production data predates it).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSONType = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "pending_response",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("survey_round_id", sa.Integer(), nullable=False),
        sa.Column("area_id", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("answers", JSONType, nullable=False),
        sa.CheckConstraint(
            "channel IN ('web', 'paper', 'phone')", name=op.f("ck_pending_response_channel_known")
        ),
        sa.ForeignKeyConstraint(
            ["area_id"],
            ["area.id"],
            name=op.f("fk_pending_response_area_id_area"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["survey_round_id"],
            ["survey_round.id"],
            name=op.f("fk_pending_response_survey_round_id_survey_round"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pending_response")),
    )
    op.create_index(
        "ix_pending_response_survey_round_id_area_id",
        "pending_response",
        ["survey_round_id", "area_id"],
        unique=False,
    )
    with op.batch_alter_table("response") as batch:
        batch.add_column(sa.Column("entry", sa.String(length=8), nullable=True))
    op.execute("UPDATE response SET entry = CASE WHEN channel = 'web' THEN 'link' ELSE 'api' END")
    with op.batch_alter_table("response") as batch:
        batch.alter_column("entry", existing_type=sa.String(length=8), nullable=False)
        batch.create_check_constraint("entry_known", "entry IN ('code', 'link', 'api')")
    with op.batch_alter_table("survey_round") as batch:
        batch.add_column(
            sa.Column(
                "area_links_enabled", sa.Boolean(), server_default=sa.true(), nullable=False
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("survey_round") as batch:
        batch.drop_column("area_links_enabled")
    with op.batch_alter_table("response") as batch:
        batch.drop_constraint("entry_known", type_="check")
        batch.drop_column("entry")
    op.drop_index("ix_pending_response_survey_round_id_area_id", table_name="pending_response")
    op.drop_table("pending_response")
