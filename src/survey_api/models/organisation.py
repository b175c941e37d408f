from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, String, false
from sqlalchemy.orm import Mapped, mapped_column

from survey_api.models.base import Base, utcnow

ROLES = ("admin", "analyst", "integrator")


class Organisation(Base):
    """A housing company (bostadsbolag): the tenant of the system."""

    __tablename__ = "organisation"
    __table_args__ = (CheckConstraint("min_cell_size >= 5", name="min_cell_size_at_least_5"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(63), unique=True)
    min_cell_size: Mapped[int] = mapped_column(default=10)
    # Languages offered on the tenant form; None means every language of the questionnaire.
    languages: Mapped[list[Any] | None] = mapped_column(default=None)
    # Printed on every invitation letter, per language: {"sv": {"sender": ..., "contact": ...,
    # "privacy": ...}}; the organisation's name and a standard privacy sentence otherwise.
    letter_texts: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    # Takes part in the cross-organisation benchmark (pooled, suppressed aggregates only).
    benchmark_opt_in: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiKey(Base):
    """An organisation API key; only a SHA-256 hash of the secret is stored."""

    __tablename__ = "api_key"
    __table_args__ = (
        CheckConstraint("role IN ('admin', 'analyst', 'integrator')", name="role_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
