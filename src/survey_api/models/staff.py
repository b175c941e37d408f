"""Staff users of the console, their sessions and one-time set-password tokens.

Only hashes of secrets are stored: an argon2 hash of the password, SHA-256 of the session
token and of the set-password token (both carry 256 random bits, so no stretching is needed).
Nothing here records where a request came from (no IP address, no user agent).
"""

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from survey_api.models.base import Base, utcnow

STAFF_ROLES = ("admin", "analyst", "viewer")


class StaffUser(Base):
    """A person at a housing company who signs in to the console."""

    __tablename__ = "staff_user"
    __table_args__ = (CheckConstraint("role IN ('admin', 'analyst', 'viewer')", name="role_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), index=True
    )
    # Stored lower-cased, so one address is one account whatever its spelling.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    # None until the person sets a password through a one-time link.
    password_hash: Mapped[str | None] = mapped_column(String(255), default=None)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    password_changed_at: Mapped[datetime | None] = mapped_column(default=None)


class StaffSession(Base):
    """A signed-in browser; the cookie holds the token, the table only its hash."""

    __tablename__ = "staff_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_user_id: Mapped[int] = mapped_column(
        ForeignKey("staff_user.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The CSRF token of every form in this session (a random value, not derived from the
    # session token, so showing it in a page reveals nothing about the cookie).
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


class StaffPasswordToken(Base):
    """A one-time link to set a password (a new account, or an admin's reset)."""

    __tablename__ = "staff_password_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_user_id: Mapped[int] = mapped_column(
        ForeignKey("staff_user.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None] = mapped_column(default=None)
