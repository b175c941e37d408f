"""Share links to a round's printable results page, stored so that each can be listed and
revoked on its own. The link's token is signed and carries this row's id; the row decides
whether the link still opens (revoked_at, expires_at)."""

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from survey_api.models.base import Base, utcnow


class ShareLink(Base):
    """A link for a board: one round, the whole organisation or one area, in sv or en."""

    __tablename__ = "share_link"
    __table_args__ = (CheckConstraint("language IN ('sv', 'en')", name="language_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), index=True
    )
    survey_round_id: Mapped[int] = mapped_column(
        ForeignKey("survey_round.id", ondelete="CASCADE"), index=True
    )
    # None: the whole organisation's page.
    area_id: Mapped[int | None] = mapped_column(
        ForeignKey("area.id", ondelete="CASCADE"), default=None
    )
    language: Mapped[str] = mapped_column(String(2))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    # Who made it, when known: a console user or an API key (the other is None). Removing the
    # user or key keeps the link (and its revocation) and forgets who made it.
    created_by_staff_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_user.id", ondelete="SET NULL"), default=None
    )
    created_by_api_key_id: Mapped[int | None] = mapped_column(
        ForeignKey("api_key.id", ondelete="SET NULL"), default=None
    )
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
