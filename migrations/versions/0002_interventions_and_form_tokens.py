"""interventions and form tokens

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 06:13:08.618437
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "form_token_use",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("used_date", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_form_token_use")),
    )
    op.create_table(
        "intervention",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("category", sa.String(length=63), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("cost_sek", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "cost_sek IS NULL OR cost_sek >= 0", name=op.f("ck_intervention_cost_non_negative")
        ),
        sa.CheckConstraint(
            "end_date IS NULL OR start_date <= end_date", name=op.f("ck_intervention_dates_ordered")
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_intervention_organisation_id_organisation"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intervention")),
    )
    with op.batch_alter_table("intervention", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_intervention_category"), ["category"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_intervention_organisation_id"), ["organisation_id"], unique=False
        )

    op.create_table(
        "intervention_area",
        sa.Column("intervention_id", sa.Integer(), nullable=False),
        sa.Column("area_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["area_id"],
            ["area.id"],
            name=op.f("fk_intervention_area_area_id_area"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["intervention_id"],
            ["intervention.id"],
            name=op.f("fk_intervention_area_intervention_id_intervention"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("intervention_id", "area_id", name=op.f("pk_intervention_area")),
    )
    with op.batch_alter_table("intervention_area", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_intervention_area_area_id"), ["area_id"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("intervention_area", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_intervention_area_area_id"))

    op.drop_table("intervention_area")
    with op.batch_alter_table("intervention", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_intervention_organisation_id"))
        batch_op.drop_index(batch_op.f("ix_intervention_category"))

    op.drop_table("intervention")
    op.drop_table("form_token_use")
