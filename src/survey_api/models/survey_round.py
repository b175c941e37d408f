from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, text, true
from sqlalchemy.orm import Mapped, mapped_column

from survey_api.models.base import Base, utcnow

ROUND_SOURCES = ("collected", "imported", "imported_tallies")


class SurveyRound(Base):
    """A survey round (mätomgång): one published version, one period, a set of areas.

    ``source`` says where its answers come from: ``collected`` through this service, or a
    historical round (never open to tenants) whose answers were ``imported`` response by
    response, or of which only the answer counts per area, item and option were imported
    (``imported_tallies``; figures that need respondent-level data are unavailable there).
    """

    __tablename__ = "survey_round"
    __table_args__ = (
        CheckConstraint("open_date <= close_date", name="dates_ordered"),
        CheckConstraint(
            "source IN ('collected', 'imported', 'imported_tallies')", name="source_known"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), index=True
    )
    questionnaire_version_id: Mapped[int] = mapped_column(
        ForeignKey("questionnaire_version.id", ondelete="RESTRICT"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    period: Mapped[str] = mapped_column(String(7), index=True)
    open_date: Mapped[date]
    close_date: Mapped[date]
    closed_at: Mapped[datetime | None] = mapped_column(default=None)
    # Area links (posters) can be answered more than once by nature; a round can refuse them.
    area_links_enabled: Mapped[bool] = mapped_column(default=True, server_default=true())
    source: Mapped[str] = mapped_column(
        String(16), default="collected", server_default=text("'collected'")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SurveyRoundArea(Base):
    """An area taking part in a survey round."""

    __tablename__ = "survey_round_area"

    survey_round_id: Mapped[int] = mapped_column(
        ForeignKey("survey_round.id", ondelete="CASCADE"), primary_key=True
    )
    area_id: Mapped[int] = mapped_column(
        ForeignKey("area.id", ondelete="RESTRICT"), primary_key=True, index=True
    )
