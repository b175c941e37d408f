from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from survey_api.models.base import Base, utcnow

DATA_IMPORT_KINDS = ("responses", "tallies", "classifications")


class DataImport(Base):
    """One file brought in from the past: responses or answer counts into a historical round,
    or official area classifications.

    Idempotent on (round, kind, file hash, mapping hash): the same file with the same mapping
    is stored once, and a repeat answers with this record. Holds nothing about a respondent:
    ``summary`` is the stored rows per area, ``created_at`` the time of the import, not of
    any answer.
    """

    __tablename__ = "data_import"
    __table_args__ = (
        CheckConstraint("kind IN ('responses', 'tallies', 'classifications')", name="kind_known"),
        Index(
            "ix_data_import_identity",
            "organisation_id",
            "survey_round_id",
            "kind",
            "file_sha256",
            "mapping_sha256",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), index=True
    )
    # None for classification imports, which belong to the organisation's areas.
    survey_round_id: Mapped[int | None] = mapped_column(
        ForeignKey("survey_round.id", ondelete="CASCADE"), index=True, default=None
    )
    kind: Mapped[str] = mapped_column(String(16))
    file_name: Mapped[str] = mapped_column(String(200), default="")
    file_sha256: Mapped[str] = mapped_column(String(64))
    mapping_sha256: Mapped[str] = mapped_column(String(64))
    rows_read: Mapped[int] = mapped_column(default=0)
    rows_stored: Mapped[int] = mapped_column(default=0)
    summary: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
