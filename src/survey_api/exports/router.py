from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import StreamingResponse

from survey_api.auth.dependencies import Admin, AnyRole, SessionDep
from survey_api.exceptions import problem_responses
from survey_api.exports import formats, results_rows, service
from survey_api.exports.formats import ExportFormat
from survey_api.ids import MAX_ID
from survey_api.questionnaires import service as questionnaires_service
from survey_api.results import service as results_service
from survey_api.rounds import service as rounds_service

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
            "text/csv": {"schema": {"type": "string"}},
            formats.MEDIA_TYPES["xlsx"]: {"schema": {"type": "string", "format": "binary"}},
        },
    },
}


def _file(fmt: ExportFormat, name: str, body: StreamingResponse) -> StreamingResponse:
    body.headers["Content-Disposition"] = formats.content_disposition(
        f"{name}.{formats.EXTENSIONS[fmt]}"
    )
    return body


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
    survey_round = rounds_service.get_round(session, principal.organisation_id, round_id)
    definition = questionnaires_service.published_definition(
        session, survey_round.questionnaire_version_id
    )
    header, rows = service.codebook_rows(definition)
    stream = formats.table_stream(format, "codebook", header, rows)
    return _file(
        format,
        f"codebook-round-{round_id}",
        StreamingResponse(stream, media_type=formats.MEDIA_TYPES[format]),
    )


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
    survey_round = rounds_service.get_round(session, principal.organisation_id, round_id)
    definition = questionnaires_service.published_definition(
        session, survey_round.questionnaire_version_id
    )
    columns = service.response_columns(definition, include_text)
    # The rows are read on a session of the stream's own: the request's session is committed
    # and closed before the body is sent.
    rows = service.response_rows(request.app.state.sessionmaker, survey_round, columns)
    stream = formats.table_stream(format, "responses", service.response_header(columns), rows)
    return _file(
        format,
        f"responses-round-{round_id}",
        StreamingResponse(stream, media_type=formats.MEDIA_TYPES[format]),
    )


@router.get(
    "/results",
    operation_id="export_round_results",
    response_class=StreamingResponse,
    responses={**_FILE_RESPONSES, **problem_responses(401, 403, 404, 422)},
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
    results = results_service.round_results(session, principal.organisation_id, round_id, by=by)
    stream = formats.table_stream(
        format, "results", results_rows.HEADER, results_rows.result_rows(results)
    )
    return _file(
        format,
        f"results-round-{round_id}",
        StreamingResponse(stream, media_type=formats.MEDIA_TYPES[format]),
    )
