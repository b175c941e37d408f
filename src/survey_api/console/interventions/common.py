"""What the Interventions pages share: the intervention from the path, its API model, its
areas' names and an amount in kronor."""

from collections.abc import Iterable

from sqlalchemy.orm import Session

from survey_api.areas import service as areas_service
from survey_api.console.forms import path_id
from survey_api.interventions import service as interventions_service
from survey_api.interventions.schemas import InterventionRead
from survey_api.models import Intervention
from survey_api.presentation import formatting
from survey_api.staff.service import StaffPrincipal


def intervention_of(session: Session, principal: StaffPrincipal, raw_id: str) -> Intervention:
    """The organisation's intervention, or the same NotFound for a missing id, another
    organisation's id and anything that is not an id at all."""
    return interventions_service.get_intervention(
        session, principal.organisation_id, path_id(raw_id, "intervention")
    )


def read_model(session: Session, intervention: Intervention) -> InterventionRead:
    """The intervention as the API shows it."""
    return interventions_service.read(session, [intervention])[0]


def area_names(session: Session, organisation_id: int, ids: Iterable[int]) -> dict[int, str]:
    """The names of these areas of the organisation, by id."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    return {a.id: a.name for a in areas_service.areas_by_ids(session, organisation_id, wanted)}


def sek(value: int | None, language: str) -> str:
    """An amount in Swedish kronor: "1 800 000 kr" (with U+00A0) in Swedish, "SEK 1,800,000"."""
    if value is None:
        return ""
    amount = formatting.number(value, language)
    return f"{amount}{formatting.NBSP}kr" if language == "sv" else f"SEK{formatting.NBSP}{amount}"
