"""Signed, expiring, revocable share links to a round's results page, for boards without
API keys.

The link carries its stored row's id (models.ShareLink) with the organisation, round, optional
area, language and expiry, signed with the server's secret key (itsdangerous). The signature
makes a guessed or edited link worthless; the row decides whether a genuine one still opens
(revoked one by one from the API or the console). Changing the secret key still revokes every
link at once.

Links signed before links were stored carry no id: they are refused as not valid (there is no
row to revoke them by, so honouring them would keep an unrevocable link alive until it expires).
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from itsdangerous import BadSignature, URLSafeSerializer

from survey_api.exceptions import NotFound

SALT = "survey-api/results-share-link"
# The details of the short page a refused link opens (the router words them in Swedish too).
INVALID = "this link is not valid"
EXPIRED = "this link has expired; ask for a new one"
REVOKED = "this link has been revoked; ask for a new one"
ReportLanguage = Literal["sv", "en"]


@dataclass(frozen=True)
class ShareGrant:
    share_link_id: int
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
        "i": grant.share_link_id,
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
            share_link_id=int(payload["i"]),
            organisation_id=int(payload["o"]),
            survey_round_id=int(payload["r"]),
            area_id=None if payload["a"] is None else int(payload["a"]),
            language="en" if payload["l"] == "en" else "sv",
            expires_at=expires_at,
        )
    except (BadSignature, KeyError, TypeError, ValueError):
        raise NotFound(INVALID) from None
    if (now or datetime.now(UTC)) >= grant.expires_at:
        raise NotFound(EXPIRED)
    return grant


def expiry(days: int) -> datetime:
    """The expiry instant `days` from now, to the second."""
    return (datetime.now(UTC) + timedelta(days=days)).replace(microsecond=0)
