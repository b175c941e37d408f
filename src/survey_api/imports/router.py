"""Imports of past surveys into historical rounds: thin routes over imports.responses."""

from typing import Annotated

from fastapi import APIRouter, File, Form, Path, Query, UploadFile
from fastapi import Response as HTTPResponse
from pydantic import BaseModel

from survey_api.auth.dependencies import Admin, Analyst, AnyRole, SessionDep
from survey_api.exceptions import NotFound, problem_responses
from survey_api.ids import MAX_ID
from survey_api.imports import mapping as mappings
from survey_api.imports import responses as service
from survey_api.imports.files import spool
from survey_api.imports.mapping import ImportMapping
from survey_api.imports.problems import refused_responses
from survey_api.imports.schemas import DataImportRead, ImportProblemDetails, ImportReport

router = APIRouter(prefix="/rounds/{round_id}/imports", tags=["imports"])
mappings_router = APIRouter(prefix="/imports/mappings", tags=["imports"])
RoundId = Annotated[int, Path(description="The survey round's id.", ge=1, le=MAX_ID)]
ImportId = Annotated[int, Path(description="The import's id.", ge=1, le=MAX_ID)]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# A plain sheet read with the item_columns preset: an area code and option codes per item key.
CSV_EXAMPLE = "area,trygg_ute_kvall,trivsel,utsatt_brott_12m\r\nhjallbo,2,3,1;3\r\n"
MAPPING_EXAMPLE = '{"preset": "item_columns", "channel": "paper"}'


class MappingPreset(BaseModel):
    """A ready-made mapping: GET it by name, change it, send it back with a file."""

    name: str
    description: str


@router.post(
    "",
    operation_id="import_responses",
    response_model=ImportReport,
    status_code=201,
    responses={
        200: {
            "model": ImportReport,
            "description": "A dry run's report, or a repeat of an import already stored "
            "(`replayed`: nothing new is stored).",
        },
        **refused_responses(ImportProblemDetails, 400, 401, 403, 404, 409, 413),
    },
    openapi_extra={
        "requestBody": {
            "content": {
                "multipart/form-data": {
                    "encoding": {
                        "file": {"contentType": f"text/csv, {XLSX}"},
                        "mapping": {"contentType": "application/json"},
                    },
                    "example": {"file": CSV_EXAMPLE, "mapping": MAPPING_EXAMPLE},
                }
            }
        }
    },
)
def import_responses(
    round_id: RoundId,
    principal: Analyst,
    session: SessionDep,
    response: HTTPResponse,
    file: Annotated[
        UploadFile,
        File(description="The file: CSV (UTF-8, UTF-8 with BOM or Windows-1252) or XLSX."),
    ],
    mapping: Annotated[
        str,
        Form(
            description="The mapping as JSON: a whole mapping, or "
            '`{"preset": "limesurvey_standard", ...overrides}` '
            "(GET /imports/mappings lists the presets).",
        ),
    ],
    dry_run: Annotated[
        bool,
        Query(description="Check the file and answer the report, storing nothing."),
    ] = False,
) -> ImportReport:
    """Import a file of past responses into a historical round, through a mapping.

    Every row is checked exactly like a submitted response (area of the round, known codes,
    `show_if`, required items). With `dry_run=true` the answer (200) is the report: rows
    read, rows that would be stored per area and every problem by row and column. The real
    run is all or nothing: any problem answers 422 with the report under `report`, storing
    nothing. The same file with the same mapping is imported once: a repeat answers 200 with
    the stored report and `replayed: true`; a first import 201.

    Only the columns the mapping names are read: a respondent id, token, IP address or
    timestamp in the file is never stored. Every response is stored with the round's close
    date as its date (no time), entry `import`, and in a shuffled order. Results fold the
    responses in on the next read, like any others.

    Only a historical round takes imports (a collected round answers 409, as does a round
    holding imported answer counts)."""
    parsed = mappings.parse_mapping(mapping)
    source = spool(file.file, file.filename, file.content_type)
    report = service.import_responses(
        session,
        principal.organisation_id,
        round_id,
        source,
        parsed,
        dry_run=dry_run,
        file_name=file.filename or "",
    )
    if dry_run or report.replayed:
        response.status_code = 200
    return report


@router.get(
    "",
    operation_id="list_imports",
    response_model=list[DataImportRead],
    responses=problem_responses(401, 403, 404),
)
def list_imports(
    round_id: RoundId, principal: Analyst, session: SessionDep
) -> list[DataImportRead]:
    """The round's imports (responses and answer counts), oldest first."""
    return service.list_imports(session, principal.organisation_id, round_id)


@router.get(
    "/{import_id}",
    operation_id="get_import",
    response_model=DataImportRead,
    responses=problem_responses(401, 403, 404),
)
def get_import(
    round_id: RoundId, import_id: ImportId, principal: Analyst, session: SessionDep
) -> DataImportRead:
    """One import of the round."""
    return service.get_import(session, principal.organisation_id, round_id, import_id)


@router.delete(
    "/{import_id}",
    operation_id="delete_import",
    status_code=204,
    responses=problem_responses(401, 403, 404),
)
def delete_import(
    round_id: RoundId, import_id: ImportId, principal: Admin, session: SessionDep
) -> HTTPResponse:
    """Take an import back as a whole: its responses (or answer counts) are deleted and the
    round's results are computed again from what is left on the next read."""
    service.delete_import(session, principal.organisation_id, round_id, import_id)
    return HTTPResponse(status_code=204)


@mappings_router.get(
    "",
    operation_id="list_import_mappings",
    response_model=list[MappingPreset],
    responses=problem_responses(401, 403),
)
def list_import_mappings(principal: AnyRole) -> list[MappingPreset]:
    """The ready-made mappings (presets) for imports of past responses."""
    return [MappingPreset(name=n, description=d) for n, d in mappings.PRESETS.items()]


@mappings_router.get(
    "/{name}",
    operation_id="get_import_mapping",
    response_model=ImportMapping,
    responses=problem_responses(401, 403, 404),
)
def get_import_mapping(
    name: Annotated[str, Path(max_length=50, description="The preset's name.")],
    principal: AnyRole,
) -> ImportMapping:
    """A ready-made mapping in full: download it, change it and send it with a file."""
    try:
        return mappings.preset(name)
    except KeyError:
        raise NotFound(f"no import mapping named {name[:50]!r}") from None
