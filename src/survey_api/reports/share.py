"""Signed, expiring share links to a round's results page, for boards without API keys.

The link carries the organisation, round, optional area, language and expiry, signed with the
server's secret key (itsdangerous): nothing is stored, every host can check it, and changing
the secret key revokes every link at once.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from itsdangerous import BadSignature, URLSafeSerializer

from survey_api.exceptions import NotFound

SALT = "survey-api/results-share-link"
ReportLanguage = Literal["sv", "en"]


@dataclass(frozen=True)
class ShareGrant:
    organisation_id: int
    survey_round_id: int
    area_id: int | None
    language: ReportLanguage
    expires_at: datetime


def _serializer(secret: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret, salt=SALT)


def create_token(grant: ShareGrant, secret: str) -> str:
    """Sign a grant into a URL-safe token."""
    payload: dict[str, Any] = {
        "o": grant.organisation_id,
        "r": grant.survey_round_id,
        "a": grant.area_id,
        "l": grant.language,
        "e": int(grant.expires_at.timestamp()),
    }
    return str(_serializer(secret).dumps(payload))


def read_token(token: str, secret: str, *, now: datetime | None = None) -> ShareGrant:
    """Check a token's signature and expiry; any problem is a plain 'not found'."""
    try:
        payload = _serializer(secret).loads(token)
        expires_at = datetime.fromtimestamp(int(payload["e"]), UTC)
        grant = ShareGrant(
            organisation_id=int(payload["o"]),
            survey_round_id=int(payload["r"]),
            area_id=None if payload["a"] is None else int(payload["a"]),
            language="en" if payload["l"] == "en" else "sv",
            expires_at=expires_at,
        )
    except (BadSignature, KeyError, TypeError, ValueError):
        raise NotFound("this link is not valid") from None
    if (now or datetime.now(UTC)) >= grant.expires_at:
        raise NotFound("this link has expired; ask for a new one")
    return grant


def expiry(days: int) -> datetime:
    """The expiry instant `days` from now, to the second."""
    return (datetime.now(UTC) + timedelta(days=days)).replace(microsecond=0)
