"""Interventions: the list, the register and edit forms, and deleting one."""

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from survey_api.console.auth import DefinerStaff, Fields, SessionDep, Staff, StaffPost
from survey_api.console.forms import (
    CheckedAreas,
    FormErrors,
    area_choices,
    form_state,
    model_errors,
    page_number,
    paging,
    to_int,
)
from survey_api.console.interventions.common import area_names, intervention_of, read_model, sek
from survey_api.console.rendering import ConsoleRoute, PageLanguage, page_language, redirect, render
from survey_api.exceptions import Conflict, NotFound, SurveyError, ValidationFailed
from survey_api.interventions import service as interventions_service
from survey_api.interventions.schemas import (
    InterventionCreate,
    InterventionRead,
    InterventionUpdate,
)
from survey_api.paging import PageRequest
from survey_api.staff.service import StaffPrincipal

router = APIRouter(prefix="/interventions", route_class=ConsoleRoute)

PAGE_SIZE = 20
FORM_FIELDS = (
    "name",
    "category",
    "area_ids",
    "start_date",
    "end_date",
    "cost_sek",
    "description",
)
# Categories others commonly use (InterventionCreate's description); the form suggests them.
SUGGESTED_CATEGORIES = (
    "trygghetsvardar",
    "fritidsbanken",
    "belysning",
    "sommarjobb",
    "polissamverkan",
)


# --- the list ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    """An intervention in the list."""

    id: int
    name: str
    category: str
    areas: list[str]
    start_date: Any
    end_date: Any
    cost: str


@router.get("")
def interventions_page(request: Request, session: SessionDep, principal: Staff) -> Response:
    """The organisation's interventions, oldest start first, 20 to a page."""
    lang = page_language(request)
    number = page_number(request)
    page = interventions_service.page_interventions(
        session,
        principal.organisation_id,
        PageRequest(
            limit=PAGE_SIZE, offset=(number - 1) * PAGE_SIZE, path="/console/interventions"
        ),
    )
    names = area_names(
        session, principal.organisation_id, (a for i in page.items for a in i.area_ids)
    )
    lines = [
        Line(
            id=i.id,
            name=i.name,
            category=i.category,
            areas=[names[a] for a in i.area_ids if a in names],
            start_date=i.start_date,
            end_date=i.end_date,
            cost=sek(i.cost_sek, lang.code),
        )
        for i in page.items
    ]
    return render(
        request,
        "interventions/list.html",
        lang=lang,
        interventions=lines,
        notice=request.query_params.get("done"),
        **paging(lang, "/console/interventions", number, page.total, PAGE_SIZE),
    )


# --- register and edit -------------------------------------------------------------------------


def _categories(session: Session, organisation_id: int) -> list[str]:
    used = {i.category for i in interventions_service.list_interventions(session, organisation_id)}
    return sorted(used | set(SUGGESTED_CATEGORIES))


def _form(
    request: Request,
    session: Session,
    principal: StaffPrincipal,
    *,
    lang: PageLanguage,
    values: dict[str, Any],
    intervention: InterventionRead | None = None,
    errors: FormErrors | None = None,
) -> Response:
    return render(
        request,
        "interventions/form.html",
        lang=lang,
        csrf_token=principal.csrf_token,
        intervention=intervention,
        areas=area_choices(session, principal.organisation_id),
        categories=_categories(session, principal.organisation_id),
        values=values,
        **form_state(errors, FORM_FIELDS),
    )


def _values(fields: dict[str, str], checked: list[str]) -> dict[str, Any]:
    values: dict[str, Any] = {name: fields.get(name, "") for name in FORM_FIELDS}
    values["area_ids"] = checked
    return values


def _body(values: dict[str, Any]) -> dict[str, Any]:
    """The API's request body for the form's values (blank optional fields are null)."""
    return {
        "name": values["name"].strip(),
        "category": values["category"].strip(),
        "area_ids": [to_int(a) for a in values["area_ids"]],
        "start_date": values["start_date"].strip() or None,
        "end_date": values["end_date"].strip() or None,
        "cost_sek": to_int(values["cost_sek"]),
        "description": values["description"].strip() or None,
    }


def _field_of(loc: list[Any], message: str) -> str:
    name = next((str(p) for p in loc if str(p) in FORM_FIELDS), "")
    if name:
        return name
    # The models' own cross-field checks name the field in their message.
    return "end_date" if "end_date" in message else "area_ids"


def _model_errors(invalid: ValidationError) -> FormErrors:
    return model_errors(invalid.errors(include_url=False), _field_of)


def _service_errors(refused: SurveyError) -> FormErrors:
    errors = FormErrors()
    if isinstance(refused, ValidationFailed) and refused.errors:
        for error in refused.errors:
            errors.add(_field_of(list(error.get("loc", [])), refused.detail), refused.detail)
    elif isinstance(refused, NotFound) and "area" in refused.detail:
        errors.add("area_ids", refused.detail)
    else:
        errors.general.append(refused.detail)
    return errors


def _values_of(read: InterventionRead) -> dict[str, Any]:
    return {
        "name": read.name,
        "category": read.category,
        "area_ids": [str(a) for a in read.area_ids],
        "start_date": read.start_date.isoformat(),
        "end_date": read.end_date.isoformat() if read.end_date else "",
        "cost_sek": "" if read.cost_sek is None else str(read.cost_sek),
        "description": read.description or "",
    }


@router.get("/new")
def new_intervention_page(
    request: Request, session: SessionDep, principal: DefinerStaff
) -> Response:
    """(analyst) The form to register an intervention."""
    values: dict[str, Any] = {name: "" for name in FORM_FIELDS} | {"area_ids": []}
    return _form(request, session, principal, lang=page_language(request), values=values)


@router.post("/new")
def create_intervention(
    request: Request,
    session: SessionDep,
    allowed: DefinerStaff,
    principal: StaffPost,
    fields: Fields,
    checked: CheckedAreas,
) -> Response:
    """(analyst) Register it with the API's model and service, or show what to fix."""
    lang = page_language(request, fields.get("_lang"))
    values = _values(fields, checked)
    try:
        data = InterventionCreate.model_validate(_body(values))
    except ValidationError as invalid:
        return _form(
            request, session, principal, lang=lang, values=values, errors=_model_errors(invalid)
        )
    try:
        created = interventions_service.create_intervention(
            session, principal.organisation_id, data
        )
    except (NotFound, Conflict, ValidationFailed) as refused:
        return _form(
            request, session, principal, lang=lang, values=values, errors=_service_errors(refused)
        )
    return redirect(lang.url(f"/console/interventions/{created.id}", done="created"))


@router.get("/{intervention_id}")
def intervention_page(
    request: Request, session: SessionDep, principal: Staff, intervention_id: str
) -> Response:
    """An intervention: what, where, when and at what cost."""
    lang = page_language(request)
    read = read_model(session, intervention_of(session, principal, intervention_id))
    names = area_names(session, principal.organisation_id, read.area_ids)
    return render(
        request,
        "interventions/intervention.html",
        lang=lang,
        intervention=read,
        areas=[names[a] for a in read.area_ids if a in names],
        cost=sek(read.cost_sek, lang.code),
        may_change=principal.role in ("admin", "analyst"),
        notice=request.query_params.get("done"),
    )


@router.get("/{intervention_id}/edit")
def edit_intervention_page(
    request: Request, session: SessionDep, principal: DefinerStaff, intervention_id: str
) -> Response:
    """(analyst) The form with the intervention's fields filled in."""
    read = read_model(session, intervention_of(session, principal, intervention_id))
    return _form(
        request,
        session,
        principal,
        lang=page_language(request),
        values=_values_of(read),
        intervention=read,
    )


@router.post("/{intervention_id}/edit")
def edit_intervention(
    request: Request,
    session: SessionDep,
    allowed: DefinerStaff,
    principal: StaffPost,
    intervention_id: str,
    fields: Fields,
    checked: CheckedAreas,
) -> Response:
    """(analyst) Change it with the API's update model and service (every field is sent)."""
    lang = page_language(request, fields.get("_lang"))
    read = read_model(session, intervention_of(session, principal, intervention_id))
    values = _values(fields, checked)
    body = _body(values)
    try:
        data = InterventionUpdate.model_validate(body)
    except ValidationError as invalid:
        return _form(
            request,
            session,
            principal,
            lang=lang,
            values=values,
            intervention=read,
            errors=_model_errors(invalid),
        )
    try:
        interventions_service.update_intervention(session, principal.organisation_id, read.id, data)
    except (NotFound, Conflict, ValidationFailed) as refused:
        # The service may have set some fields before refusing: none of them may be stored.
        session.rollback()
        return _form(
            request,
            session,
            principal,
            lang=lang,
            values=values,
            intervention=read,
            errors=_service_errors(refused),
        )
    return redirect(lang.url(f"/console/interventions/{read.id}", done="saved"))


@router.get("/{intervention_id}/delete")
def delete_intervention_page(
    request: Request, session: SessionDep, principal: DefinerStaff, intervention_id: str
) -> Response:
    """(analyst) Are you sure? Deleting cannot be undone."""
    read = read_model(session, intervention_of(session, principal, intervention_id))
    return render(
        request,
        "interventions/delete.html",
        lang=page_language(request),
        intervention=read,
        csrf_token=principal.csrf_token,
    )


@router.post("/{intervention_id}/delete")
def delete_intervention(
    request: Request,
    session: SessionDep,
    allowed: DefinerStaff,
    principal: StaffPost,
    intervention_id: str,
    fields: Fields,
) -> Response:
    """(analyst) Delete the intervention and its areas."""
    lang = page_language(request, fields.get("_lang"))
    intervention = intervention_of(session, principal, intervention_id)
    interventions_service.delete_intervention(session, principal.organisation_id, intervention.id)
    return redirect(lang.url("/console/interventions", done="deleted"))
