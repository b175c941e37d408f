"""POST /rounds/{round_id}/tallies/import: a vendor's report tables into a historical round."""

from typing import Annotated, Any

from fastapi import APIRouter, File, Path, Query, Response, UploadFile

from survey_api.areas.upload import XLSX_MEDIA_TYPE
from survey_api.auth.dependencies import Analyst, SessionDep
from survey_api.ids import MAX_ID
from survey_api.imports import tallies
from survey_api.imports.files import spool
from survey_api.imports.problems import refused_responses
from survey_api.imports.schemas import ImportProblemDetails, ImportReport

router = APIRouter(tags=["imports"])

CSV_EXAMPLE = (
    "area,item,option,count\n"
    "hjallbo,*,,212\n"
    "hjallbo,trygg_ute_kvall,1,41\n"
    "hjallbo,trygg_ute_kvall,2,77\n"
    "hjallbo,trygg_ute_kvall,3,52\n"
    "hjallbo,trygg_ute_kvall,4,21\n"
    "hjallbo,trygg_ute_kvall,5,9\n"
    "hjallbo,trygg_ute_kvall,8,8\n"
    "hjallbo,utsatt_brott_12m,*,198\n"
    "hjallbo,utsatt_brott_12m,1,30\n"
    "hjallbo,utsatt_brott_12m,6,151\n"
)
_FILE_SCHEMA: dict[str, Any] = {"type": "string", "format": "binary"}


@router.post(
    "/rounds/{round_id}/tallies/import",
    operation_id="import_round_tallies",
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
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "file": {**_FILE_SCHEMA, "description": "The CSV or XLSX file."}
                        },
                        "required": ["file"],
                    },
                    "encoding": {"file": {"contentType": f"text/csv, {XLSX_MEDIA_TYPE}"}},
                    "example": {"file": CSV_EXAMPLE},
                }
            },
        }
    },
)
def import_round_tallies(
    round_id: Annotated[int, Path(description="The historical round's id.", ge=1, le=MAX_ID)],
    principal: Analyst,
    session: SessionDep,
    response: Response,
    file: Annotated[UploadFile, File(description="The CSV or XLSX file.")],
    dry_run: Annotated[
        bool,
        Query(
            description="Read and check the file and answer what the import would store, "
            "with every row problem; store nothing."
        ),
    ] = False,
) -> ImportReport:
    """Import answer counts (a survey vendor's report tables) into a historical round.

    A CSV (UTF-8, UTF-8 with BOM or Windows-1252; `,`, `;` or tab) or XLSX file with the
    columns `area` (the area's code), `item` (an item key), `option` (an option code) and
    `count`. A row with `item` `*` (option empty) gives an area's number of respondents
    (without it, the largest number of answers to one item stands in and `notes` says so);
    a row with `option` `*` on a multi-choice item gives how many respondents answered it
    (without it, that item's shares are unavailable). Only into a historical round with no
    imported responses; the round's `source` becomes `imported_tallies`. Composite indices
    and breakdowns need respondent-level data and are reported as unavailable for such a
    round. All or nothing: any row problem answers 422 with the report and stores nothing;
    a first import answers 201, the same file again 200 with `replayed` true. A second file
    may only add areas that have no counts yet (409 otherwise).
    """
    source = spool(file.file, file.filename, file.content_type)
    report = tallies.import_tallies(
        session,
        principal.organisation_id,
        round_id,
        source,
        dry_run=dry_run,
        file_name=file.filename or "",
    )
    if dry_run or report.replayed:
        response.status_code = 200
    return report
