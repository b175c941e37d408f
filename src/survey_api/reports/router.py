"""Share links (API) and the results page they open (outside the API schema)."""

from importlib import resources
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup
from sqlalchemy.orm import Session

from survey_api.auth.dependencies import Analyst, SessionDep
from survey_api.config import Settings
from survey_api.db import get_session
from survey_api.exceptions import SurveyError, problem_responses
from survey_api.ids import MAX_ID
from survey_api.paging import LINK_HEADER_RESPONSE, PageParams, with_link_header
from survey_api.presentation import csp
from survey_api.reports import service, share
from survey_api.reports.schemas import ShareLink, ShareLinkCreate, ShareLinkPage

api_router = APIRouter(prefix="/rounds/{round_id}/share-links", tags=["results"])
RoundId = Annotated[int, Path(description="The survey round's id.", ge=1, le=MAX_ID)]
ShareLinkId = Annotated[int, Path(description="The share link's id.", ge=1, le=MAX_ID)]
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
    round_id: RoundId,
    body: ShareLinkCreate,
    principal: Analyst,
    session: SessionDep,
    request: Request,
) -> ShareLink:
    """Create a signed, expiring, revocable link to the round's printable results page (an
    area's, or the whole organisation's), for a board that should not hold an API key. The URL
    is in this answer only; the list shows the link without it."""
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
        created_by_api_key_id=principal.api_key_id,
    )
    return ShareLink(
        id=grant.share_link_id,
        url=url,
        expires_at=grant.expires_at,
        survey_round_id=round_id,
        area_id=body.area_id,
        language=body.language,
    )


@api_router.get(
    "",
    operation_id="list_share_links",
    response_model=ShareLinkPage,
    responses={**LINK_HEADER_RESPONSE, **problem_responses(401, 403, 404, 422)},
)
def list_share_links(
    round_id: RoundId,
    principal: Analyst,
    session: SessionDep,
    page: PageParams,
    response: Response,
) -> ShareLinkPage:
    """List the round's share links, newest first, with their status (active, expired or
    revoked); never their URLs, which are shown once when a link is made."""
    found = service.page_share_links(session, principal.organisation_id, round_id, page)
    return with_link_header(response, found)


@api_router.delete(
    "/{share_link_id}",
    operation_id="revoke_share_link",
    status_code=204,
    response_class=Response,
    responses=problem_responses(401, 403, 404),
)
def revoke_share_link(
    round_id: RoundId, share_link_id: ShareLinkId, principal: Analyst, session: SessionDep
) -> Response:
    """Revoke a share link: its page answers 404 from the next request. Revoking a revoked
    link again also answers 204 and keeps the first revocation time."""
    service.revoke_share_link(session, principal.organisation_id, round_id, share_link_id)
    return Response(status_code=204)


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
        reason = {share.EXPIRED: "expired", share.REVOKED: "revoked"}.get(error.detail, "invalid")
        page = _templates.get_template("problem.html").render(
            style=STYLE, detail=error.detail, reason=reason
        )
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
