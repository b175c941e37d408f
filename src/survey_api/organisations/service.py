"""Organisations (bostadsbolag) and their settings."""

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from survey_api.exceptions import BadRequest, Conflict, NotFound
from survey_api.models import Organisation
from survey_api.organisations.schemas import LANGUAGE_PATTERN, OrganisationUpdate
from survey_api.results.suppression import effective_min_cell


def create_organisation(session: Session, *, name: str, slug: str) -> Organisation:
    """Create an organisation; slugs are unique."""
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,62}", slug):
        raise BadRequest("slug must be lower-case letters, digits and hyphens")
    if session.scalar(select(Organisation.id).where(Organisation.slug == slug)) is not None:
        raise Conflict(f"an organisation with slug {slug!r} already exists")
    organisation = Organisation(name=name, slug=slug)
    session.add(organisation)
    session.flush()
    return organisation


def get_organisation(session: Session, organisation_id: int) -> Organisation:
    """Load an organisation or raise NotFound."""
    organisation = session.get(Organisation, organisation_id)
    if organisation is None:
        raise NotFound("organisation not found")
    return organisation


def get_by_slug(session: Session, slug: str) -> Organisation:
    """Load an organisation by slug or raise NotFound."""
    organisation = session.scalar(select(Organisation).where(Organisation.slug == slug))
    if organisation is None:
        raise NotFound(f"no organisation with slug {slug!r}")
    return organisation


def list_organisations(session: Session) -> list[Organisation]:
    """Every organisation, for the operator's CLI."""
    return list(session.scalars(select(Organisation).order_by(Organisation.id)))


def update_organisation(
    session: Session, organisation_id: int, update: OrganisationUpdate
) -> Organisation:
    """Apply the fields that were sent."""
    organisation = get_organisation(session, organisation_id)
    data = update.model_dump(exclude_unset=True)
    if "languages" in data and data["languages"] is not None:
        bad = [lang for lang in data["languages"] if not re.fullmatch(LANGUAGE_PATTERN, lang)]
        if bad:
            raise BadRequest(f"not language codes: {', '.join(bad)}")
    for field, value in data.items():
        setattr(organisation, field, value)
    session.flush()
    return organisation


def min_cell_size(session: Session, organisation_id: int) -> int:
    """The organisation's effective minimum cell size, k (default 10, never below 5)."""
    setting = session.scalar(
        select(Organisation.min_cell_size).where(Organisation.id == organisation_id)
    )
    return effective_min_cell(setting)
