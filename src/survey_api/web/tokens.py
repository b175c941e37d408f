"""Signed values for the tenant form: area-link slugs and one-time form tokens.

Both are stateless until spent, so any host of a scaled-out deployment can check them with
the shared ``secret_key``; only a spent form token is written down (``FormTokenUse``).
"""

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeTimedSerializer

from survey_api.config import Settings

# A tenant may leave the form open overnight; a token older than this asks them to start again.
FORM_TOKEN_MAX_AGE_SECONDS = 3 * 24 * 3600
_FORM_TOKEN_SALT = "survey_api.web.form-token.v1"
_AREA_LINK_KEY = b"survey_api.web.area-link.v1:"
_SLUG = re.compile(r"(\d{1,12})-(\d{1,12})-([a-z2-7]{10})")


def _secret(settings_or_secret: Settings | str) -> str:
    if isinstance(settings_or_secret, Settings):
        return settings_or_secret.secret_key.get_secret_value()
    return settings_or_secret


# --- area links --------------------------------------------------------------------------------


def _area_signature(secret: str, round_id: int, area_id: int) -> str:
    # 50 bits: the slug only has to be unguessable enough that nobody answers on behalf of an
    # area or round they were not invited to by editing numbers in the poster's address.
    digest = hmac.new(
        _AREA_LINK_KEY + secret.encode(), f"{round_id}:{area_id}".encode(), hashlib.sha256
    ).digest()
    return base64.b32encode(digest).decode()[:10].lower()


def area_slug(settings_or_secret: Settings | str, round_id: int, area_id: int) -> str:
    """The signed slug of an area link: ``<round>-<area>-<signature>``."""
    secret = _secret(settings_or_secret)
    return f"{round_id}-{area_id}-{_area_signature(secret, round_id, area_id)}"


def read_area_slug(secret: str, slug: str) -> tuple[int, int] | None:
    """(round id, area id) of a genuine slug, None for anything else."""
    match = _SLUG.fullmatch(slug.strip().lower())
    if match is None:
        return None
    round_id, area_id = int(match[1]), int(match[2])
    if not hmac.compare_digest(match[3], _area_signature(secret, round_id, area_id)):
        return None
    return round_id, area_id


def area_link(settings: Settings, round_id: int, area_id: int) -> str:
    """The absolute address of a round's form for one area (for posters and the demo)."""
    return f"{settings.public_base_url.rstrip('/')}/r/{area_slug(settings, round_id, area_id)}"


def invitation_link(settings: Settings, code: str) -> str:
    """The absolute address printed as a QR code on an invitation letter."""
    normalised = "".join(ch for ch in code.upper() if ch.isalnum())
    return f"{settings.public_base_url.rstrip('/')}/i/{normalised}"


# --- one-time form tokens ---------------------------------------------------------------------


@dataclass(frozen=True)
class FormToken:
    """What a started form is for: a round, an area and, when a letter was used, its code."""

    round_id: int
    area_id: int
    code: str | None
    nonce: str

    @property
    def spent_hash(self) -> str:
        """The key under which a submitted token is recorded as spent."""
        return hashlib.sha256(self.nonce.encode()).hexdigest()


def _serializer(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt=_FORM_TOKEN_SALT)


def new_form_token(round_id: int, area_id: int, code: str | None) -> FormToken:
    """A fresh token: every start of the form gets its own, spendable once."""
    return FormToken(round_id, area_id, code, secrets.token_urlsafe(16))


def sign_form_token(secret: str, token: FormToken) -> str:
    """The token as the opaque string placed in the form."""
    payload: dict[str, object] = {"r": token.round_id, "a": token.area_id, "n": token.nonce}
    if token.code is not None:
        # The tenant's own code, carried until it is redeemed with the response in one
        # transaction: leaving the form half-way must not burn the code.
        payload["c"] = token.code
    return _serializer(secret).dumps(payload)


def read_form_token(
    secret: str, raw: str, *, max_age: int = FORM_TOKEN_MAX_AGE_SECONDS
) -> FormToken | None:
    """The token behind a signed string, or None if forged, malformed or too old."""
    try:
        payload = _serializer(secret).loads(raw, max_age=max_age)
    except BadSignature:  # SignatureExpired is a subclass
        return None
    if not isinstance(payload, dict):
        return None
    round_id, area_id, nonce, code = (payload.get(k) for k in ("r", "a", "n", "c"))
    if not (isinstance(round_id, int) and isinstance(area_id, int) and isinstance(nonce, str)):
        return None
    if code is not None and not isinstance(code, str):
        return None
    return FormToken(round_id, area_id, code, nonce)
