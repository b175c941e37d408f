"""The console's Interventions section: list, register, edit, delete, and the evaluation page.

GET  /console/interventions                      interventions, oldest start first, a page at a time
GET  /console/interventions/new, POST            (analyst) register an intervention
GET  /console/interventions/{id}                 an intervention: what, where, when, at what cost
GET  /console/interventions/{id}/edit, POST      (analyst) change it
GET  /console/interventions/{id}/delete, POST    (analyst) delete it, after a confirmation
GET  /console/interventions/{id}/evaluation      difference-in-differences for a chosen indicator

Every rule comes from the services the API calls (interventions service and evaluation, areas,
questionnaires); this module only turns form fields into the API's request models and the
answers and errors into pages.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from survey_api.areas import service as areas_service
from survey_api.console.auth import DefinerStaff, Fields, SessionDep, Staff, StaffPost
from survey_api.console.rendering import ConsoleRoute, PageLanguage, page_language, redirect, render
from survey_api.exceptions import Conflict, NotFound, SurveyError, ValidationFailed
from survey_api.ids import MAX_ID
from survey_api.interventions import evaluation
from survey_api.interventions import service as interventions_service
from survey_api.interventions.evaluation_schemas import EvaluationCell, InterventionEvaluation
from survey_api.interventions.schemas import (
    InterventionCreate,
    InterventionRead,
    InterventionUpdate,
)
from survey_api.models import Intervention
from survey_api.organisations import service as organisations_service
from survey_api.paging import MAX_LIMIT, PageRequest
from survey_api.presentation import formatting
from survey_api.questionnaires import service as questionnaires_service
from survey_api.results import queries as results_queries
from survey_api.results.service import Target
from survey_api.staff.service import StaffPrincipal

router = APIRouter(prefix="/interventions", route_class=ConsoleRoute)

PAGE_SIZE = 20
DEFAULT_INDICATOR = "andel_otrygga_kvall"
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


async def _checked_areas(request: Request) -> list[str]:
    """Every ticked area box (a form's fields keep only the first value of a name)."""
    form = await request.form()
    return [value for value in form.getlist("area_ids") if isinstance(value, str)]


CheckedAreas = Annotated[list[str], Depends(_checked_areas)]


def _intervention(session: Session, principal: StaffPrincipal, raw_id: str) -> Intervention:
    """The organisation's intervention, or the same NotFound for a missing id, another
    organisation's id and anything that is not an id at all."""
    ok = raw_id.isascii() and raw_id.isdigit() and len(raw_id) <= 10
    intervention_id = int(raw_id) if ok else 0
    if not 1 <= intervention_id <= MAX_ID:
        raise NotFound("no such intervention")
    return interventions_service.get_intervention(
        session, principal.organisation_id, intervention_id
    )


def _read(session: Session, intervention: Intervention) -> InterventionRead:
    return interventions_service.read(session, [intervention])[0]


def _to_int(value: str | None) -> int | str | None:
    """A number typed in a form as an int ("1 800 000" too); anything else as typed."""
    if value is None or not value.strip():
        return None
    stripped = "".join(value.split()).replace(formatting.NBSP, "")
    ok = stripped.isascii() and stripped.isdigit() and len(stripped) < 15
    return int(stripped) if ok else value


def _area_names(session: Session, organisation_id: int, ids: Iterable[int]) -> dict[int, str]:
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


def points(value: float, language: str) -> str:
    """A difference of shares in percentage points, one decimal, signed: "+3,5", "−8,1"."""
    shown = formatting.number(abs(value) * 100, language, decimals=1)
    if shown == formatting.number(0, language, decimals=1):
        return shown
    return ("+" if value > 0 else "\u2212") + shown


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
    raw = request.query_params.get("page", "1")
    number = max(int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 7 else 1, 1)
    page = interventions_service.page_interventions(
        session,
        principal.organisation_id,
        PageRequest(
            limit=PAGE_SIZE, offset=(number - 1) * PAGE_SIZE, path="/console/interventions"
        ),
    )
    names = _area_names(
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
    last = max(1, -(-page.total // PAGE_SIZE))
    return render(
        request,
        "interventions/list.html",
        lang=lang,
        interventions=lines,
        total=page.total,
        number=number,
        last=last,
        notice=request.query_params.get("done"),
        previous_url=lang.url("/console/interventions", page=str(number - 1))
        if number > 1
        else None,
        next_url=lang.url("/console/interventions", page=str(number + 1))
        if number < last
        else None,
    )


# --- register and edit -------------------------------------------------------------------------


@dataclass(frozen=True)
class AreaChoice:
    """An area to tick."""

    id: int
    code: str
    name: str


@dataclass
class FormErrors:
    """Errors per field (the service's own messages) and for the whole form."""

    fields: dict[str, list[str]] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)

    def add(self, name: str, message: str) -> None:
        self.fields.setdefault(name, []).append(message)

    def __bool__(self) -> bool:
        return bool(self.fields or self.general)


def _areas(session: Session, organisation_id: int) -> list[AreaChoice]:
    choices: list[AreaChoice] = []
    offset = 0
    while True:
        page = areas_service.list_areas(
            session,
            organisation_id,
            PageRequest(limit=MAX_LIMIT, offset=offset, path="/console/interventions"),
        )
        choices += [AreaChoice(a.id, a.code, a.name) for a in page.items]
        offset += MAX_LIMIT
        if page.next is None:
            return choices


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
        status=422 if errors else 200,
        csrf_token=principal.csrf_token,
        intervention=intervention,
        areas=_areas(session, principal.organisation_id),
        categories=_categories(session, principal.organisation_id),
        values=values,
        errors=errors or FormErrors(),
        order=[name for name in FORM_FIELDS if errors and name in errors.fields],
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
        "area_ids": [_to_int(a) for a in values["area_ids"]],
        "start_date": values["start_date"].strip() or None,
        "end_date": values["end_date"].strip() or None,
        "cost_sek": _to_int(values["cost_sek"]),
        "description": values["description"].strip() or None,
    }


def _field_of(loc: list[Any], message: str) -> str:
    name = next((str(p) for p in loc if str(p) in FORM_FIELDS), "")
    if name:
        return name
    # The models' own cross-field checks name the field in their message.
    return "end_date" if "end_date" in message else "area_ids"


def _model_errors(invalid: ValidationError) -> FormErrors:
    errors = FormErrors()
    for error in invalid.errors(include_url=False):
        message = str(error["msg"])
        errors.add(_field_of(list(error["loc"]), message), message)
    return errors


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
    read = _read(session, _intervention(session, principal, intervention_id))
    names = _area_names(session, principal.organisation_id, read.area_ids)
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
    read = _read(session, _intervention(session, principal, intervention_id))
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
    read = _read(session, _intervention(session, principal, intervention_id))
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
    read = _read(session, _intervention(session, principal, intervention_id))
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
    intervention = _intervention(session, principal, intervention_id)
    interventions_service.delete_intervention(session, principal.organisation_id, intervention.id)
    return redirect(lang.url("/console/interventions", done="deleted"))


# --- the evaluation ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Measure:
    """An indicator or item to evaluate: its select value and its label."""

    value: str
    label: str


@dataclass(frozen=True)
class CellView:
    """One of the four cells, ready to show; `share` is None when suppressed."""

    period: str
    n: str | None
    share: str | None
    interval: str | None
    weighting: str | None


def _measures(
    session: Session, organisation_id: int, lang: str
) -> tuple[list[Measure], list[Measure], list[str]]:
    """Indicators and items with favourable codes in the organisation's questionnaires (latest
    round first), and the periods of its rounds."""
    indicators: dict[str, Measure] = {}
    items: dict[str, Measure] = {}
    rounds = results_queries.rounds_of_organisation(session, organisation_id)
    seen_versions: set[int] = set()
    for survey_round in reversed(rounds):
        if survey_round.questionnaire_version_id in seen_versions:
            continue
        seen_versions.add(survey_round.questionnaire_version_id)
        definition = questionnaires_service.published_definition(
            session, survey_round.questionnaire_version_id
        )
        for indicator in definition.indicators:
            label = _in(indicator.label, lang) or indicator.key
            indicators.setdefault(indicator.key, Measure(f"indicator:{indicator.key}", label))
        for item in definition.items:
            if item.favourable:
                label = _in(item.text, lang) or item.key
                items.setdefault(item.key, Measure(f"item:{item.key}", label))
    periods = sorted({r.period for r in rounds}, reverse=True)
    return list(indicators.values()), list(items.values()), periods


def _in(texts: dict[str, str], lang: str) -> str:
    return texts.get(lang) or texts.get("sv") or next(iter(texts.values()), "")


def _target(value: str, indicators: list[Measure], items: list[Measure]) -> Target | None:
    """The chosen measure, else andel_otrygga_kvall if offered, else the first one."""
    offered = [m.value for m in (*indicators, *items)]
    if value not in offered:
        default = f"indicator:{DEFAULT_INDICATOR}"
        value = default if default in offered else next(iter(offered), "")
    if not value:
        return None
    kind, _, key = value.partition(":")
    return Target("indicator" if kind == "indicator" else "item", key)


def _cell_view(cell: EvaluationCell | None, lang: str) -> CellView | None:
    if cell is None:
        return None
    if cell.suppressed or cell.p is None or cell.low is None or cell.high is None:
        return CellView(cell.period, None, None, None, None)
    return CellView(
        period=cell.period,
        n=formatting.number(cell.n or 0, lang),
        share=formatting.percent(cell.p, lang),
        interval=formatting.percent_range(cell.low, cell.high, lang),
        weighting=cell.weighting,
    )


def _cells(result: InterventionEvaluation, lang: str) -> dict[str, CellView | None]:
    found = {(c.role, c.when): c for c in result.cells}
    return {
        f"{role}_{when}": _cell_view(found.get((role, when)), lang)
        for role in ("treated", "comparison")
        for when in ("before", "after")
    }


@router.get("/{intervention_id}/evaluation")
def evaluation_page(
    request: Request, session: SessionDep, principal: Staff, intervention_id: str
) -> Response:
    """Difference-in-differences for a chosen indicator: the four cells, the estimate with its
    interval, the pre-trend, the comparison areas, the periods and why it is not proof."""
    lang = page_language(request)
    intervention = _intervention(session, principal, intervention_id)
    read = _read(session, intervention)
    indicators, items, periods = _measures(session, principal.organisation_id, lang.code)
    chosen = request.query_params.get("measure", "")
    target = _target(chosen, indicators, items)
    before = request.query_params.get("before") or None
    after = request.query_params.get("after") or None
    before = before if before in periods else None
    after = after if after in periods else None
    organisation = organisations_service.get_organisation(session, principal.organisation_id)
    result: InterventionEvaluation | None = None
    problem: str | None = None
    status = 200
    if target is None:
        problem = "no survey round of yours has an indicator or an item to evaluate"
        status = 409
    else:
        try:
            result = evaluation.evaluate(
                session,
                principal.organisation_id,
                read.id,
                target=target,
                before_period=before,
                after_period=after,
            )
        except (NotFound, Conflict, ValidationFailed) as refused:
            problem, status = refused.detail, refused.status_code
    names = _area_names(
        session,
        principal.organisation_id,
        [*read.area_ids, *(result.comparison_area_ids if result else [])],
    )
    return render(
        request,
        "interventions/evaluation.html",
        lang=lang,
        status=status,
        intervention=read,
        indicators=indicators,
        items=items,
        periods=periods,
        chosen=f"{target.kind}:{target.key}" if target else "",
        before=before or "",
        after=after or "",
        result=result,
        problem=problem,
        cells=_cells(result, lang.code) if result else {},
        did=result.did if result else None,
        points=lambda value: points(value, lang.code),
        min_cell_size=organisation.min_cell_size,
        treated=[names[a] for a in read.area_ids if a in names],
        comparison=[names[a] for a in (result.comparison_area_ids if result else []) if a in names],
        default_comparison=result is not None and result.comparison_rule != "chosen by the caller",
    )
