from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import StreamingResponse

from survey_api.auth.dependencies import Admin, AnyRole, SessionDep
from survey_api.exceptions import problem_responses
from survey_api.exports import files, formats
from survey_api.exports.formats import ExportFormat
from survey_api.ids import MAX_ID

router = APIRouter(prefix="/rounds/{round_id}/exports", tags=["exports"])
RoundId = Annotated[int, Path(description="The survey round's id.", ge=1, le=MAX_ID)]
Format = Annotated[
    ExportFormat,
    Query(
        description="csv (`,`, decimal point, UTF-8), csv-excel (Swedish Excel: `;`, "
        "decimal comma, UTF-8 with BOM) or xlsx."
    ),
]

_FILE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The file, streamed.",
        "content": {
            # Binary both: a CSV's encoding is the format's (csv-excel starts with a BOM), and
            # a generated client must hand over the bytes, not text decoded from them. xlsx
            # first: generators that read only one media type (openapi-python-client) then
            # read the bytes, and never decode an xlsx file as text.
            formats.MEDIA_TYPES["xlsx"]: {"schema": {"type": "string", "format": "binary"}},
            "text/csv": {"schema": {"type": "string", "format": "binary"}},
        },
    },
}


def _stream(file: files.ExportFile) -> StreamingResponse:
    return StreamingResponse(
        file.chunks,
        media_type=file.media_type,
        headers={"Content-Disposition": formats.content_disposition(file.filename)},
    )


@router.get(
    "/codebook",
    operation_id="export_codebook",
    response_class=StreamingResponse,
    responses={**_FILE_RESPONSES, **problem_responses(401, 403, 404, 422)},
)
def export_codebook(
    round_id: RoundId, principal: AnyRole, session: SessionDep, format: Format = "csv"
) -> StreamingResponse:
    """The round's codebook: items, option codes and scores, labels in every language."""
    return _stream(files.codebook(session, principal.organisation_id, round_id, format))


@router.get(
    "/responses",
    operation_id="export_responses",
    response_class=StreamingResponse,
    responses={**_FILE_RESPONSES, **problem_responses(401, 403, 404, 422)},
)
def export_responses(
    round_id: RoundId,
    principal: Admin,
    session: SessionDep,
    request: Request,
    format: Format = "csv",
    include_text: Annotated[
        bool,
        Query(description="Include free-text answers (they may identify people; off by default)."),
    ] = False,
) -> StreamingResponse:
    """Anonymised responses of a round, one row each, streamed. Admin only.

    Rows are numbered, not identified; multi-choice items become one 0/1 column per option.
    """
    return _stream(
        files.responses(
            session,
            request.app.state.sessionmaker,
            principal.organisation_id,
            round_id,
            format,
            include_text=include_text,
        )
    )


@router.get(
    "/results",
    operation_id="export_round_results",
    response_class=StreamingResponse,
    responses={**_FILE_RESPONSES, **problem_responses(401, 403, 404, 409, 422)},
)
def export_round_results(
    round_id: RoundId,
    principal: AnyRole,
    session: SessionDep,
    format: Format = "csv",
    by: Annotated[
        str | None,
        Query(
            pattern=r"^[a-z][a-z0-9_]{0,62}$",
            description="A background item for breakdown rows (suppressed like the API).",
        ),
    ] = None,
) -> StreamingResponse:
    """A round's results as one row per figure (areas, breakdown groups, pooled groups).

    Suppressed cells keep `suppressed` = 1 and no figures; free text is never included.
    """
    return _stream(files.results(session, principal.organisation_id, round_id, format, by=by))
