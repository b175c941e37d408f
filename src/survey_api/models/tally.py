from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from survey_api.models.base import Base, utcnow


class TallyBlock(Base):
    """Sufficient statistics of one area × breakdown group, so reading costs O(cells), not
    O(responses).

    One row holds every tally slot of the group as three arrays of little-endian float64
    (count, Σ value, Σ value²), in the order of the round's ``tally_watermark.slots``: a slot
    is (measure, measure_key, code) with measure 'respondents', 'option' (count per option
    code), 'base' (valid n with the sum and sum of squares of scores or numbers; code 1 counts
    non-substantive answers), 'favourable' (multi-choice respondents ticking a favourable
    code), 'indicator' (respondents hitting the indicator's codes) or 'index' (composite
    index: n, sum, sum of squares of respondent values in 0..1); results/fold.py documents
    each in full. breakdown_item is '' for the whole area; otherwise breakdown_code is the
    respondent's answer to that background item, -1 when not answered.

    A row per group rather than per slot: new responses touch a few hundred groups of a round
    but tens of thousands of slots, and PostgreSQL's cost of an upsert is per row.
    """

    __tablename__ = "tally_block"

    survey_round_id: Mapped[int] = mapped_column(
        ForeignKey("survey_round.id", ondelete="CASCADE"), primary_key=True
    )
    area_id: Mapped[int] = mapped_column(
        ForeignKey("area.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    breakdown_item: Mapped[str] = mapped_column(String(63), primary_key=True)
    breakdown_code: Mapped[int] = mapped_column(primary_key=True)
    counts: Mapped[bytes] = mapped_column(LargeBinary)
    totals: Mapped[bytes] = mapped_column(LargeBinary)
    totals_sq: Mapped[bytes] = mapped_column(LargeBinary)


class TallyWatermark(Base):
    """How far a round's responses have been folded into its tallies, and the slot order of
    its tally blocks (a list of [measure, measure_key, code]; null before the first tally)."""

    __tablename__ = "tally_watermark"

    survey_round_id: Mapped[int] = mapped_column(
        ForeignKey("survey_round.id", ondelete="CASCADE"), primary_key=True
    )
    last_response_id: Mapped[int] = mapped_column(default=0)
    folded_at: Mapped[datetime] = mapped_column(default=utcnow)
    slots: Mapped[list[Any] | None] = mapped_column(default=None)
