"""Staff accounts, passwords, one-time set-password links and console sessions.

Secrets are never stored: passwords as argon2id hashes, session and set-password tokens
(256 random bits each) as SHA-256 hashes. A staff user has an API role's powers within one
organisation (see :func:`permits`), so the console shares the API's scoping and rules.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from survey_api.auth.dependencies import ALL_ROLES
from survey_api.exceptions import BadRequest, Conflict, NotFound, SurveyError, Unauthenticated
from survey_api.models import (
    STAFF_ROLES,
    Organisation,
    StaffPasswordToken,
    StaffSession,
    StaffUser,
    utcnow,
)
from survey_api.paging import PageRequest, fetch
from survey_api.staff.throttle import LoginThrottle

if TYPE_CHECKING:
    from argon2 import PasswordHasher

SESSION_LIFETIME = timedelta(hours=10)  # a working day, then sign in again
SESSION_IDLE = timedelta(hours=2)  # a browser left alone this long is signed out
LAST_SEEN_EVERY = timedelta(minutes=1)  # not a write on every request
PASSWORD_TOKEN_LIFETIME = timedelta(days=3)
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 200
SET_PASSWORD_PATH = "/console/set-password/"
# No control character either: PostgreSQL text cannot hold a NUL, and no address has one.
_EMAIL = re.compile(r"^[^@\s\x00-\x1f\x7f]{1,64}@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]+$")


class LoginFailed(Unauthenticated):
    """Wrong e-mail or password (never says which), or an inactive account."""


class LoginThrottled(SurveyError):
    """Too many failed logins for this account or from this client."""

    status_code = 429
    title = "Too many requests"
    type_slug = "too-many-requests"

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class PasswordTokenInvalid(BadRequest):
    """A set-password link that is unknown, used or expired."""


class PasswordRejected(BadRequest):
    """A new password that does not meet the rules; `reason` names which."""

    def __init__(self, detail: str, reason: str) -> None:
        super().__init__(detail)
        self.reason = reason


class CurrentPasswordWrong(BadRequest):
    """A password change whose current password is wrong."""


class EmailTaken(Conflict):
    """A new account's e-mail address has an account already."""


class AccountSwitchedOff(Conflict):
    """A password link for an account that is switched off (it could not be used)."""


class LastAdmin(Conflict):
    """A change that would leave the organisation without an active admin."""


@dataclass(frozen=True)
class StaffPrincipal:
    """Who is using the console: the user's organisation and role, and their session."""

    organisation_id: int
    role: str
    staff_user_id: int
    email: str
    session_id: int
    csrf_token: str


def permits(staff_role: str, roles: tuple[str, ...]) -> bool:
    """Whether a staff role may do what an API route allows to API keys of `roles`.

    admin and analyst are the API's roles of the same name. A viewer is the API's read-only
    reader: it may do only what every key may do (the routes open to ALL_ROLES, i.e. reading)
    and so never uploads answers, unlike an integrator key.
    """
    if staff_role == "viewer":
        return set(ALL_ROLES) <= set(roles)
    return staff_role in roles


def hash_token(token: str) -> str:
    """SHA-256 suffices: tokens carry 256 random bits, so there is nothing to stretch."""
    return hashlib.sha256(token.encode()).hexdigest()


@cache
def _hasher() -> PasswordHasher:
    from argon2 import PasswordHasher

    return PasswordHasher()  # argon2id with the library's current (RFC 9106) parameters


@cache
def _dummy_hash() -> str:
    # Verified against when the account does not exist, so a wrong e-mail costs as much time
    # as a wrong password and response times do not tell which accounts exist.
    return _hasher().hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    """An argon2id hash of a password."""
    return _hasher().hash(password)


def _verify(password_hash: str | None, password: str) -> bool:
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        return _hasher().verify(password_hash or _dummy_hash(), password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def check_new_password(password: str, email: str) -> None:
    """Length rules (NIST SP 800-63B: length, not composition), and not the e-mail itself."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PasswordRejected(
            f"the password needs at least {MIN_PASSWORD_LENGTH} characters", "too_short"
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise PasswordRejected(
            f"the password may have at most {MAX_PASSWORD_LENGTH} characters", "too_long"
        )
    if password.strip().lower() == email.lower():
        raise PasswordRejected("the password may not be the e-mail address", "is_email")


def normalise_email(email: str) -> str:
    """Trim and lower-case an address, or raise BadRequest when it is not one."""
    email = email.strip().lower()
    if len(email) > 254:
        raise BadRequest("an e-mail address has at most 254 characters")
    if not _EMAIL.fullmatch(email):
        raise BadRequest(f"{email!r} is not an e-mail address")
    return email


def set_password_link(base_url: str, token: str) -> str:
    """The one-time link a person opens to choose a password."""
    return f"{base_url.rstrip('/')}{SET_PASSWORD_PATH}{token}"


def create_user(
    session: Session, organisation: Organisation, email: str, role: str
) -> tuple[StaffUser, str]:
    """Create a staff user without a password; returns the user and a set-password token."""
    if role not in STAFF_ROLES:
        raise BadRequest(f"unknown role {role!r}; use one of {', '.join(STAFF_ROLES)}")
    email = normalise_email(email)
    if session.scalar(select(StaffUser.id).where(StaffUser.email == email)) is not None:
        # One address is one account across organisations (sign-in is by address alone).
        raise EmailTaken(f"a staff user with the e-mail {email} exists already")
    user = StaffUser(organisation_id=organisation.id, email=email, role=role)
    session.add(user)
    session.flush()
    return user, issue_password_token(session, user)


def create_user_with_password(
    session: Session, organisation: Organisation, email: str, role: str
) -> tuple[StaffUser, str]:
    """Create a staff user with a generated password, returned here and never again (demo)."""
    user, _token = create_user(session, organisation, email, role)
    password = secrets.token_urlsafe(12)
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    session.execute(
        update(StaffPasswordToken)
        .where(StaffPasswordToken.staff_user_id == user.id)
        .values(used_at=utcnow())
    )
    session.flush()
    return user, password


def _void_password_tokens(session: Session, staff_user_id: int) -> None:
    session.execute(
        update(StaffPasswordToken)
        .where(
            StaffPasswordToken.staff_user_id == staff_user_id,
            StaffPasswordToken.used_at.is_(None),
        )
        .values(used_at=utcnow())
    )


def issue_password_token(session: Session, user: StaffUser) -> str:
    """A new one-time set-password token for a user (earlier unused ones stop working)."""
    now = utcnow()
    _void_password_tokens(session, user.id)
    token = secrets.token_urlsafe(32)
    session.add(
        StaffPasswordToken(
            staff_user_id=user.id,
            token_hash=hash_token(token),
            created_at=now,
            expires_at=now + PASSWORD_TOKEN_LIFETIME,
        )
    )
    session.flush()
    return token


def list_users(session: Session, organisation_id: int) -> list[StaffUser]:
    """An organisation's staff users, by e-mail."""
    return list(
        session.scalars(
            select(StaffUser)
            .where(StaffUser.organisation_id == organisation_id)
            .order_by(StaffUser.email)
        )
    )


def page_users(
    session: Session, organisation_id: int, page: PageRequest
) -> tuple[list[StaffUser], int]:
    """A page of an organisation's staff users, by e-mail, and how many there are."""
    query = select(StaffUser).where(StaffUser.organisation_id == organisation_id)
    return fetch(session, query, page, order_by=[StaffUser.email], id_column=StaffUser.id)


def update_user(
    session: Session,
    organisation_id: int,
    staff_user_id: int,
    *,
    role: str | None = None,
    active: bool | None = None,
) -> StaffUser:
    """Change a user's role or switch the account off or on. The organisation keeps at least
    one active admin. Switching off signs the person out everywhere and voids unused
    set-password links; a new role applies from the person's next request."""
    user = get_user(session, organisation_id, staff_user_id)
    if role is not None and role not in STAFF_ROLES:
        raise BadRequest(f"unknown role {role!r}; use one of {', '.join(STAFF_ROLES)}")
    stays_admin = (role or user.role) == "admin" and (user.active if active is None else active)
    if user.role == "admin" and user.active and not stays_admin:
        # The admins' rows stay locked until the transaction ends, so two admins demoting
        # each other at once cannot both see the other one still there (PostgreSQL; SQLite
        # has a single writer).
        others = session.scalars(
            select(StaffUser.id)
            .where(
                StaffUser.organisation_id == organisation_id,
                StaffUser.role == "admin",
                StaffUser.active.is_(True),
                StaffUser.id != user.id,
            )
            .with_for_update()
        ).all()
        if not others:
            raise LastAdmin(
                f"{user.email} is the organisation's only active admin; make someone else "
                "admin first"
            )
    if role is not None:
        user.role = role
    if active is not None and active != user.active:
        user.active = active
        if not active:
            revoke_user_sessions(session, user.id)
            _void_password_tokens(session, user.id)
    session.flush()
    return user


def sign_out_everywhere(session: Session, organisation_id: int, staff_user_id: int) -> None:
    """Revoke every session of one of the organisation's users (a lost laptop)."""
    user = get_user(session, organisation_id, staff_user_id)
    revoke_user_sessions(session, user.id)


def password_link_expiry(session: Session, token: str) -> datetime:
    """When a set-password token stops working."""
    expires_at = session.scalar(
        select(StaffPasswordToken.expires_at).where(
            StaffPasswordToken.token_hash == hash_token(token)
        )
    )
    if expires_at is None:
        raise NotFound("no such set-password link")
    return _aware(expires_at)


def get_user(session: Session, organisation_id: int, staff_user_id: int) -> StaffUser:
    """A staff user of the organisation, or NotFound (another organisation's id included)."""
    user = session.get(StaffUser, staff_user_id)
    if user is None or user.organisation_id != organisation_id:
        raise NotFound(f"no staff user with id {staff_user_id}")
    return user


def reset_password(session: Session, organisation_id: int, staff_user_id: int) -> str:
    """An admin's reset: the old password and every session stop working; returns a new
    set-password token."""
    user = get_user(session, organisation_id, staff_user_id)
    if not user.active:
        raise AccountSwitchedOff(
            f"{user.email} is switched off; switch the account on first, then make a new link"
        )
    user.password_hash = None
    revoke_user_sessions(session, user.id)
    return issue_password_token(session, user)


def password_token_user(session: Session, token: str) -> StaffUser:
    """The user of a valid (unused, unexpired) set-password token, or PasswordTokenInvalid."""
    row = session.scalar(
        select(StaffPasswordToken).where(StaffPasswordToken.token_hash == hash_token(token))
    )
    if row is None or row.used_at is not None or _aware(row.expires_at) <= utcnow():
        raise PasswordTokenInvalid("this link is unknown, already used or expired")
    user = session.get(StaffUser, row.staff_user_id)
    if user is None or not user.active:
        raise PasswordTokenInvalid("this link is unknown, already used or expired")
    return user


def use_password_token(session: Session, token: str, password: str) -> StaffUser:
    """Set a password through a one-time link; the link then stops working, and so does
    every session the user had."""
    user = password_token_user(session, token)
    check_new_password(password, user.email)
    now = utcnow()
    # Single use even under two concurrent submissions: only one UPDATE finds it unused.
    used = session.execute(
        update(StaffPasswordToken)
        .where(
            StaffPasswordToken.token_hash == hash_token(token),
            StaffPasswordToken.used_at.is_(None),
        )
        .values(used_at=now)
    )
    if getattr(used, "rowcount", 0) != 1:
        raise PasswordTokenInvalid("this link is unknown, already used or expired")
    user.password_hash = hash_password(password)
    user.password_changed_at = now
    revoke_user_sessions(session, user.id)
    return user


def change_password(session: Session, principal: StaffPrincipal, current: str, new: str) -> None:
    """Change one's own password; every other session of the user is signed out."""
    user = get_user(session, principal.organisation_id, principal.staff_user_id)
    if not _verify(user.password_hash, current):
        raise CurrentPasswordWrong("the current password is wrong")
    check_new_password(new, user.email)
    user.password_hash = hash_password(new)
    user.password_changed_at = utcnow()
    revoke_user_sessions(session, user.id, keep=principal.session_id)


def log_in(
    session: Session, throttle: LoginThrottle, email: str, password: str, client: str | None
) -> tuple[StaffUser, str]:
    """Check a password and start a new session (a new token every time, so a session id
    planted before login is never the one used after it); returns the user and the token."""
    verdict = throttle.check(email, client)
    if not verdict.allowed:
        raise LoginThrottled("too many failed logins; wait and try again", verdict.retry_after)
    try:
        address = normalise_email(email)
    except BadRequest:
        address = ""
    user = session.scalar(select(StaffUser).where(StaffUser.email == address)) if address else None
    ok = _verify(user.password_hash if user else None, password)
    if user is None or not ok or not user.active:
        throttle.failed(email, client)
        raise LoginFailed("wrong e-mail address or password")
    throttle.succeeded(email)
    if _hasher().check_needs_rehash(user.password_hash or ""):
        user.password_hash = hash_password(password)
    return user, start_session(session, user)


def start_session(session: Session, user: StaffUser) -> str:
    """A new session for a user; returns its token (the cookie's value)."""
    now = utcnow()
    token = secrets.token_urlsafe(32)
    session.add(
        StaffSession(
            staff_user_id=user.id,
            token_hash=hash_token(token),
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            last_seen_at=now,
            expires_at=now + SESSION_LIFETIME,
        )
    )
    session.flush()
    return token


def resolve_session(session: Session, token: str) -> StaffPrincipal | None:
    """The principal of a live session token, or None (unknown, revoked, expired, idle, or an
    inactive user)."""
    row = session.execute(
        select(StaffSession, StaffUser)
        .join(StaffUser, StaffUser.id == StaffSession.staff_user_id)
        .where(StaffSession.token_hash == hash_token(token), StaffSession.revoked_at.is_(None))
    ).first()
    if row is None:
        return None
    staff_session, user = row[0], row[1]
    now = utcnow()
    if (
        not user.active
        or _aware(staff_session.expires_at) <= now
        or _aware(staff_session.last_seen_at) + SESSION_IDLE <= now
    ):
        return None
    if _aware(staff_session.last_seen_at) + LAST_SEEN_EVERY <= now:
        staff_session.last_seen_at = now
        session.flush()
    return StaffPrincipal(
        organisation_id=user.organisation_id,
        role=user.role,
        staff_user_id=user.id,
        email=user.email,
        session_id=staff_session.id,
        csrf_token=staff_session.csrf_token,
    )


def log_out(session: Session, principal: StaffPrincipal) -> None:
    """Revoke the principal's session: its cookie stops working at once."""
    session.execute(
        update(StaffSession)
        .where(StaffSession.id == principal.session_id, StaffSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


def revoke_user_sessions(session: Session, staff_user_id: int, keep: int | None = None) -> None:
    """Revoke every session of a user (but `keep`)."""
    query = update(StaffSession).where(
        StaffSession.staff_user_id == staff_user_id, StaffSession.revoked_at.is_(None)
    )
    if keep is not None:
        query = query.where(StaffSession.id != keep)
    session.execute(query.values(revoked_at=utcnow()))


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes for timezone-aware columns; they are UTC."""
    from datetime import UTC

    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def find_user(session: Session, organisation_id: int, email: str) -> StaffUser:
    """A staff user of the organisation by e-mail address, or NotFound."""
    user = session.scalar(
        select(StaffUser).where(
            StaffUser.organisation_id == organisation_id,
            StaffUser.email == email.strip().lower(),
        )
    )
    if user is None:
        raise NotFound(f"no staff user {email.strip().lower()!r} in this organisation")
    return user
