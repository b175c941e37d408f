"""Interventions (satsningar): what was done, where, from when, at what cost."""

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import Select, delete, select
from sqlalchemy.orm import Session

from survey_api.areas import service as areas_service
from survey_api.exceptions import NotFound, ValidationFailed
from survey_api.interventions.schemas import (
    InterventionCreate,
    InterventionPage,
    InterventionRead,
    InterventionUpdate,
)
from survey_api.models import Intervention, InterventionArea
from survey_api.paging import PageRequest, fetch


def get_intervention(session: Session, organisation_id: int, intervention_id: int) -> Intervention:
    """Load an intervention of the organisation or raise NotFound."""
    intervention = session.get(Intervention, intervention_id)
    if intervention is None or intervention.organisation_id != organisation_id:
        raise NotFound(f"no intervention with id {intervention_id}")
    return intervention


def area_ids_of(session: Session, intervention_ids: Sequence[int]) -> dict[int, list[int]]:
    """Treated areas per intervention."""
    result: dict[int, list[int]] = defaultdict(list)
    if intervention_ids:
        for intervention_id, area_id in session.execute(
            select(InterventionArea.intervention_id, InterventionArea.area_id)
            .where(InterventionArea.intervention_id.in_(intervention_ids))
            .order_by(InterventionArea.area_id)
        ):
            result[intervention_id].append(area_id)
    return result


def read(session: Session, interventions: Sequence[Intervention]) -> list[InterventionRead]:
    """API views, with one query for all the areas."""
    areas = area_ids_of(session, [i.id for i in interventions])
    return [
        InterventionRead(
            id=i.id,
            name=i.name,
            category=i.category,
            area_ids=areas.get(i.id, []),
            start_date=i.start_date,
            end_date=i.end_date,
            cost_sek=i.cost_sek,
            description=i.description,
            created_at=i.created_at,
            updated_at=i.updated_at,
        )
        for i in interventions
    ]


def list_interventions(
    session: Session,
    organisation_id: int,
    *,
    area_id: int | None = None,
    category: str | None = None,
) -> list[Intervention]:
    """All the organisation's interventions, oldest start first, optionally filtered."""
    query = _filtered(organisation_id, area_id=area_id, category=category)
    return list(session.scalars(query.order_by(Intervention.start_date, Intervention.id)))


def page_interventions(
    session: Session,
    organisation_id: int,
    page: PageRequest,
    *,
    area_id: int | None = None,
    category: str | None = None,
) -> InterventionPage:
    """A page of the organisation's interventions, oldest start first, optionally filtered."""
    query = _filtered(organisation_id, area_id=area_id, category=category)
    found, total = fetch(
        session, query, page, order_by=[Intervention.start_date], id_column=Intervention.id
    )
    return InterventionPage.of(read(session, found), total, page)


def _filtered(
    organisation_id: int, *, area_id: int | None, category: str | None
) -> Select[Intervention]:
    query = select(Intervention).where(Intervention.organisation_id == organisation_id)
    if category is not None:
        query = query.where(Intervention.category == category)
    if area_id is not None:
        query = query.where(
            Intervention.id.in_(
                select(InterventionArea.intervention_id).where(InterventionArea.area_id == area_id)
            )
        )
    return query


def create_intervention(
    session: Session, organisation_id: int, data: InterventionCreate
) -> Intervention:
    """Register an intervention in some of the organisation's areas."""
    areas_service.areas_by_ids(session, organisation_id, data.area_ids)
    intervention = Intervention(
        organisation_id=organisation_id, **data.model_dump(exclude={"area_ids"})
    )
    session.add(intervention)
    session.flush()
    _set_areas(session, intervention.id, data.area_ids)
    return intervention


def update_intervention(
    session: Session, organisation_id: int, intervention_id: int, data: InterventionUpdate
) -> Intervention:
    """Change the fields that were sent; area_ids replaces the treated areas."""
    intervention = get_intervention(session, organisation_id, intervention_id)
    fields = data.model_dump(exclude_unset=True, exclude={"area_ids"})
    for field, value in fields.items():
        if value is None and field in ("name", "category", "start_date"):
            raise ValidationFailed(
                f"{field} cannot be null",
                errors=[{"loc": ["body", field], "msg": "cannot be null", "type": "null"}],
            )
        setattr(intervention, field, value)
    if intervention.end_date is not None and intervention.end_date < intervention.start_date:
        raise ValidationFailed(
            "end_date is before start_date",
            errors=[{"loc": ["body", "end_date"], "msg": "before start_date", "type": "dates"}],
        )
    if data.area_ids is not None:
        areas_service.areas_by_ids(session, organisation_id, data.area_ids)
        session.execute(
            delete(InterventionArea).where(InterventionArea.intervention_id == intervention.id)
        )
        _set_areas(session, intervention.id, data.area_ids)
    session.flush()
    return intervention


def delete_intervention(session: Session, organisation_id: int, intervention_id: int) -> None:
    """Remove an intervention and its area links."""
    intervention = get_intervention(session, organisation_id, intervention_id)
    session.execute(
        delete(InterventionArea).where(InterventionArea.intervention_id == intervention.id)
    )
    session.delete(intervention)
    session.flush()


def _set_areas(session: Session, intervention_id: int, area_ids: Sequence[int]) -> None:
    session.add_all(InterventionArea(intervention_id=intervention_id, area_id=a) for a in area_ids)
    session.flush()
