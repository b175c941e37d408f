"""Queries of the tenant form and the invitation letters."""

from collections.abc import Sequence
from datetime import date

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from survey_api.models import FormTokenUse, Invitation, Organisation, SurveyRound


def invitation_by_hash(session: Session, code_hash: str) -> Invitation | None:
    """The invitation with this code hash, in whatever round (hashes are unique)."""
    return session.scalar(select(Invitation).where(Invitation.code_hash == code_hash))


def organisation_languages(session: Session, organisation_id: int) -> list[str] | None:
    """The languages an organisation offers on the form; None means all of the questionnaire's."""
    languages = session.scalar(
        select(Organisation.languages).where(Organisation.id == organisation_id)
    )
    return None if languages is None else [str(lang) for lang in languages]


def survey_round(session: Session, round_id: int) -> SurveyRound | None:
    """A round by id, whatever its organisation: tenants reach it through a signed link or code."""
    return session.get(SurveyRound, round_id)


def token_spent(session: Session, token_hash: str) -> bool:
    """Whether a form token has already been used to send a response."""
    found = session.scalar(
        select(FormTokenUse.token_hash).where(FormTokenUse.token_hash == token_hash)
    )
    return found is not None


def spend_token(session: Session, token_hash: str, on: date) -> bool:
    """Record a form token as spent; False if it already was (a double submit).

    A savepoint keeps the transaction usable after the unique violation. On PostgreSQL a
    concurrent submit of the same token waits on the primary key until ours commits and then
    fails here, so exactly one of them stores a response.
    """
    try:
        with session.begin_nested():
            session.execute(insert(FormTokenUse).values(token_hash=token_hash, used_date=on))
    except IntegrityError:
        return False
    return True


def invitation_states(
    session: Session, round_id: int, code_hashes: Sequence[str]
) -> dict[str, Invitation]:
    """The round's invitations among these code hashes, keyed by hash."""
    found: dict[str, Invitation] = {}
    # Chunked: some databases cap the number of bound parameters in one statement.
    for start in range(0, len(code_hashes), 500):
        chunk = code_hashes[start : start + 500]
        for invitation in session.scalars(
            select(Invitation).where(
                Invitation.survey_round_id == round_id, Invitation.code_hash.in_(chunk)
            )
        ):
            found[invitation.code_hash] = invitation
    return found
