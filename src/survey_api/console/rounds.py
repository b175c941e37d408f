"""The console's Rounds section: list, create wizard, round page, codes, letters, posters, close.

GET  /console/rounds                          rounds, newest period first, a page at a time
GET  /console/rounds/new, POST                (analyst) the create wizard: one form in steps;
                                              ?kind=historical (admin) a past survey to import
GET  /console/rounds/{id}                     a round: its areas, codes issued and used
POST /console/rounds/{id}/invitations         (analyst) issue codes for an area, shown once
POST /console/rounds/{id}/letters             (analyst) letters for exactly those codes
GET  /console/rounds/{id}/posters             (analyst) a printable poster per area (QR code)
POST /console/rounds/{id}/area-links          (analyst) turn the round's area links off or on
GET  /console/rounds/{id}/close, POST         (analyst) close the round, after a confirmation

Every rule and every count comes from the services the API calls (rounds, invitations, areas,
questionnaires, web/letters, web/tokens); this module only turns form fields into their
request models and their answers and errors into pages. A historical round (a past survey,
filled by import: console/imports.py) shows where its data came from and none of what only a
round open to tenants has (codes, letters, posters, area links, closing early).
"""

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import segno
from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse
from markupsafe import Markup
from pydantic import ValidationError
from sqlalchemy.orm import Session

from survey_api.areas import service as areas_service
from survey_api.console import imports as imports_area
from survey_api.console.auth import DefinerStaff, Fields, SessionDep, Staff, StaffPost
from survey_api.console.forms import (
    CheckedAreas,
    FormErrors,
    all_pages,
    app_settings,
    area_choices,
    form_state,
    model_errors,
    page_number,
    paging,
    path_id,
)
from survey_api.console.rendering import ConsoleRoute, PageLanguage, page_language, redirect, render
from survey_api.exceptions import Conflict, Forbidden, NotFound, ValidationFailed
from survey_api.invitations import service as invitations_service
from survey_api.invitations.schemas import InvitationIssue
from survey_api.models import SurveyRound
from survey_api.paging import PageRequest
from survey_api.questionnaires import service as questionnaires_service
from survey_api.rounds import service as rounds_service
from survey_api.rounds.schemas import SurveyRoundCreate, SurveyRoundRead, SurveyRoundUpdate
from survey_api.staff.service import StaffPrincipal
from survey_api.web import letters, tokens

router = APIRouter(prefix="/rounds", route_class=ConsoleRoute)

PAGE_SIZE = 20
DEFAULT_OPEN_DAYS = 28
WIZARD_FIELDS = (
    "questionnaire_version_id",
    "name",
    "period",
    "area_ids",
    "open_date",
    "close_date",
    "area_links_enabled",
)


def _round(session: Session, principal: StaffPrincipal, raw_id: str) -> SurveyRound:
    """The organisation's round, or the same NotFound for a missing id, another organisation's
    id and anything that is not an id at all."""
    round_id = path_id(raw_id, "survey round")
    return rounds_service.get_round(session, principal.organisation_id, round_id)


def _read(session: Session, survey_round: SurveyRound) -> SurveyRoundRead:
    return rounds_service.read_rounds(session, [survey_round])[0]


def _to_int(value: str | None) -> int | str | None:
    """A number typed in a form as an int; anything else as typed, for the model to refuse."""
    if value is None or value == "":
        return None
    stripped = value.strip()
    return (
        int(stripped) if stripped.isascii() and stripped.isdigit() and len(stripped) < 12 else value
    )


# --- the list ----------------------------------------------------------------------------------


@router.get("")
def rounds_page(request: Request, session: SessionDep, principal: Staff) -> Response:
    """The organisation's rounds, newest period first, 20 to a page; ?questionnaire=<key>
    keeps the list to one survey (an unknown key lists every round)."""
    lang = page_language(request)
    number = page_number(request)
    surveys = _surveys(session, principal.organisation_id, lang.code)
    requested = request.query_params.get("questionnaire", "")
    chosen = requested if requested in dict(surveys) else None
    kept = {} if chosen is None else {"questionnaire": chosen}
    page = rounds_service.list_rounds(
        session,
        principal.organisation_id,
        PageRequest(limit=PAGE_SIZE, offset=(number - 1) * PAGE_SIZE, path="/console/rounds"),
        questionnaire=chosen,
    )
    return render(
        request,
        "rounds/list.html",
        lang=lang,
        rounds=page.items,
        surveys=surveys,
        survey_names={r.id: _name_in(r.questionnaire.name, lang.code) for r in page.items},
        chosen_survey=chosen,
        **paging(lang, "/console/rounds", number, page.total, PAGE_SIZE, **kept),
    )


def _surveys(session: Session, organisation_id: int, lang: str) -> list[tuple[str, str]]:
    """The organisation's questionnaires as (key, name in the page's language), to filter by."""
    return [
        (questionnaire.key, _name_in(questionnaire.name, lang) or questionnaire.key)
        for questionnaire in all_pages(
            lambda page: questionnaires_service.list_questionnaires(session, organisation_id, page),
            "/console/rounds",
        )
    ]


# --- the create wizard -------------------------------------------------------------------------


@dataclass(frozen=True)
class VersionChoice:
    """A published questionnaire version to pick."""

    id: int
    name: str
    number: int


def _name_in(names: dict[str, str], lang: str) -> str:
    return names.get(lang) or names.get("sv") or next(iter(names.values()), "")


def _published_versions(session: Session, organisation_id: int, lang: str) -> list[VersionChoice]:
    choices: list[VersionChoice] = []
    for questionnaire in all_pages(
        lambda page: questionnaires_service.list_questionnaires(session, organisation_id, page),
        "/console/rounds/new",
    ):
        for version in questionnaire.versions:
            if version.status == "published":
                choices.append(
                    VersionChoice(version.id, _name_in(questionnaire.name, lang), version.number)
                )
    return sorted(choices, key=lambda v: (v.name, -v.number))


def _wizard(
    request: Request,
    session: SessionDep,
    principal: StaffPrincipal,
    *,
    lang: PageLanguage,
    values: dict[str, Any],
    errors: FormErrors | None = None,
) -> Response:
    return render(
        request,
        "rounds/new.html",
        lang=lang,
        csrf_token=principal.csrf_token,
        versions=_published_versions(session, principal.organisation_id, lang.code),
        areas=area_choices(session, principal.organisation_id),
        values=values,
        historical=values.get("historical") == "on",
        **form_state(errors, WIZARD_FIELDS),
    )


def _may_create_historical(principal: StaffPrincipal) -> None:
    """Only an admin is offered the historical wizard; rounds_service.create_round holds the
    rule itself and refuses anyone else's post with the same 403."""
    if principal.role != "admin":
        raise Forbidden(
            f"only an admin may create a historical round; your role is {principal.role!r}"
        )


@router.get("/new")
def new_round_page(request: Request, session: SessionDep, principal: DefinerStaff) -> Response:
    """(analyst) The create wizard, with dates from today filled in; with ?kind=historical
    (admin) the wizard for a past survey, with last year's dates."""
    today = rounds_service.today()
    values = {
        "name": "",
        "questionnaire_version_id": "",
        "period": str(today.year),
        "area_ids": [],
        "open_date": today.isoformat(),
        "close_date": (today + timedelta(days=DEFAULT_OPEN_DAYS)).isoformat(),
        "area_links_enabled": "on",
        "historical": "",
    }
    if request.query_params.get("kind") == "historical":
        _may_create_historical(principal)
        last_year = today.year - 1
        values |= {
            "period": str(last_year),
            "open_date": f"{last_year}-03-01",
            "close_date": f"{last_year}-03-29",
            "area_links_enabled": "off",
            "historical": "on",
        }
    return _wizard(request, session, principal, lang=page_language(request), values=values)


def _wizard_field(loc: list[Any], message: str) -> str:
    name = str(loc[0]) if loc else ""
    if name in WIZARD_FIELDS:
        return name
    # The model's own cross-field checks name the field in their message.
    return "close_date" if "close_date" in message else "area_ids"


_SERVICE_FIELD = (("questionnaire version", "questionnaire_version_id"), ("area", "area_ids"))


@router.post("/new")
def create_round(
    request: Request,
    session: SessionDep,
    allowed: DefinerStaff,
    principal: StaffPost,
    fields: Fields,
    checked: CheckedAreas,
) -> Response:
    """(analyst) Create the round with the API's model and service, or show what to fix."""
    lang = page_language(request, fields.get("_lang"))
    values: dict[str, Any] = {name: fields.get(name, "") for name in WIZARD_FIELDS}
    values["area_ids"] = checked
    values["historical"] = "on" if fields.get("historical") == "on" else ""
    body = {
        "name": values["name"].strip(),
        "questionnaire_version_id": _to_int(values["questionnaire_version_id"]),
        "period": values["period"].strip(),
        "area_ids": [_to_int(a) for a in checked],
        "open_date": values["open_date"].strip() or None,
        "close_date": values["close_date"].strip() or None,
        "area_links_enabled": values["area_links_enabled"] != "off",
        "historical": values["historical"] == "on",
    }
    try:
        data = SurveyRoundCreate.model_validate(body)
    except ValidationError as invalid:
        errors = model_errors(invalid.errors(include_url=False), _wizard_field)
        return _wizard(request, session, principal, lang=lang, values=values, errors=errors)
    errors = FormErrors()
    try:
        survey_round = rounds_service.create_round(
            session, principal.organisation_id, data, role=principal.role
        )
    except (NotFound, Conflict) as refused:
        name = next((f for key, f in _SERVICE_FIELD if key in refused.detail), "")
        if name:
            errors.add(name, refused.detail)
        else:
            errors.general.append(refused.detail)
        return _wizard(request, session, principal, lang=lang, values=values, errors=errors)
    except ValidationFailed as refused:
        # A historical round's dates must lie in the past (the service's rule).
        errors = model_errors(refused.errors or [], lambda loc, _: _wizard_field(loc[1:], ""))
        if not errors:
            errors.general.append(refused.detail)
        return _wizard(request, session, principal, lang=lang, values=values, errors=errors)
    return redirect(lang.url(f"/console/rounds/{survey_round.id}", done="created"))


# --- the round page ----------------------------------------------------------------------------


@dataclass(frozen=True)
class AreaLine:
    """An area of the round with its codes: `used` is None when suppressed."""

    id: int
    code: str
    name: str
    issued: int
    used: int | None
    suppressed: bool


def _round_page(
    request: Request,
    session: Session,
    principal: StaffPrincipal,
    survey_round: SurveyRound,
    *,
    lang: PageLanguage,
    status: int = 200,
    issue_errors: FormErrors | None = None,
    issue_values: dict[str, str] | None = None,
    problem: str | None = None,
) -> Response:
    read = _read(session, survey_round)
    counts = invitations_service.counts(session, principal.organisation_id, survey_round.id)
    names = {
        a.id: a
        for a in areas_service.areas_by_ids(session, principal.organisation_id, read.area_ids)
    }
    version = questionnaires_service.get_version_by_id(
        session, principal.organisation_id, read.questionnaire_version_id
    )
    lines = [
        AreaLine(
            id=count.area_id,
            code=names[count.area_id].code,
            name=names[count.area_id].name,
            issued=count.issued,
            used=count.used,
            suppressed=count.suppressed,
        )
        for count in counts.areas
    ]
    return render(
        request,
        "rounds/round.html",
        lang=lang,
        status=status,
        round=read,
        questionnaire=_name_in(version.definition.get("name", {}), lang.code),
        areas=lines,
        counts=counts,
        csrf_token=principal.csrf_token,
        may_change=principal.role in ("admin", "analyst"),
        notice=request.query_params.get("done") if request.method == "GET" else None,
        issue_errors=issue_errors or FormErrors(),
        issue_order=[n for n in ("area_id", "count") if issue_errors and n in issue_errors.fields],
        issue_values=issue_values or {"area_id": "", "count": ""},
        problem=problem,
        **imports_area.history(session, principal, read),
    )


@router.get("/{round_id}")
def round_page(request: Request, session: SessionDep, principal: Staff, round_id: str) -> Response:
    """A round: its state, its areas with codes issued and used (suppressed like the API)."""
    survey_round = _round(session, principal, round_id)
    return _round_page(request, session, principal, survey_round, lang=page_language(request))


@router.post("/{round_id}/invitations")
def issue_codes(
    request: Request,
    session: SessionDep,
    allowed: DefinerStaff,
    principal: StaffPost,
    round_id: str,
    fields: Fields,
) -> Response:
    """(analyst) Issue codes for an area and show them, this once, with a print button."""
    lang = page_language(request, fields.get("_lang"))
    survey_round = _round(session, principal, round_id)
    values = {"area_id": fields.get("area_id", ""), "count": fields.get("count", "")}
    errors = FormErrors()

    def form_again() -> Response:
        """The round's page again, with the issue form's values and what to fix (422)."""
        return _round_page(
            request,
            session,
            principal,
            survey_round,
            lang=lang,
            status=422,
            issue_errors=errors,
            issue_values=values,
        )

    try:
        body = InvitationIssue.model_validate(
            {"area_id": _to_int(values["area_id"]), "count": _to_int(values["count"])}
        )
    except ValidationError as invalid:
        for error in invalid.errors(include_url=False):
            errors.add(str(error["loc"][0]) if error["loc"] else "count", str(error["msg"]))
        return form_again()
    settings = app_settings(request)
    try:
        issued = invitations_service.issue(
            session,
            principal.organisation_id,
            survey_round.id,
            body.area_id,
            body.count,
            secret=settings.secret_key.get_secret_value(),
            base_url=settings.public_base_url,
        )
    except NotFound as refused:
        errors.add("area_id", refused.detail)
        return form_again()
    except Conflict as refused:
        return _round_page(
            request, session, principal, survey_round, lang=lang, status=409, problem=refused.detail
        )
    area = areas_service.get_area(session, principal.organisation_id, body.area_id)
    codes = [c.code for c in issued.codes]
    batches = [
        codes[i : i + letters.MAX_LETTERS] for i in range(0, len(codes), letters.MAX_LETTERS)
    ]
    return render(
        request,
        "rounds/issued.html",
        lang=lang,
        round=_read(session, survey_round),
        area=area,
        codes=codes,
        batches=[" ".join(batch) for batch in batches],
        csrf_token=principal.csrf_token,
    )


@router.post("/{round_id}/letters")
def print_letters(
    request: Request,
    session: SessionDep,
    allowed: DefinerStaff,
    principal: StaffPost,
    round_id: str,
    fields: Fields,
) -> Response:
    """(analyst) The printable letters of web/letters for exactly the codes just issued."""
    survey_round = _round(session, principal, round_id)
    try:
        body = letters.InvitationLetters.model_validate({"codes": fields.get("codes", "").split()})
    except ValidationError as invalid:
        raise ValidationFailed("no codes to print letters for") from invalid
    html = letters.prepare_letters(
        session, principal.organisation_id, survey_round.id, body, app_settings(request)
    )
    response = StreamingResponse(html, media_type="text/html; charset=utf-8")
    response.headers["Content-Security-Policy"] = letters.LETTERS_CSP
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Disposition"] = (
        f'inline; filename="letters-round-{survey_round.id}.html"'
    )
    return response


@dataclass(frozen=True)
class Poster:
    """One area's poster: its link and the link as a QR code."""

    area: str
    url: str
    qr: Markup


@router.get("/{round_id}/posters")
def posters_page(
    request: Request, session: SessionDep, principal: DefinerStaff, round_id: str
) -> Response:
    """(analyst) One printable poster per area: the area link and its QR code."""
    survey_round = _round(session, principal, round_id)
    if rounds_service.is_historical(survey_round):
        raise Conflict(f"survey round {survey_round.id} is historical: it has no area links")
    read = _read(session, survey_round)
    settings = app_settings(request)
    posters = []
    for area in areas_service.areas_by_ids(session, principal.organisation_id, read.area_ids):
        url = tokens.area_link(settings, survey_round.id, area.id)
        svg = segno.make(url, error="m").svg_inline(
            scale=4, border=4, svgclass="qr", lineclass=None, omitsize=True
        )
        posters.append(
            Poster(area.name, url, Markup(svg.replace("<svg ", '<svg aria-hidden="true" ', 1)))
        )
    return render(
        request, "rounds/posters.html", lang=page_language(request), round=read, posters=posters
    )


@router.post("/{round_id}/area-links")
def switch_area_links(
    request: Request,
    session: SessionDep,
    allowed: DefinerStaff,
    principal: StaffPost,
    round_id: str,
    fields: Fields,
) -> Response:
    """(analyst) Turn the round's area links off or on again (codes keep working)."""
    lang = page_language(request, fields.get("_lang"))
    survey_round = _round(session, principal, round_id)
    enabled = fields.get("area_links_enabled") == "on"
    rounds_service.update_round(
        session,
        principal.organisation_id,
        survey_round.id,
        SurveyRoundUpdate(area_links_enabled=enabled),
    )
    return redirect(
        lang.url(f"/console/rounds/{survey_round.id}", done="links_on" if enabled else "links_off")
    )


@router.get("/{round_id}/close")
def close_round_page(
    request: Request, session: SessionDep, principal: DefinerStaff, round_id: str
) -> Response:
    """(analyst) Are you sure? Closing cannot be undone."""
    survey_round = _round(session, principal, round_id)
    return render(
        request,
        "rounds/close.html",
        lang=page_language(request),
        round=_read(session, survey_round),
        csrf_token=principal.csrf_token,
    )


@router.post("/{round_id}/close")
def close_round(
    request: Request,
    session: SessionDep,
    allowed: DefinerStaff,
    principal: StaffPost,
    round_id: str,
    fields: Fields,
) -> Response:
    """(analyst) Close the round now; code answers still waiting are counted."""
    lang = page_language(request, fields.get("_lang"))
    survey_round = _round(session, principal, round_id)
    try:
        rounds_service.close_round(session, principal.organisation_id, survey_round.id)
    except Conflict as refused:
        return _round_page(
            request, session, principal, survey_round, lang=lang, status=409, problem=refused.detail
        )
    return redirect(lang.url(f"/console/rounds/{survey_round.id}", done="closed"))
