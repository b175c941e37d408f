"""historical rounds, imported responses and answer counts, and the imports' records

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 04:45:00

Every existing round was collected through the service (`source` 'collected').
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSONType = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")
IMPORTED = sa.text("data_import_id IS NOT NULL")


def upgrade() -> None:
    op.create_table(
        "data_import",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("survey_round_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("file_name", sa.String(length=200), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=False),
        sa.Column("mapping_sha256", sa.String(length=64), nullable=False),
        sa.Column("rows_read", sa.Integer(), nullable=False),
        sa.Column("rows_stored", sa.Integer(), nullable=False),
        sa.Column("summary", JSONType, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('responses', 'tallies', 'classifications')",
            name=op.f("ck_data_import_kind_known"),
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_data_import_organisation_id_organisation"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["survey_round_id"],
            ["survey_round.id"],
            name=op.f("fk_data_import_survey_round_id_survey_round"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_import")),
    )
    op.create_index(
        "ix_data_import_identity",
        "data_import",
        ["organisation_id", "survey_round_id", "kind", "file_sha256", "mapping_sha256"],
    )
    op.create_index(op.f("ix_data_import_organisation_id"), "data_import", ["organisation_id"])
    op.create_index(op.f("ix_data_import_survey_round_id"), "data_import", ["survey_round_id"])

    with op.batch_alter_table("response") as batch:
        batch.add_column(sa.Column("data_import_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_response_data_import_id_data_import"),
            "data_import",
            ["data_import_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch.drop_constraint("entry_known", type_="check")
        batch.create_check_constraint("entry_known", "entry IN ('code', 'link', 'api', 'import')")
    op.create_index(
        "ix_response_data_import_id",
        "response",
        ["data_import_id"],
        postgresql_where=IMPORTED,
        sqlite_where=IMPORTED,
    )

    with op.batch_alter_table("survey_round") as batch:
        batch.add_column(
            sa.Column(
                "source",
                sa.String(length=16),
                server_default=sa.text("'collected'"),
                nullable=False,
            )
        )
        batch.create_check_constraint(
            "source_known", "source IN ('collected', 'imported', 'imported_tallies')"
        )


def downgrade() -> None:
    with op.batch_alter_table("survey_round") as batch:
        batch.drop_constraint("source_known", type_="check")
        batch.drop_column("source")
    op.drop_index("ix_response_data_import_id", table_name="response")
    op.execute("DELETE FROM response WHERE entry = 'import'")
    with op.batch_alter_table("response") as batch:
        batch.drop_constraint("entry_known", type_="check")
        batch.create_check_constraint("entry_known", "entry IN ('code', 'link', 'api')")
        batch.drop_constraint(op.f("fk_response_data_import_id_data_import"), type_="foreignkey")
        batch.drop_column("data_import_id")
    op.drop_index(op.f("ix_data_import_survey_round_id"), table_name="data_import")
    op.drop_index(op.f("ix_data_import_organisation_id"), table_name="data_import")
    op.drop_index("ix_data_import_identity", table_name="data_import")
    op.drop_table("data_import")
