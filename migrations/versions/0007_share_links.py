"""share links stored, so that each can be listed and revoked

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-09 09:00:00

Links signed before this revision carry no id and no longer open (reports/share.py).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "share_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("survey_round_id", sa.Integer(), nullable=False),
        sa.Column("area_id", sa.Integer(), nullable=True),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_staff_user_id", sa.Integer(), nullable=True),
        sa.Column("created_by_api_key_id", sa.Integer(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "language IN ('sv', 'en')", name=op.f("ck_share_link_language_known")
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_share_link_organisation_id_organisation"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["survey_round_id"],
            ["survey_round.id"],
            name=op.f("fk_share_link_survey_round_id_survey_round"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["area_id"],
            ["area.id"],
            name=op.f("fk_share_link_area_id_area"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_staff_user_id"],
            ["staff_user.id"],
            name=op.f("fk_share_link_created_by_staff_user_id_staff_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_api_key_id"],
            ["api_key.id"],
            name=op.f("fk_share_link_created_by_api_key_id_api_key"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_share_link")),
    )
    with op.batch_alter_table("share_link") as batch_op:
        batch_op.create_index(
            batch_op.f("ix_share_link_organisation_id"), ["organisation_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_share_link_survey_round_id"), ["survey_round_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("share_link") as batch_op:
        batch_op.drop_index(batch_op.f("ix_share_link_survey_round_id"))
        batch_op.drop_index(batch_op.f("ix_share_link_organisation_id"))
    op.drop_table("share_link")
