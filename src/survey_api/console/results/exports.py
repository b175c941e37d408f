"""The round's export files (the API's), and the links to them on the round's page."""

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse

from survey_api.console.auth import AdminStaff, SessionDep, Staff
from survey_api.console.rendering import (
    ConsoleRoute,
)
from survey_api.console.results.common import round_of
from survey_api.exceptions import NotFound
from survey_api.exports import files, formats
from survey_api.exports.formats import ExportFormat
from survey_api.staff.service import StaffPrincipal

router = APIRouter(prefix="/results", route_class=ConsoleRoute)

EXPORT_FORMATS: tuple[ExportFormat, ...] = ("csv", "csv-excel", "xlsx")


def _format(request: Request) -> ExportFormat:
    raw = request.query_params.get("format", "csv")
    if raw not in EXPORT_FORMATS:
        raise NotFound("no such export format")
    return raw


def export_links(round_id: int, principal: StaffPrincipal) -> list[dict[str, Any]]:
    """The downloads this role may have, each in every format."""
    base = f"/console/results/{round_id}/exports"
    shown: list[dict[str, Any]] = [
        {"kind": "results", "links": [(f, f"{base}/results?format={f}") for f in EXPORT_FORMATS]},
        {"kind": "codebook", "links": [(f, f"{base}/codebook?format={f}") for f in EXPORT_FORMATS]},
    ]
    if principal.role == "admin":
        shown += [
            {
                "kind": "responses",
                "links": [(f, f"{base}/responses?format={f}") for f in EXPORT_FORMATS],
            },
            {
                "kind": "responses_text",
                "links": [
                    (f, f"{base}/responses?format={f}&include_text=1") for f in EXPORT_FORMATS
                ],
            },
        ]
    return shown


# --- downloads ---------------------------------------------------------------------------------


def _stream(file: files.ExportFile) -> StreamingResponse:
    return StreamingResponse(
        file.chunks,
        media_type=file.media_type,
        headers={"Content-Disposition": formats.content_disposition(file.filename)},
    )


@router.get("/{round_id}/exports/results")
def export_results(
    request: Request, session: SessionDep, principal: Staff, round_id: str
) -> Response:
    """The round's results file, one row per figure, suppression kept (the API's export)."""
    survey_round = round_of(session, principal, round_id)
    fmt = _format(request)
    return _stream(files.results(session, principal.organisation_id, survey_round.id, fmt, by=None))


@router.get("/{round_id}/exports/codebook")
def export_codebook(
    request: Request, session: SessionDep, principal: Staff, round_id: str
) -> Response:
    """The round's codebook (the API's export)."""
    survey_round = round_of(session, principal, round_id)
    return _stream(
        files.codebook(session, principal.organisation_id, survey_round.id, _format(request))
    )


@router.get("/{round_id}/exports/responses")
def export_responses(
    request: Request, session: SessionDep, principal: AdminStaff, round_id: str
) -> Response:
    """(admin) Anonymised responses, free text only when asked for (the API's export)."""
    survey_round = round_of(session, principal, round_id)
    return _stream(
        files.responses(
            session,
            request.app.state.sessionmaker,
            principal.organisation_id,
            survey_round.id,
            _format(request),
            include_text=request.query_params.get("include_text") == "1",
        )
    )
