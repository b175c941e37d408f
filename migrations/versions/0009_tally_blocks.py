"""tallies stored as one block per area × breakdown group

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 08:10:00

The `tally` table held one row per slot (round × area × breakdown group × measure × key ×
code); a fold of a hundred new responses upserted tens of thousands of them. `tally_block`
holds one row per round × area × breakdown group with the slots as arrays of little-endian
float64 (count, Σ, Σ²) in the order of `tally_watermark.slots`. Existing tallies are carried
over as they are (a round of imported answer counts cannot be folded again from responses):
each round's slot order is the sorted set of its slots, which the next fold extends at the
end with whatever its layout adds.
"""

from collections.abc import Sequence
from typing import Any

import numpy as np
import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSONType = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")
DTYPE = "<f8"


def _tally_table(name: str) -> sa.Table:
    return sa.table(
        name,
        sa.column("survey_round_id", sa.Integer),
        sa.column("area_id", sa.Integer),
        sa.column("breakdown_item", sa.String),
        sa.column("breakdown_code", sa.Integer),
        sa.column("measure", sa.String),
        sa.column("measure_key", sa.String),
        sa.column("code", sa.Integer),
        sa.column("count", sa.Integer),
        sa.column("total", sa.Float),
        sa.column("total_sq", sa.Float),
    )


BLOCK = sa.table(
    "tally_block",
    sa.column("survey_round_id", sa.Integer),
    sa.column("area_id", sa.Integer),
    sa.column("breakdown_item", sa.String),
    sa.column("breakdown_code", sa.Integer),
    sa.column("counts", sa.LargeBinary),
    sa.column("totals", sa.LargeBinary),
    sa.column("totals_sq", sa.LargeBinary),
)
WATERMARK = sa.table(
    "tally_watermark",
    sa.column("survey_round_id", sa.Integer),
    sa.column("last_response_id", sa.Integer),
    sa.column("folded_at", sa.DateTime(timezone=True)),
    sa.column("slots", JSONType),
)


def _create_tally() -> None:
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
    op.create_index(op.f("ix_tally_area_id"), "tally", ["area_id"], unique=False)


def upgrade() -> None:
    op.create_table(
        "tally_block",
        sa.Column("survey_round_id", sa.Integer(), nullable=False),
        sa.Column("area_id", sa.Integer(), nullable=False),
        sa.Column("breakdown_item", sa.String(length=63), nullable=False),
        sa.Column("breakdown_code", sa.Integer(), nullable=False),
        sa.Column("counts", sa.LargeBinary(), nullable=False),
        sa.Column("totals", sa.LargeBinary(), nullable=False),
        sa.Column("totals_sq", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["area_id"], ["area.id"], name=op.f("fk_tally_block_area_id_area"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["survey_round_id"],
            ["survey_round.id"],
            name=op.f("fk_tally_block_survey_round_id_survey_round"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "survey_round_id",
            "area_id",
            "breakdown_item",
            "breakdown_code",
            name=op.f("pk_tally_block"),
        ),
    )
    op.create_index(op.f("ix_tally_block_area_id"), "tally_block", ["area_id"], unique=False)
    with op.batch_alter_table("tally_watermark") as batch:
        batch.add_column(sa.Column("slots", JSONType, nullable=True))

    connection = op.get_bind()
    tally = _tally_table("tally")
    rounds = [r for (r,) in connection.execute(sa.select(tally.c.survey_round_id).distinct())]
    for round_id in rounds:
        rows = connection.execute(
            sa.select(
                tally.c.area_id,
                tally.c.breakdown_item,
                tally.c.breakdown_code,
                tally.c.measure,
                tally.c.measure_key,
                tally.c.code,
                tally.c.count,
                tally.c.total,
                tally.c.total_sq,
            ).where(tally.c.survey_round_id == round_id)
        ).all()
        slots = sorted({(r.measure, r.measure_key, r.code) for r in rows})
        position = {slot: i for i, slot in enumerate(slots)}
        groups: dict[tuple[int, str, int], Any] = {}
        for r in rows:
            group = (r.area_id, r.breakdown_item, r.breakdown_code)
            sums = groups.get(group)
            if sums is None:
                sums = groups[group] = np.zeros((3, len(slots)), dtype=DTYPE)
            column = position[(r.measure, r.measure_key, r.code)]
            sums[:, column] = (r.count, r.total, r.total_sq)
        if groups:
            connection.execute(
                BLOCK.insert(),
                [
                    dict(
                        survey_round_id=round_id,
                        area_id=area_id,
                        breakdown_item=item,
                        breakdown_code=code,
                        counts=sums[0].tobytes(),
                        totals=sums[1].tobytes(),
                        totals_sq=sums[2].tobytes(),
                    )
                    for (area_id, item, code), sums in groups.items()
                ],
            )
        has_watermark = connection.scalar(
            sa.select(sa.func.count())
            .select_from(WATERMARK)
            .where(WATERMARK.c.survey_round_id == round_id)
        )
        if not has_watermark:
            connection.execute(
                WATERMARK.insert().values(
                    survey_round_id=round_id, last_response_id=0, folded_at=sa.func.now()
                )
            )
        connection.execute(
            WATERMARK.update()
            .where(WATERMARK.c.survey_round_id == round_id)
            .values(slots=[list(slot) for slot in slots])
        )
    op.drop_index(op.f("ix_tally_area_id"), table_name="tally")
    op.drop_table("tally")


def downgrade() -> None:
    _create_tally()
    connection = op.get_bind()
    tally = _tally_table("tally")
    for round_id, stored in connection.execute(
        sa.select(WATERMARK.c.survey_round_id, WATERMARK.c.slots).where(
            WATERMARK.c.slots.is_not(None)
        )
    ).all():
        slots = [(m, k, int(c)) for m, k, c in stored]
        width = len(slots)
        rows = []
        for block in connection.execute(
            sa.select(BLOCK).where(BLOCK.c.survey_round_id == round_id)
        ):
            arrays = [
                np.concatenate([a := np.frombuffer(b, dtype=DTYPE), np.zeros(width - len(a))])
                for b in (block.counts, block.totals, block.totals_sq)
            ]
            for i in np.flatnonzero(arrays[0]).tolist():
                rows.append(
                    dict(
                        survey_round_id=round_id,
                        area_id=block.area_id,
                        breakdown_item=block.breakdown_item,
                        breakdown_code=block.breakdown_code,
                        measure=slots[i][0],
                        measure_key=slots[i][1],
                        code=slots[i][2],
                        count=int(round(arrays[0][i])),
                        total=float(arrays[1][i]),
                        total_sq=float(arrays[2][i]),
                    )
                )
        if rows:
            connection.execute(tally.insert(), rows)
    with op.batch_alter_table("tally_watermark") as batch:
        batch.drop_column("slots")
    op.drop_index(op.f("ix_tally_block_area_id"), table_name="tally_block")
    op.drop_table("tally_block")
