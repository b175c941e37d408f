from datetime import date, datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from survey_api.models.base import Base, utcnow


class Response(Base):
    """One anonymous answer set; append-only.

    Deliberately holds no IP address, user agent, invitation code or time finer than the
    date (DESIGN.md, Privacy).
    """

    __tablename__ = "response"
    __table_args__ = (
        CheckConstraint("channel IN ('web', 'paper', 'phone')", name="channel_known"),
        # The tally fold scans a round's responses past its watermark in id order.
        Index("ix_response_survey_round_id_id", "survey_round_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_round_id: Mapped[int] = mapped_column(ForeignKey("survey_round.id", ondelete="CASCADE"))
    area_id: Mapped[int] = mapped_column(ForeignKey("area.id", ondelete="RESTRICT"), index=True)
    language: Mapped[str] = mapped_column(String(8))
    channel: Mapped[str] = mapped_column(String(8))
    submitted_date: Mapped[date]
    answers: Mapped[dict[str, Any]]


class Invitation(Base):
    """A single-use invitation code for one household; only a keyed hash is stored.

    Marked used here, with no link to the response it allowed.
    """

    __tablename__ = "invitation"
    __table_args__ = (Index("ix_invitation_survey_round_id_area_id", "survey_round_id", "area_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_round_id: Mapped[int] = mapped_column(ForeignKey("survey_round.id", ondelete="CASCADE"))
    area_id: Mapped[int] = mapped_column(ForeignKey("area.id", ondelete="RESTRICT"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    issued_date: Mapped[date]
    used_date: Mapped[date | None] = mapped_column(default=None)


class IdempotencyRecord(Base):
    """The stored outcome of a bulk upload, replayed for a repeated Idempotency-Key."""

    __tablename__ = "idempotency_record"
    __table_args__ = (UniqueConstraint("organisation_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int]
    body: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
