"""Single-use invitation codes: issued once, stored as keyed hashes, redeemed exactly once."""

import hashlib
import hmac
import secrets

from sqlalchemy import case, func, insert, select, update
from sqlalchemy.orm import Session

from survey_api.exceptions import Conflict, NotFound
from survey_api.invitations.schemas import (
    InvitationCount,
    InvitationCounts,
    InvitationTotal,
    IssuedCode,
    IssuedInvitations,
)
from survey_api.models import Invitation
from survey_api.responses import pending
from survey_api.results import suppression
from survey_api.rounds import service as rounds_service

# No 0/O, 1/I/L, 2/Z, 5/S, 6/G, 8/B: codes are typed in from paper by people of all ages.
ALPHABET = "ACDEFHJKMNPQRTUVWXY3479"
CODE_LENGTH = 12  # 23**12 ≈ 2**54 codes; guessing one of a round's few thousand is hopeless


def normalise_code(code: str) -> str:
    """Upper-case and drop spaces and hyphens, so 'acde-fhjk-mnpq' works as printed."""
    return "".join(ch for ch in code.upper() if ch not in " -\t")


def format_code(code: str) -> str:
    """Group in fours for printing: ACDE-FHJK-MNPQ."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def hash_code(code: str, secret: str) -> str:
    """Keyed hash, so a copy of the database alone does not allow testing guesses."""
    return hmac.new(secret.encode(), normalise_code(code).encode(), hashlib.sha256).hexdigest()


def issue(
    session: Session,
    organisation_id: int,
    round_id: int,
    area_id: int,
    count: int,
    *,
    secret: str,
    base_url: str,
) -> IssuedInvitations:
    """Issue `count` codes for an area of a round that is not closed."""
    survey_round = rounds_service.get_round(session, organisation_id, round_id)
    status = rounds_service.status_of(survey_round)
    if status == "closed":
        raise Conflict(f"survey round {round_id} is closed; no more invitations can be issued")
    if status == "historical":
        raise Conflict(
            f"survey round {round_id} is historical: it is never open to tenants, so it takes "
            "no invitations"
        )
    rounds_service.require_area(session, round_id, area_id)
    issued_date = rounds_service.today()
    codes = ["".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH)) for _ in range(count)]
    session.execute(
        insert(Invitation),
        [
            {
                "survey_round_id": round_id,
                "area_id": area_id,
                "code_hash": hash_code(c, secret),
                "issued_date": issued_date,
            }
            for c in codes
        ],
    )
    base = base_url.rstrip("/")
    return IssuedInvitations(
        survey_round_id=round_id,
        area_id=area_id,
        codes=[IssuedCode(code=format_code(c), url=f"{base}/i/{c}") for c in codes],
    )


def redeem(session: Session, round_id: int, code: str, *, secret: str) -> int:
    """Mark a code used and return its area; a code works exactly once, however many race.

    The conditional UPDATE is atomic on both databases: on PostgreSQL a concurrent
    redeemer waits for the row lock and then finds used_date set; SQLite has one writer.
    Only the date is recorded, and nothing links the invitation to the response.
    """
    code_hash = hash_code(code, secret)
    area_id = session.scalar(
        update(Invitation)
        .where(
            Invitation.code_hash == code_hash,
            Invitation.survey_round_id == round_id,
            Invitation.used_date.is_(None),
        )
        .values(used_date=rounds_service.today())
        .returning(Invitation.area_id)
    )
    if area_id is not None:
        return int(area_id)
    used = session.scalar(
        select(Invitation.id).where(
            Invitation.code_hash == code_hash, Invitation.survey_round_id == round_id
        )
    )
    if used is not None:
        raise Conflict("this invitation code has already been used")
    raise NotFound("unknown invitation code for this survey round")


def counts(session: Session, organisation_id: int, round_id: int) -> InvitationCounts:
    """Issued and used codes per area (every area of the round, zeros included).

    A used count is a count of respondents per area, so it is suppressed exactly like a
    results cell, and the round total with the same secondary suppression as a breakdown: no
    hidden area's count can be derived as the total minus the areas shown.
    """
    survey_round = rounds_service.get_round(session, organisation_id, round_id)
    rows = {
        r.area_id: r
        for r in session.execute(
            select(
                Invitation.area_id,
                func.count().label("issued"),
                func.sum(case((Invitation.used_date.is_not(None), 1), else_=0)).label("used"),
            )
            .where(Invitation.survey_round_id == round_id)
            .group_by(Invitation.area_id)
        )
    }
    area_ids = rounds_service.area_ids_of(session, round_id)
    issued = {a: int(rows[a].issued) if a in rows else 0 for a in area_ids}
    used = {a: int(rows[a].used or 0) if a in rows else 0 for a in area_ids}
    k = pending.min_cell_of_round(session, survey_round)
    total_used = sum(used.values())
    hidden = suppression.suppress_breakdown(total_used, used, k)
    total_hidden = suppression.primary_suppressed(total_used, k)
    return InvitationCounts(
        survey_round_id=round_id,
        min_cell_size=k,
        areas=[
            InvitationCount(
                area_id=a,
                issued=issued[a],
                used=None if a in hidden else used[a],
                suppressed=a in hidden,
            )
            for a in area_ids
        ],
        total=InvitationTotal(
            issued=sum(issued.values()),
            used=None if total_hidden else total_used,
            suppressed=total_hidden,
        ),
    )
