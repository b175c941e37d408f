"""Share links (API) and the results page they open (outside the API schema)."""

from importlib import resources
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup
from sqlalchemy.orm import Session

from survey_api.auth.dependencies import Analyst, SessionDep
from survey_api.config import Settings
from survey_api.db import get_session
from survey_api.exceptions import SurveyError, problem_responses
from survey_api.ids import MAX_ID
from survey_api.presentation import csp
from survey_api.reports import service, share
from survey_api.reports.schemas import ShareLink, ShareLinkCreate

api_router = APIRouter(prefix="/rounds/{round_id}/share-links", tags=["results"])
page_router = APIRouter()

# One self-contained page (it is printed and saved), so the style is inline, allowed by its
# hash; there is no script at all. Markup: the template must write it byte for byte.
STYLE = Markup(resources.files("survey_api.reports").joinpath("static", "report.css").read_text())
REPORT_CSP = csp.inline_style_policy(STYLE)
_templates = Environment(
    loader=PackageLoader("survey_api.reports", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


@api_router.post(
    "",
    operation_id="create_share_link",
    response_model=ShareLink,
    status_code=201,
    responses=problem_responses(401, 403, 404, 422),
)
def create_share_link(
    round_id: Annotated[int, Path(description="The survey round's id.", ge=1, le=MAX_ID)],
    body: ShareLinkCreate,
    principal: Analyst,
    session: SessionDep,
    request: Request,
) -> ShareLink:
    """Create a signed, expiring link to the round's printable results page (an area's, or
    the whole organisation's), for a board that should not hold an API key."""
    settings: Settings = request.app.state.settings
    url, grant = service.create_share_link(
        session,
        principal.organisation_id,
        round_id,
        area_id=body.area_id,
        language=body.page_language,
        expires_in_days=body.expires_in_days,
        secret=settings.secret_key.get_secret_value(),
        public_base_url=settings.public_base_url,
    )
    return ShareLink(
        url=url,
        expires_at=grant.expires_at,
        survey_round_id=round_id,
        area_id=body.area_id,
        language=body.language,
    )


@page_router.get("/reports/{token}", response_class=HTMLResponse)
def results_page(
    token: str,
    request: Request,
    session: Annotated[Session, Depends(get_session, scope="function")],
) -> HTMLResponse:
    """The printable results page behind a share link."""
    settings: Settings = request.app.state.settings
    try:
        grant = share.read_token(token, settings.secret_key.get_secret_value())
        context = service.page_context(session, grant)
    except SurveyError as error:
        # People open these links, so a problem is a short page, not problem+json.
        page = _templates.get_template("problem.html").render(style=STYLE, detail=error.detail)
        return _with_headers(HTMLResponse(page, status_code=error.status_code))
    html = _templates.get_template("report.html").render(style=STYLE, **context)
    return _with_headers(HTMLResponse(html))


def _with_headers(response: HTMLResponse) -> HTMLResponse:
    response.headers["Content-Security-Policy"] = REPORT_CSP
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response
