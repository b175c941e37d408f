"""Share links for boards: made on the round's page, shown once, revoked after a question."""

from fastapi import APIRouter, Request, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from survey_api.areas import service as areas_service
from survey_api.console.auth import DefinerStaff, Fields, SessionDep, StaffPost
from survey_api.console.forms import app_settings, path_id
from survey_api.console.rendering import (
    ConsoleRoute,
    page_language,
    redirect,
    render,
)
from survey_api.console.results.common import round_of
from survey_api.console.results.figures import round_page
from survey_api.models import ShareLink, SurveyRound
from survey_api.reports import service as reports_service
from survey_api.reports.schemas import ShareLinkCreate
from survey_api.reports.share import ReportLanguage
from survey_api.staff.service import StaffPrincipal
from survey_api.timestamps import as_utc

router = APIRouter(prefix="/results", route_class=ConsoleRoute)


# --- share links -------------------------------------------------------------------------------


def _number(value: str) -> int | str | None:
    """A number typed in a form as an int; anything else as typed, for the model to refuse."""
    if not value:
        return None
    return int(value) if value.isascii() and value.isdigit() and len(value) < 12 else value


def _share_errors(error: ValidationError) -> dict[str, str]:
    names = {"area_id": "area_id", "language": "language", "expires_in_days": "days"}
    found: dict[str, str] = {}
    for problem in error.errors():
        name = names.get(str(problem["loc"][0]) if problem["loc"] else "", "days")
        found.setdefault(name, problem["msg"])
    return found


@router.post("/{round_id}/share-links")
def create_share_link(
    request: Request,
    session: SessionDep,
    allowed: DefinerStaff,
    principal: StaffPost,
    round_id: str,
    fields: Fields,
) -> Response:
    """(analyst) A signed link to the board's results page, shown once with its expiry."""
    lang = page_language(request, fields.get("_lang"))
    survey_round = round_of(session, principal, round_id)
    values = {
        "area_id": fields.get("area_id", ""),
        "language": fields.get("language", ""),
        "days": fields.get("days", "").strip(),
    }
    try:
        body = ShareLinkCreate.model_validate(
            {
                "area_id": _number(values["area_id"]),
                "language": values["language"],
                "expires_in_days": _number(values["days"]),
            }
        )
    except ValidationError as error:
        share = {"fields": values, "errors": _share_errors(error)}
        return round_page(
            request, session, principal, survey_round, lang=lang, status=422, share=share
        )
    settings = app_settings(request)
    language: ReportLanguage = "en" if body.language == "en" else "sv"
    url, grant = reports_service.create_share_link(
        session,
        principal.organisation_id,
        survey_round.id,
        area_id=body.area_id,
        language=language,
        expires_in_days=body.expires_in_days,
        secret=settings.secret_key.get_secret_value(),
        public_base_url=settings.public_base_url,
        created_by_staff_user_id=principal.staff_user_id,
    )
    area_name = (
        None
        if grant.area_id is None
        else areas_service.get_area(session, principal.organisation_id, grant.area_id).name
    )
    return render(
        request,
        "results/share_created.html",
        lang=lang,
        round=survey_round,
        url=url,
        expires_at=grant.expires_at,
        area_name=area_name,
        link_language=grant.language,
    )


def _share_link(
    session: Session, principal: StaffPrincipal, survey_round: SurveyRound, raw_id: str
) -> tuple[ShareLink, str | None]:
    link = reports_service.get_share_link(
        session, principal.organisation_id, survey_round.id, path_id(raw_id, "share link")
    )
    area_name = (
        None
        if link.area_id is None
        else areas_service.get_area(session, principal.organisation_id, link.area_id).name
    )
    return link, area_name


@router.get("/{round_id}/share-links/{share_link_id}/revoke")
def revoke_share_link_page(
    request: Request,
    session: SessionDep,
    principal: DefinerStaff,
    round_id: str,
    share_link_id: str,
) -> Response:
    """(analyst) Ask before revoking a share link."""
    survey_round = round_of(session, principal, round_id)
    link, area_name = _share_link(session, principal, survey_round, share_link_id)
    return render(
        request,
        "results/share_revoke.html",
        lang=page_language(request),
        round=survey_round,
        link=link,
        area_name=area_name,
        expires_at=as_utc(link.expires_at).strftime("%Y-%m-%d %H:%M"),
        csrf_token=principal.csrf_token,
    )


@router.post("/{round_id}/share-links/{share_link_id}/revoke")
def revoke_share_link(
    request: Request,
    session: SessionDep,
    allowed: DefinerStaff,
    principal: StaffPost,
    round_id: str,
    share_link_id: str,
    fields: Fields,
) -> Response:
    """(analyst) Revoke a share link (the API's service); its page answers 404 from now on."""
    survey_round = round_of(session, principal, round_id)
    link = reports_service.revoke_share_link(
        session, principal.organisation_id, survey_round.id, path_id(share_link_id, "share link")
    )
    lang = page_language(request, fields.get("_lang"))
    return redirect(
        lang.url(f"/console/results/{survey_round.id}", revoked=str(link.id)) + "#share-links-title"
    )
