from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from survey_api.models.base import Base, utcnow

POLICE_CLASSIFICATIONS = ("none", "utsatt", "risk", "sarskilt_utsatt")


class Area(Base):
    """A residential area (bostadsområde) of one organisation."""

    __tablename__ = "area"
    __table_args__ = (
        UniqueConstraint("organisation_id", "code"),
        CheckConstraint("households IS NULL OR households >= 0", name="households_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), index=True
    )
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    municipality_code: Mapped[str] = mapped_column(String(4))
    deso_code: Mapped[str | None] = mapped_column(String(9), default=None)
    deso_version: Mapped[str | None] = mapped_column(String(10), default=None)
    regso_code: Mapped[str | None] = mapped_column(String(8), default=None)
    regso_version: Mapped[str | None] = mapped_column(String(10), default=None)
    households: Mapped[int | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class AreaClassification(Base):
    """An area's Segregationsbarometern area type and police classification for one year."""

    __tablename__ = "area_classification"
    __table_args__ = (
        UniqueConstraint("area_id", "year"),
        CheckConstraint("area_type IS NULL OR area_type BETWEEN 1 AND 5", name="area_type_1_5"),
        CheckConstraint(
            "police_classification IS NULL OR police_classification IN "
            "('none', 'utsatt', 'risk', 'sarskilt_utsatt')",
            name="police_classification_known",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("area.id", ondelete="CASCADE"), index=True)
    year: Mapped[int]
    area_type: Mapped[int | None] = mapped_column(default=None)
    police_classification: Mapped[str | None] = mapped_column(String(20), default=None)
