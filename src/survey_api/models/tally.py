from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from survey_api.models.base import Base, utcnow


class Tally(Base):
    """Sufficient statistics for one results cell, so reading costs O(cells), not O(responses).

    measure is 'respondents', 'option' (count per option code), 'base' (valid n with the sum
    and sum of squares of scores or numbers; code 1 counts non-substantive answers),
    'favourable' (multi-choice respondents ticking a favourable code), 'indicator'
    (respondents hitting the indicator's codes) or 'index' (composite index: n, sum, sum of
    squares of respondent values in 0..1); results/fold.py documents each in full.
    breakdown_item is '' for the whole area; otherwise breakdown_code is the respondent's
    answer to that background item, -1 when not answered.
    """

    __tablename__ = "tally"

    survey_round_id: Mapped[int] = mapped_column(
        ForeignKey("survey_round.id", ondelete="CASCADE"), primary_key=True
    )
    area_id: Mapped[int] = mapped_column(
        ForeignKey("area.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    breakdown_item: Mapped[str] = mapped_column(String(63), primary_key=True)
    breakdown_code: Mapped[int] = mapped_column(primary_key=True)
    measure: Mapped[str] = mapped_column(String(16), primary_key=True)
    measure_key: Mapped[str] = mapped_column(String(63), primary_key=True)
    code: Mapped[int] = mapped_column(primary_key=True)
    count: Mapped[int] = mapped_column(default=0)
    total: Mapped[float] = mapped_column(default=0.0)
    total_sq: Mapped[float] = mapped_column(default=0.0)


class TallyWatermark(Base):
    """How far a round's responses have been folded into its tallies."""

    __tablename__ = "tally_watermark"

    survey_round_id: Mapped[int] = mapped_column(
        ForeignKey("survey_round.id", ondelete="CASCADE"), primary_key=True
    )
    last_response_id: Mapped[int] = mapped_column(default=0)
    folded_at: Mapped[datetime] = mapped_column(default=utcnow)
