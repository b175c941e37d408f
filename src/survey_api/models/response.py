from datetime import date, datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint, text
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
        CheckConstraint("entry IN ('code', 'link', 'api', 'import')", name="entry_known"),
        # The tally fold scans a round's responses past its watermark in id order.
        Index("ix_response_survey_round_id_id", "survey_round_id", "id"),
        # Only imported responses carry an import; the index costs collected answers nothing.
        Index(
            "ix_response_data_import_id",
            "data_import_id",
            postgresql_where=text("data_import_id IS NOT NULL"),
            sqlite_where=text("data_import_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_round_id: Mapped[int] = mapped_column(ForeignKey("survey_round.id", ondelete="CASCADE"))
    area_id: Mapped[int] = mapped_column(ForeignKey("area.id", ondelete="RESTRICT"), index=True)
    language: Mapped[str] = mapped_column(String(8))
    channel: Mapped[str] = mapped_column(String(8))
    # The way in: an invitation `code`, a poster's area `link`, the `api` (staff entering
    # paper and phone answers), or an `import` of a past survey into a historical round, so
    # analysts can compare link answers with code answers.
    entry: Mapped[str] = mapped_column(String(8))
    # For code answers, the date the batch was released from pending_response, not the date
    # the tenant answered (docs/privacy.md).
    submitted_date: Mapped[date]
    answers: Mapped[dict[str, Any]]
    # The file an imported response came from (None for every collected answer), so that a
    # wrong import can be taken back as a whole.
    data_import_id: Mapped[int | None] = mapped_column(
        ForeignKey("data_import.id", ondelete="CASCADE"), default=None
    )


class PendingResponse(Base):
    """A response that came in through an invitation code, waiting to join a batch.

    Redeeming a code and storing its answers happen in one transaction, so anything that
    transaction leaves behind (PostgreSQL's xmin, an id drawn at that moment, the date) would
    link the used invitation to the answers. Code answers therefore wait here and are moved into
    `response` in shuffled batches of at least the organisation's minimum cell size per round
    and area, in a later transaction; this row is deleted then (responses/pending.py and
    docs/privacy.md). Like `response`, it holds no time at all and nothing about the tenant.
    """

    __tablename__ = "pending_response"
    __table_args__ = (
        CheckConstraint("channel IN ('web', 'paper', 'phone')", name="channel_known"),
        Index("ix_pending_response_survey_round_id_area_id", "survey_round_id", "area_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_round_id: Mapped[int] = mapped_column(ForeignKey("survey_round.id", ondelete="CASCADE"))
    area_id: Mapped[int] = mapped_column(ForeignKey("area.id", ondelete="RESTRICT"))
    language: Mapped[str] = mapped_column(String(8))
    channel: Mapped[str] = mapped_column(String(8))
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
