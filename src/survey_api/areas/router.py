from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from starlette.datastructures import UploadFile

from survey_api.areas import service
from survey_api.areas import upload as upload_file
from survey_api.areas.schemas import (
    AreaCreate,
    AreaImportResult,
    AreaPage,
    AreaRead,
    AreaUpdate,
)
from survey_api.auth.dependencies import Analyst, AnyRole, SessionDep
from survey_api.exceptions import ValidationFailed, problem_responses
from survey_api.ids import MAX_ID
from survey_api.imports import classifications as classifications_import
from survey_api.imports import files as import_files
from survey_api.imports.problems import refused_responses
from survey_api.languages import LANGUAGE_PATTERN
from survey_api.paging import LINK_HEADER_RESPONSE, PageParams, with_link_header
from survey_api.results import overview as overview_service
from survey_api.results.overview_schemas import AreaOverview
from survey_api.rounds.schemas import PERIOD_PATTERN

router = APIRouter(prefix="/areas", tags=["areas"])
XLSX = upload_file.XLSX_MEDIA_TYPE

AreaId = Annotated[int, Path(description="The area's id.", ge=1, le=MAX_ID)]
CSV_EXAMPLE = (
    "code,name,municipality_code,deso_code,deso_version,households,year,area_type,"
    "police_classification\n"
    "hjallbo,Hjällbo,1480,1480C1010,2025,2300,2025,1,sarskilt_utsatt\n"
)


@router.get(
    "",
    operation_id="list_areas",
    response_model=AreaPage,
    responses={**LINK_HEADER_RESPONSE, **problem_responses(401, 403, 422)},
)
def list_areas(
    principal: AnyRole, session: SessionDep, page: PageParams, response: Response
) -> AreaPage:
    """List the organisation's areas with their classifications, by code, a page at a time."""
    return with_link_header(response, service.list_areas(session, principal.organisation_id, page))


@router.post(
    "",
    operation_id="create_area",
    response_model=AreaRead,
    status_code=201,
    responses=problem_responses(401, 403, 409, 413, 422),
)
def create_area(body: AreaCreate, principal: Analyst, session: SessionDep) -> AreaRead:
    """Create a residential area (kommunkod, optional DeSO/RegSO codes with their version)."""
    area = service.create_area(session, principal.organisation_id, body)
    return service.read_areas(session, [area])[0]


@dataclass(frozen=True)
class Upload:
    """An uploaded area file and the content type it came with."""

    body: bytes
    content_type: str | None


async def _upload(request: Request) -> Upload:
    """The uploaded file: the `file` part of a multipart form, else the whole body."""
    content_type = request.headers.get("content-type")
    if not (content_type or "").lower().startswith("multipart/form-data"):
        return Upload(await request.body(), content_type)
    async with request.form(max_files=1, max_fields=1) as form:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise ValidationFailed(
                "invalid request: body.file: the form needs the CSV or XLSX file as its "
                "`file` part",
                errors=[{"loc": ["body", "file"], "msg": "Field required", "type": "missing"}],
            )
        return Upload(await upload.read(), upload.content_type)


FILE_SCHEMA = {"type": "string", "format": "binary"}


@router.post(
    "/import",
    operation_id="import_areas",
    response_model=AreaImportResult,
    responses=problem_responses(400, 401, 403, 413, 422),
    openapi_extra={
        "requestBody": {
            "required": True,
            # The file as the body, or as the `file` part of a form: generators that cannot
            # send a text/csv body (openapi-python-client skips the operation) send the form.
            # An XLSX file is told by its content, so it may come either way (the form's
            # encoding lists its media type; a body needs no media type of its own).
            "content": {
                "text/csv": {"schema": FILE_SCHEMA, "example": CSV_EXAMPLE},
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "file": {
                                **FILE_SCHEMA,
                                "description": "The CSV or XLSX file.",
                            }
                        },
                        "required": ["file"],
                    },
                    "encoding": {"file": {"contentType": f"text/csv, {XLSX}"}},
                    "example": {"file": CSV_EXAMPLE},
                },
            },
        }
    },
)
def import_areas(
    principal: Analyst,
    session: SessionDep,
    upload: Annotated[Upload, Depends(_upload)],
    dry_run: Annotated[
        bool,
        Query(
            description="Validate the file and answer what the import would do, row by row "
            "(create, update with the changed fields, unchanged) with every row error, "
            "storing nothing."
        ),
    ] = False,
) -> AreaImportResult:
    """Create or update areas from a CSV file (`,` or `;`, UTF-8) or an Excel workbook (.xlsx:
    the first sheet, its first row naming the columns), sent as the body or as the `file`
    part of a multipart/form-data form; the kind is told from the file's content. Columns:
    code, name, municipality_code, deso_code, deso_version, regso_code, regso_version,
    households, year, area_type, police_classification. A row whose code is stored updates
    that area: each column in the file replaces the stored value (a blank cell clears an
    optional field; a column the file leaves out keeps what is stored) and the year's
    classification is added or replaced. One bad row
    rejects the whole file (422; `errors` lists each bad field by line number). With
    `dry_run=true` nothing is stored: the answer (200) lists per row what would happen and,
    in `errors`, every bad field; the import itself then does exactly what `rows` says."""
    rows = upload_file.read_upload(upload.body, upload.content_type)
    if dry_run:
        return service.preview_import(session, principal.organisation_id, rows)
    return service.import_rows(session, principal.organisation_id, rows)


CLASSIFICATIONS_EXAMPLE = (
    "code_kind,code,code_version,year,area_type,police_class\n"
    "deso,1480C1010,2018,2023,1,\n"
    "regso,1480R001,2018,2023,,särskilt utsatt område\n"
    "area_code,hjallbo,,2024,1,sarskilt_utsatt\n"
)


async def _classifications_file(request: Request) -> UploadFile:
    """The `file` part of the multipart form, left spooled (on disk when large) for the
    route to stream; Starlette closes it when the request ends."""
    form = await request.form(max_files=1, max_fields=1)
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise ValidationFailed(
            "invalid request: body.file: the form needs the CSV or XLSX file as its `file` part",
            errors=[{"loc": ["body", "file"], "msg": "Field required", "type": "missing"}],
        )
    return upload


@router.post(
    "/classifications/import",
    operation_id="import_area_classifications",
    response_model=classifications_import.ClassificationImportReport,
    status_code=201,
    responses={
        200: {
            "model": classifications_import.ClassificationImportReport,
            "description": "A dry run's report, or a repeat of a file already imported "
            "(`replayed`: nothing changes).",
        },
        **refused_responses(
            classifications_import.ClassificationImportProblemDetails, 400, 401, 403, 413
        ),
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "file": {**FILE_SCHEMA, "description": "The CSV or XLSX file."}
                        },
                        "required": ["file"],
                    },
                    "encoding": {"file": {"contentType": f"text/csv, {XLSX}"}},
                    "example": {"file": CLASSIFICATIONS_EXAMPLE},
                }
            },
        }
    },
)
def import_area_classifications(
    principal: Analyst,
    session: SessionDep,
    response: Response,
    upload: Annotated[UploadFile, Depends(_classifications_file)],
    dry_run: Annotated[
        bool,
        Query(
            description="Read and match the whole file and answer the report (matched with "
            "old and new values, unmatched, conflicts, row problems), storing nothing."
        ),
    ] = False,
) -> classifications_import.ClassificationImportReport:
    """Import official area classifications (Segregationsbarometern's area type 1–5, the
    police's list) per year from a CSV (UTF-8, UTF-8 with BOM or Windows-1252; `,`, `;` or
    tab) or XLSX file, sent as the `file` part of a multipart form. Columns: code_kind
    (`deso`, `regso` or `area_code`), code, year, area_type and/or police_class (our codes
    or the police's words "utsatt område", "riskområde", "särskilt utsatt område"), optional
    code_version (the DeSO/RegSO code set's year, matched against the area's version). Rows
    for codes none of your areas has are counted as unmatched, not errors. Where rows give
    one area and year different values, area_code wins over DeSO over RegSO; rows of one
    code kind that disagree are a refused conflict. A blank cell keeps the stored value.
    The real run is all or nothing: any row problem or refused conflict answers 422 with the
    report under `report`. A first import answers 201, the same file again 200 with
    `replayed: true`."""
    source = import_files.spool(upload.file, upload.filename, upload.content_type)
    report = classifications_import.import_classifications(
        session, principal.organisation_id, source, dry_run=dry_run
    )
    if dry_run or report.replayed:
        response.status_code = 200
    return report


@router.get(
    "/{area_id}",
    operation_id="get_area",
    response_model=AreaRead,
    responses=problem_responses(401, 403, 404),
)
def get_area(area_id: AreaId, principal: AnyRole, session: SessionDep) -> AreaRead:
    """Read one area."""
    area = service.get_area(session, principal.organisation_id, area_id)
    return service.read_areas(session, [area])[0]


@router.patch(
    "/{area_id}",
    operation_id="update_area",
    response_model=AreaRead,
    responses=problem_responses(401, 403, 404, 413, 422),
)
def update_area(
    area_id: AreaId, body: AreaUpdate, principal: Analyst, session: SessionDep
) -> AreaRead:
    """Change an area; `classifications` adds or replaces the years it lists."""
    area = service.update_area(session, principal.organisation_id, area_id, body)
    return service.read_areas(session, [area])[0]


@router.get(
    "/{area_id}/overview",
    operation_id="get_area_overview",
    response_model=AreaOverview,
    responses=problem_responses(401, 403, 404, 422),
)
def get_area_overview(
    area_id: AreaId,
    principal: AnyRole,
    session: SessionDep,
    period: Annotated[
        str | None,
        Query(
            description="The period: YYYY, YYYY-H1/H2, YYYY-Q1..Q4 or YYYY-MM, as the rounds "
            "have it; without it, the first of `available_periods` (the newest).",
            pattern=PERIOD_PATTERN,
            examples=["2026"],
        ),
    ] = None,
    language: Annotated[
        str | None,
        Query(
            description="The language of the indicators' and indices' labels (sv, en, ar…); "
            "a survey without it, and the default, give its questionnaire's default language.",
            pattern=LANGUAGE_PATTERN,
            max_length=8,
        ),
    ] = None,
) -> AreaOverview:
    """One area and one period: every survey with a round there, side by side.

    Per survey (questionnaire), each of its rounds in the period with the area's respondents,
    every named indicator (share, Wilson 95 % interval) and every composite index (t-interval),
    exactly as `GET /rounds/{id}/results` gives them for the area, suppression included. No
    round in the period includes the area: `surveys` is empty and `available_periods` lists
    the periods that have one. Without `period`, the newest of those (`period` is null only
    when no round includes the area).
    """
    return overview_service.area_overview(
        session, principal.organisation_id, area_id, period, language=language
    )
