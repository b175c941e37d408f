from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from survey_api.models.base import Base, utcnow


class Intervention(Base):
    """A social investment (satsning): trygghetsvärdar, Fritidsbanken, lighting, …"""

    __tablename__ = "intervention"
    __table_args__ = (
        CheckConstraint("end_date IS NULL OR start_date <= end_date", name="dates_ordered"),
        CheckConstraint("cost_sek IS NULL OR cost_sek >= 0", name="cost_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(63), index=True)
    description: Mapped[str | None] = mapped_column(Text, default=None)
    start_date: Mapped[date]
    end_date: Mapped[date | None] = mapped_column(default=None)
    # The API accepts costs up to 10 000 000 000 SEK, so 64 bits. SQLite's INTEGER already
    # holds 64 bits, and rebuilding the table there would cascade-delete intervention_area rows
    # (migration 0003).
    cost_sek: Mapped[int | None] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class InterventionArea(Base):
    """An area where an intervention runs (a treated area in an evaluation)."""

    __tablename__ = "intervention_area"

    intervention_id: Mapped[int] = mapped_column(
        ForeignKey("intervention.id", ondelete="CASCADE"), primary_key=True
    )
    area_id: Mapped[int] = mapped_column(
        ForeignKey("area.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class FormTokenUse(Base):
    """A tenant form's one-time token, recorded when spent (double-submit protection).

    Holds only a hash of the token and the date, nothing that links to the response.
    """

    __tablename__ = "form_token_use"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    used_date: Mapped[date]
