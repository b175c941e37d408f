"""API keys: generated once, shown once, stored as a SHA-256 hash."""

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from survey_api.exceptions import BadRequest, NotFound, Unauthenticated
from survey_api.models import ROLES, ApiKey, Organisation, utcnow
from survey_api.paging import PageRequest, fetch

KEY_PREFIX = "sak_"
MAX_KEY_NAME_LENGTH = 200  # api_key.name's column length


class KeyNameInvalid(BadRequest):
    """A key's name is empty, too long for its column, or holds a NUL character."""


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key's organisation and role."""

    organisation_id: int
    role: str
    api_key_id: int


def hash_key(secret: str) -> str:
    """SHA-256 is enough here: keys carry 256 bits of randomness, so no stretching is needed."""
    return hashlib.sha256(secret.encode()).hexdigest()


def create_api_key(
    session: Session, organisation: Organisation, *, name: str, role: str
) -> tuple[ApiKey, str]:
    """Create a key; the plaintext secret is returned here and never again."""
    if role not in ROLES:
        raise BadRequest(f"unknown role {role!r}; use one of {', '.join(ROLES)}")
    name = name.strip()
    if not name or len(name) > MAX_KEY_NAME_LENGTH or "\x00" in name:
        raise KeyNameInvalid(f"a key's name needs 1 to {MAX_KEY_NAME_LENGTH} characters")
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    api_key = ApiKey(
        organisation_id=organisation.id,
        name=name,
        role=role,
        prefix=secret[:10],
        key_hash=hash_key(secret),
    )
    session.add(api_key)
    session.flush()
    return api_key, secret


def list_api_keys(session: Session, organisation_id: int) -> list[ApiKey]:
    """All keys of an organisation, revoked ones included."""
    return list(
        session.scalars(
            select(ApiKey).where(ApiKey.organisation_id == organisation_id).order_by(ApiKey.id)
        )
    )


def page_api_keys(
    session: Session, organisation_id: int, page: PageRequest
) -> tuple[list[ApiKey], int]:
    """A page of an organisation's keys, oldest first, and how many there are."""
    query = select(ApiKey).where(ApiKey.organisation_id == organisation_id)
    return fetch(session, query, page, order_by=[], id_column=ApiKey.id)


def get_api_key(session: Session, organisation_id: int, api_key_id: int) -> ApiKey:
    """One of the organisation's keys; another organisation's answers exactly like a missing one."""
    api_key = session.get(ApiKey, api_key_id)
    if api_key is None or api_key.organisation_id != organisation_id:
        raise NotFound(f"no API key with id {api_key_id}")
    return api_key


def revoke_api_key(session: Session, api_key_id: int) -> ApiKey:
    """Revoke a key; it stops working on the next request."""
    api_key = session.get(ApiKey, api_key_id)
    if api_key is None:
        raise NotFound(f"no API key with id {api_key_id}")
    if api_key.revoked_at is None:
        api_key.revoked_at = utcnow()
    session.flush()
    return api_key


_AUTHENTICATE = select(ApiKey.id, ApiKey.organisation_id, ApiKey.role).where(
    ApiKey.key_hash == bindparam("key_hash"), ApiKey.revoked_at.is_(None)
)


def authenticate(session: Session, secret: str) -> Principal:
    """Resolve a bearer secret to its principal, or raise Unauthenticated."""
    # Every request runs this: a Core query on the session's connection (same transaction)
    # skips the ORM's per-statement work, which costs more than the query itself here.
    row = session.connection().execute(_AUTHENTICATE, {"key_hash": hash_key(secret)}).first()
    if row is None:
        raise Unauthenticated("unknown or revoked API key")
    return Principal(organisation_id=row.organisation_id, role=row.role, api_key_id=row.id)
