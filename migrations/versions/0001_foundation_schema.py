"""foundation schema

Revision ID: 0001
Revises:
Create Date: 2026-11-27 06:07:55.217069
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "organisation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("slug", sa.String(length=63), nullable=False),
        sa.Column("min_cell_size", sa.Integer(), nullable=False),
        sa.Column(
            "languages",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "min_cell_size >= 5", name=op.f("ck_organisation_min_cell_size_at_least_5")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisation")),
        sa.UniqueConstraint("slug", name=op.f("uq_organisation_slug")),
    )
    op.create_table(
        "api_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "role IN ('admin', 'analyst', 'integrator')", name=op.f("ck_api_key_role_known")
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_api_key_organisation_id_organisation"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_key")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_key_key_hash")),
    )
    with op.batch_alter_table("api_key", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_api_key_organisation_id"), ["organisation_id"], unique=False
        )

    op.create_table(
        "area",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("municipality_code", sa.String(length=4), nullable=False),
        sa.Column("deso_code", sa.String(length=9), nullable=True),
        sa.Column("deso_version", sa.String(length=10), nullable=True),
        sa.Column("regso_code", sa.String(length=8), nullable=True),
        sa.Column("regso_version", sa.String(length=10), nullable=True),
        sa.Column("households", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "households IS NULL OR households >= 0", name=op.f("ck_area_households_non_negative")
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_area_organisation_id_organisation"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_area")),
        sa.UniqueConstraint("organisation_id", "code", name=op.f("uq_area_organisation_id_code")),
    )
    with op.batch_alter_table("area", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_area_organisation_id"), ["organisation_id"], unique=False
        )

    op.create_table(
        "idempotency_record",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column(
            "body",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_idempotency_record_organisation_id_organisation"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_record")),
        sa.UniqueConstraint(
            "organisation_id", "key", name=op.f("uq_idempotency_record_organisation_id_key")
        ),
    )
    op.create_table(
        "questionnaire",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=63), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_questionnaire_organisation_id_organisation"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_questionnaire")),
        sa.UniqueConstraint(
            "organisation_id", "key", name=op.f("uq_questionnaire_organisation_id_key")
        ),
    )
    with op.batch_alter_table("questionnaire", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_questionnaire_organisation_id"), ["organisation_id"], unique=False
        )

    op.create_table(
        "area_classification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("area_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("area_type", sa.Integer(), nullable=True),
        sa.Column("police_classification", sa.String(length=20), nullable=True),
        sa.CheckConstraint(
            "police_classification IS NULL OR police_classification IN ('none', 'utsatt', 'risk', 'sarskilt_utsatt')",
            name=op.f("ck_area_classification_police_classification_known"),
        ),
        sa.CheckConstraint(
            "area_type IS NULL OR area_type BETWEEN 1 AND 5",
            name=op.f("ck_area_classification_area_type_1_5"),
        ),
        sa.ForeignKeyConstraint(
            ["area_id"],
            ["area.id"],
            name=op.f("fk_area_classification_area_id_area"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_area_classification")),
        sa.UniqueConstraint("area_id", "year", name=op.f("uq_area_classification_area_id_year")),
    )
    with op.batch_alter_table("area_classification", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_area_classification_area_id"), ["area_id"], unique=False
        )

    op.create_table(
        "questionnaire_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("questionnaire_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column(
            "definition",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('draft', 'published')", name=op.f("ck_questionnaire_version_status_known")
        ),
        sa.ForeignKeyConstraint(
            ["questionnaire_id"],
            ["questionnaire.id"],
            name=op.f("fk_questionnaire_version_questionnaire_id_questionnaire"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_questionnaire_version")),
        sa.UniqueConstraint(
            "questionnaire_id",
            "number",
            name=op.f("uq_questionnaire_version_questionnaire_id_number"),
        ),
    )
    with op.batch_alter_table("questionnaire_version", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_questionnaire_version_questionnaire_id"),
            ["questionnaire_id"],
            unique=False,
        )

    op.create_table(
        "survey_round",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("questionnaire_version_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("open_date", sa.Date(), nullable=False),
        sa.Column("close_date", sa.Date(), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("open_date <= close_date", name=op.f("ck_survey_round_dates_ordered")),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_survey_round_organisation_id_organisation"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["questionnaire_version_id"],
            ["questionnaire_version.id"],
            name=op.f("fk_survey_round_questionnaire_version_id_questionnaire_version"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_round")),
    )
    with op.batch_alter_table("survey_round", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_survey_round_organisation_id"), ["organisation_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_survey_round_period"), ["period"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_survey_round_questionnaire_version_id"),
            ["questionnaire_version_id"],
            unique=False,
        )

    op.create_table(
        "invitation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("survey_round_id", sa.Integer(), nullable=False),
        sa.Column("area_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("issued_date", sa.Date(), nullable=False),
        sa.Column("used_date", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["area_id"], ["area.id"], name=op.f("fk_invitation_area_id_area"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["survey_round_id"],
            ["survey_round.id"],
            name=op.f("fk_invitation_survey_round_id_survey_round"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invitation")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_invitation_code_hash")),
    )
    with op.batch_alter_table("invitation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_invitation_area_id"), ["area_id"], unique=False)
        batch_op.create_index(
            "ix_invitation_survey_round_id_area_id", ["survey_round_id", "area_id"], unique=False
        )

    op.create_table(
        "response",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("survey_round_id", sa.Integer(), nullable=False),
        sa.Column("area_id", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("submitted_date", sa.Date(), nullable=False),
        sa.Column(
            "answers",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "channel IN ('web', 'paper', 'phone')", name=op.f("ck_response_channel_known")
        ),
        sa.ForeignKeyConstraint(
            ["area_id"], ["area.id"], name=op.f("fk_response_area_id_area"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["survey_round_id"],
            ["survey_round.id"],
            name=op.f("fk_response_survey_round_id_survey_round"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_response")),
    )
    with op.batch_alter_table("response", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_response_area_id"), ["area_id"], unique=False)
        batch_op.create_index(
            "ix_response_survey_round_id_id", ["survey_round_id", "id"], unique=False
        )

    op.create_table(
        "survey_round_area",
        sa.Column("survey_round_id", sa.Integer(), nullable=False),
        sa.Column("area_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["area_id"],
            ["area.id"],
            name=op.f("fk_survey_round_area_area_id_area"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["survey_round_id"],
            ["survey_round.id"],
            name=op.f("fk_survey_round_area_survey_round_id_survey_round"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("survey_round_id", "area_id", name=op.f("pk_survey_round_area")),
    )
    with op.batch_alter_table("survey_round_area", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_survey_round_area_area_id"), ["area_id"], unique=False)

    op.create_table(
        "tally",
        sa.Column("survey_round_id", sa.Integer(), nullable=False),
        sa.Column("area_id", sa.Integer(), nullable=False),
        sa.Column("breakdown_item", sa.String(length=63), nullable=False),
        sa.Column("breakdown_code", sa.Integer(), nullable=False),
        sa.Column("measure", sa.String(length=16), nullable=False),
        sa.Column("measure_key", sa.String(length=63), nullable=False),
        sa.Column("code", sa.Integer(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("total", sa.Double(), nullable=False),
        sa.Column("total_sq", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(
            ["area_id"], ["area.id"], name=op.f("fk_tally_area_id_area"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["survey_round_id"],
            ["survey_round.id"],
            name=op.f("fk_tally_survey_round_id_survey_round"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "survey_round_id",
            "area_id",
            "breakdown_item",
            "breakdown_code",
            "measure",
            "measure_key",
            "code",
            name=op.f("pk_tally"),
        ),
    )
    with op.batch_alter_table("tally", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tally_area_id"), ["area_id"], unique=False)

    op.create_table(
        "tally_watermark",
        sa.Column("survey_round_id", sa.Integer(), nullable=False),
        sa.Column("last_response_id", sa.Integer(), nullable=False),
        sa.Column("folded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["survey_round_id"],
            ["survey_round.id"],
            name=op.f("fk_tally_watermark_survey_round_id_survey_round"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("survey_round_id", name=op.f("pk_tally_watermark")),
    )


def downgrade() -> None:

    op.drop_table("tally_watermark")
    with op.batch_alter_table("tally", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tally_area_id"))

    op.drop_table("tally")
    with op.batch_alter_table("survey_round_area", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_survey_round_area_area_id"))

    op.drop_table("survey_round_area")
    with op.batch_alter_table("response", schema=None) as batch_op:
        batch_op.drop_index("ix_response_survey_round_id_id")
        batch_op.drop_index(batch_op.f("ix_response_area_id"))

    op.drop_table("response")
    with op.batch_alter_table("invitation", schema=None) as batch_op:
        batch_op.drop_index("ix_invitation_survey_round_id_area_id")
        batch_op.drop_index(batch_op.f("ix_invitation_area_id"))

    op.drop_table("invitation")
    with op.batch_alter_table("survey_round", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_survey_round_questionnaire_version_id"))
        batch_op.drop_index(batch_op.f("ix_survey_round_period"))
        batch_op.drop_index(batch_op.f("ix_survey_round_organisation_id"))

    op.drop_table("survey_round")
    with op.batch_alter_table("questionnaire_version", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_questionnaire_version_questionnaire_id"))

    op.drop_table("questionnaire_version")
    with op.batch_alter_table("area_classification", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_area_classification_area_id"))

    op.drop_table("area_classification")
    with op.batch_alter_table("questionnaire", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_questionnaire_organisation_id"))

    op.drop_table("questionnaire")
    op.drop_table("idempotency_record")
    with op.batch_alter_table("area", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_area_organisation_id"))

    op.drop_table("area")
    with op.batch_alter_table("api_key", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_key_organisation_id"))

    op.drop_table("api_key")
    op.drop_table("organisation")
