from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response
from starlette.datastructures import UploadFile

from survey_api.areas import service
from survey_api.areas.schemas import (
    AreaCreate,
    AreaImportResult,
    AreaPage,
    AreaRead,
    AreaUpdate,
)
from survey_api.auth.dependencies import Analyst, AnyRole, SessionDep
from survey_api.exceptions import BadRequest, ValidationFailed, problem_responses
from survey_api.ids import MAX_ID
from survey_api.paging import LINK_HEADER_RESPONSE, PageParams, with_link_header

router = APIRouter(prefix="/areas", tags=["areas"])

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


async def _csv_file(request: Request) -> bytes:
    """The uploaded CSV: the `file` part of a multipart form, else the whole body."""
    if not request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        return await request.body()
    async with request.form(max_files=1, max_fields=1) as form:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise ValidationFailed(
                "invalid request: body.file: the form needs the CSV file as its `file` part",
                errors=[{"loc": ["body", "file"], "msg": "Field required", "type": "missing"}],
            )
        return await upload.read()


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
            "content": {
                "text/csv": {
                    "schema": {"type": "string", "format": "binary"},
                    "example": CSV_EXAMPLE,
                },
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "file": {
                                "type": "string",
                                "format": "binary",
                                "description": "The CSV file.",
                            }
                        },
                        "required": ["file"],
                    },
                    "encoding": {"file": {"contentType": "text/csv"}},
                    "example": {"file": CSV_EXAMPLE},
                },
            },
        }
    },
)
def import_areas(
    principal: Analyst,
    session: SessionDep,
    body: Annotated[bytes, Depends(_csv_file)],
) -> AreaImportResult:
    """Create or update areas from CSV (`,` or `;`, UTF-8), sent as the body (text/csv) or as
    the `file` part of a multipart/form-data form. Columns: code, name, municipality_code,
    deso_code, deso_version, regso_code, regso_version, households, year, area_type,
    police_classification. One bad row rejects the whole file; `errors` lists each bad field
    by line number."""
    return service.import_csv(session, principal.organisation_id, _decode(body))


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


def _decode(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = body.count(b"\n", 0, exc.start) + 1
        raise BadRequest(
            f"the CSV file must be UTF-8 encoded: line {line} has the byte "
            f"0x{body[exc.start]:02x}, which is not UTF-8 there; nothing was imported"
        ) from None
