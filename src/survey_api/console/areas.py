"""The console's Areas section: list and search, create and edit, classifications per year,
and the CSV/XLSX import with a preview. The import of official classifications is
console/classifications.py (the same /console/areas prefix).

GET  /console/areas                              areas by code, searchable, a page at a time
GET  /console/areas/new, POST                    (analyst) create an area
GET  /console/areas/import, POST                 (analyst) upload a file: the preview
POST /console/areas/import/confirm               (analyst) import exactly the previewed file
GET  /console/areas/{id}                         an area with its classifications per year
GET  /console/areas/{id}/overview?period=        its surveys of a period side by side
GET  /console/areas/{id}/edit, POST              (analyst) change it
GET  /console/areas/{id}/classification, POST    (analyst) add or replace a year's classification

Every rule comes from areas.service, which the API calls too: the request models AreaCreate
and AreaUpdate, and one import plan for the preview and the import. The previewed file
travels back in the confirmation form with an HMAC over it (console/uploads.py: the server's
secret key and this session's CSRF token), so the confirmation imports that very file or
nothing; and the import only runs if its plan is still the previewed one (the stored areas
may have changed since).
"""

import base64
import binascii
import hashlib
import hmac
import zlib
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from survey_api.areas import service as areas_service
from survey_api.areas import upload as areas_upload
from survey_api.areas.schemas import AreaCreate, AreaImportResult, AreaUpdate
from survey_api.config import Settings
from survey_api.console import area_overview, uploads
from survey_api.console.auth import DefinerStaff, Fields, SessionDep, Staff, StaffPost
from survey_api.console.forms import (
    FormErrors,
    form_state,
    model_errors,
    page_number,
    paging,
    path_id,
    to_int,
)
from survey_api.console.rendering import ConsoleRoute, PageLanguage, page_language, redirect, render
from survey_api.exceptions import (
    BadRequest,
    Conflict,
    NotFound,
    PayloadTooLarge,
    SurveyError,
    ValidationFailed,
)
from survey_api.models import Area
from survey_api.paging import PageRequest
from survey_api.staff.service import StaffPrincipal

router = APIRouter(prefix="/areas", route_class=ConsoleRoute)

PAGE_SIZE = 20
AREA_FIELDS = (
    "code",
    "name",
    "municipality_code",
    "deso_code",
    "deso_version",
    "regso_code",
    "regso_version",
    "households",
)
CLASSIFICATION_FIELDS = ("year", "area_type", "police_classification")
AREA_TYPES = (1, 2, 3, 4, 5)
POLICE_CLASSES = ("none", "utsatt", "risk", "sarskilt_utsatt")


def _area(session: Session, principal: StaffPrincipal, raw_id: str) -> Area:
    """The organisation's area, or the same NotFound for a missing id, another organisation's
    id and anything that is not an id at all."""
    return areas_service.get_area(session, principal.organisation_id, path_id(raw_id, "area"))


def _field_of(loc: list[Any], message: str, names: tuple[str, ...]) -> str:
    found = [str(p) for p in loc if str(p) in names]
    if found:
        return found[-1]
    # The models' cross-field checks name the field in their message.
    for kind in ("deso", "regso"):
        if f"{kind}_code needs" in message:
            return f"{kind}_version"
        if f"{kind}_code" in message:
            return f"{kind}_code"
    return names[0] if names[0] in message else ""


def _model_errors(invalid: ValidationError, names: tuple[str, ...]) -> FormErrors:
    return model_errors(
        invalid.errors(include_url=False), lambda loc, message: _field_of(loc, message, names)
    )


def _service_errors(refused: SurveyError, names: tuple[str, ...]) -> FormErrors:
    if isinstance(refused, ValidationFailed) and refused.errors:
        return model_errors(
            refused.errors, lambda loc, message: _field_of(loc, message, names), refused.detail
        )
    errors = FormErrors()
    if isinstance(refused, Conflict):
        errors.add("code", refused.detail)
    else:
        errors.general.append(refused.detail)
    return errors


# --- the list ----------------------------------------------------------------------------------


@router.get("")
def areas_page(request: Request, session: SessionDep, principal: Staff) -> Response:
    """The organisation's areas by code, 20 to a page, searchable by code or name."""
    lang = page_language(request)
    number = page_number(request)
    search = request.query_params.get("q", "").replace("\x00", "").strip()[:200]
    page = areas_service.list_areas(
        session,
        principal.organisation_id,
        PageRequest(limit=PAGE_SIZE, offset=(number - 1) * PAGE_SIZE, path="/console/areas"),
        search=search,
    )
    kept = {"q": search} if search else {}
    return render(
        request,
        "areas/list.html",
        lang=lang,
        areas=page.items,
        search=search,
        notice=request.query_params.get("done"),
        **paging(lang, "/console/areas", number, page.total, PAGE_SIZE, **kept),
    )


# --- create and edit ---------------------------------------------------------------------------


def _form(
    request: Request,
    principal: StaffPrincipal,
    *,
    lang: PageLanguage,
    values: dict[str, str],
    area: Any = None,
    errors: FormErrors | None = None,
) -> Response:
    return render(
        request,
        "areas/form.html",
        lang=lang,
        csrf_token=principal.csrf_token,
        area=area,
        values=values,
        **form_state(errors, AREA_FIELDS),
    )


def _values(fields: dict[str, str]) -> dict[str, str]:
    return {name: fields.get(name, "") for name in AREA_FIELDS}


def _body(values: dict[str, str], *, with_code: bool) -> dict[str, Any]:
    """The API's request body for the form's values (blank optional fields are null)."""
    body: dict[str, Any] = {
        name: values[name].strip() or None for name in AREA_FIELDS if name != "households"
    }
    body["households"] = to_int(values["households"])
    body["name"] = values["name"].strip()
    if with_code:
        body["code"] = values["code"].strip()
    else:
        del body["code"]
    return body


@router.get("/new")
def new_area_page(request: Request, principal: DefinerStaff) -> Response:
    """(analyst) The form to create an area."""
    values = {name: "" for name in AREA_FIELDS}
    return _form(request, principal, lang=page_language(request), values=values)


@router.post("/new")
def create_area(
    request: Request,
    session: SessionDep,
    allowed: DefinerStaff,
    principal: StaffPost,
    fields: Fields,
) -> Response:
    """(analyst) Create it with the API's model and service, or show what to fix."""
    lang = page_language(request, fields.get("_lang"))
    values = _values(fields)
    try:
        data = AreaCreate.model_validate(_body(values, with_code=True))
    except ValidationError as invalid:
        errors = _model_errors(invalid, AREA_FIELDS)
        return _form(request, principal, lang=lang, values=values, errors=errors)
    try:
        area = areas_service.create_area(session, principal.organisation_id, data)
    except (Conflict, ValidationFailed) as refused:
        session.rollback()
        errors = _service_errors(refused, AREA_FIELDS)
        return _form(request, principal, lang=lang, values=values, errors=errors)
    return redirect(lang.url(f"/console/areas/{area.id}", done="created"))


# --- the import --------------------------------------------------------------------------------


def _signature(request: Request, principal: StaffPrincipal, body: bytes) -> str:
    """An HMAC over the file, bound to this session: the confirmation imports this file only."""
    return uploads.signature(request, principal, "console-area-import", body)


def _max_bytes(request: Request) -> int:
    settings: Settings = request.app.state.settings
    return settings.max_body_bytes


def _pack(body: bytes) -> str:
    """The previewed file for the confirmation form: compressed (CSV shrinks several times, so
    a file near the upload limit still fits in the confirmation's body), then base64."""
    return base64.b64encode(zlib.compress(body, 6)).decode()


def _unpack(data: str, limit: int) -> bytes:
    """The file back from the confirmation form, or b"" if it is not one we packed; never more
    than `limit` bytes whatever was posted (the HMAC is checked on the result)."""
    try:
        packed = base64.b64decode(data, validate=True)
        inflate = zlib.decompressobj()
        body = inflate.decompress(packed, limit + 1)
    except (binascii.Error, ValueError, zlib.error):
        return b""
    return body if len(body) <= limit and inflate.eof else b""


def _plan_digest(result: AreaImportResult) -> str:
    """What the preview showed, row by row, as one value to compare at the confirmation."""
    rows = [r.model_dump(mode="json", exclude={"area_id"}) for r in result.rows]
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def _import_page(
    request: Request,
    principal: StaffPrincipal,
    *,
    lang: PageLanguage,
    status: int = 200,
    problem: str | None = None,
) -> Response:
    return render(
        request,
        "areas/import.html",
        lang=lang,
        status=status,
        csrf_token=principal.csrf_token,
        problem=problem,
        columns=areas_upload.CSV_COLUMNS,
    )


def _preview_page(
    request: Request,
    principal: StaffPrincipal,
    *,
    lang: PageLanguage,
    body: bytes,
    filename: str,
    result: AreaImportResult,
    status: int = 200,
    changed: bool = False,
) -> Response:
    return render(
        request,
        "areas/preview.html",
        lang=lang,
        status=status,
        csrf_token=principal.csrf_token,
        result=result,
        filename=filename,
        file_data=_pack(body) if not result.errors else "",
        signature=_signature(request, principal, body),
        plan=_plan_digest(result),
        changed=changed,
        bad_rows=len({e.loc[1] for e in result.errors}),
    )


async def _uploaded(request: Request) -> UploadFile | None:
    form = await request.form()
    upload = form.get("file")
    return upload if isinstance(upload, UploadFile) else None


Uploaded = Annotated[UploadFile | None, Depends(_uploaded)]


@router.get("/import")
def import_page(request: Request, principal: DefinerStaff) -> Response:
    """(analyst) Choose a CSV or Excel file to preview."""
    return _import_page(request, principal, lang=page_language(request))


@router.post("/import")
def preview_import(
    request: Request,
    session: SessionDep,
    allowed: DefinerStaff,
    principal: StaffPost,
    fields: Fields,
    upload: Uploaded,
) -> Response:
    """(analyst) What the file would change, row by row, and every row error; stores nothing."""
    lang = page_language(request, fields.get("_lang"))
    body = upload.file.read() if upload is not None else b""
    if upload is None or not body:
        return _import_page(request, principal, lang=lang, status=422, problem="no_file")
    try:
        rows = areas_upload.read_upload(body, upload.content_type)
    except (BadRequest, PayloadTooLarge, ValidationFailed) as refused:
        return _import_page(
            request, principal, lang=lang, status=refused.status_code, problem=refused.detail
        )
    result = areas_service.preview_import(session, principal.organisation_id, rows)
    filename = (upload.filename or "")[:200]
    return _preview_page(request, principal, lang=lang, body=body, filename=filename, result=result)


@router.post("/import/confirm")
def confirm_import(
    request: Request,
    session: SessionDep,
    allowed: DefinerStaff,
    principal: StaffPost,
    fields: Fields,
) -> Response:
    """(analyst) Import the previewed file, if it is that file and its plan is unchanged."""
    lang = page_language(request, fields.get("_lang"))
    body = _unpack(fields.get("file_data", ""), _max_bytes(request))
    expected = _signature(request, principal, body)
    if not body or not hmac.compare_digest(expected, fields.get("signature", "")):
        return _import_page(request, principal, lang=lang, status=400, problem="not_previewed")
    filename = fields.get("filename", "")[:200]
    rows = areas_upload.read_upload(body)
    preview = areas_service.preview_import(session, principal.organisation_id, rows)
    if preview.errors or not hmac.compare_digest(_plan_digest(preview), fields.get("plan", "")):
        # The stored areas changed since the preview: show what the file would do now.
        return _preview_page(
            request,
            principal,
            lang=lang,
            body=body,
            filename=filename,
            result=preview,
            status=409,
            changed=True,
        )
    result = areas_service.import_rows(session, principal.organisation_id, rows)
    return render(request, "areas/imported.html", lang=lang, result=result, filename=filename)


# --- one area ----------------------------------------------------------------------------------


@router.get("/{area_id}")
def area_page(request: Request, session: SessionDep, principal: Staff, area_id: str) -> Response:
    """An area: its codes, households and classifications per year, newest first."""
    area = _area(session, principal, area_id)
    return render(
        request,
        "areas/area.html",
        lang=page_language(request),
        area=areas_service.read_areas(session, [area])[0],
        may_change=principal.role in ("admin", "analyst"),
        notice=request.query_params.get("done"),
    )


@router.get("/{area_id}/overview")
def area_overview_page(
    request: Request, session: SessionDep, principal: Staff, area_id: str
) -> Response:
    """An area's surveys in one period side by side (?period=, default the newest): each
    round's key figures with intervals, suppressed cells as on the results pages."""
    area = _area(session, principal, area_id)
    lang = page_language(request)
    period = request.query_params.get("period") or None
    return render(
        request,
        "areas/overview.html",
        lang=lang,
        area=area,
        overview=area_overview.overview_page(
            session, principal.organisation_id, area, period, lang.code
        ),
    )


def _values_of(area: Area) -> dict[str, str]:
    return {
        name: "" if getattr(area, name) is None else str(getattr(area, name))
        for name in AREA_FIELDS
    }


@router.get("/{area_id}/edit")
def edit_area_page(
    request: Request, session: SessionDep, principal: DefinerStaff, area_id: str
) -> Response:
    """(analyst) The form with the area's fields filled in."""
    area = _area(session, principal, area_id)
    return _form(
        request, principal, lang=page_language(request), values=_values_of(area), area=area
    )


@router.post("/{area_id}/edit")
def edit_area(
    request: Request,
    session: SessionDep,
    allowed: DefinerStaff,
    principal: StaffPost,
    area_id: str,
    fields: Fields,
) -> Response:
    """(analyst) Change it with the API's update model and service (every field is sent; the
    code is the area's reference and stays)."""
    lang = page_language(request, fields.get("_lang"))
    area = _area(session, principal, area_id)
    values = _values(fields) | {"code": area.code}
    try:
        data = AreaUpdate.model_validate(_body(values, with_code=False))
    except ValidationError as invalid:
        errors = _model_errors(invalid, AREA_FIELDS)
        return _form(request, principal, lang=lang, values=values, area=area, errors=errors)
    try:
        areas_service.update_area(session, principal.organisation_id, area.id, data)
    except (NotFound, ValidationFailed) as refused:
        # The service set the fields before refusing: none of them may be stored.
        session.rollback()
        area = _area(session, principal, area_id)
        errors = _service_errors(refused, AREA_FIELDS)
        return _form(request, principal, lang=lang, values=values, area=area, errors=errors)
    return redirect(lang.url(f"/console/areas/{area.id}", done="saved"))


def _classification_form(
    request: Request,
    principal: StaffPrincipal,
    area: Area,
    *,
    lang: PageLanguage,
    values: dict[str, str],
    errors: FormErrors | None = None,
) -> Response:
    return render(
        request,
        "areas/classification.html",
        lang=lang,
        csrf_token=principal.csrf_token,
        area=area,
        values=values,
        area_types=AREA_TYPES,
        police_classes=POLICE_CLASSES,
        **form_state(errors, CLASSIFICATION_FIELDS),
    )


@router.get("/{area_id}/classification")
def classification_page(
    request: Request, session: SessionDep, principal: DefinerStaff, area_id: str
) -> Response:
    """(analyst) Add a year's classification, or replace it (?year= fills in the stored one)."""
    area = _area(session, principal, area_id)
    values = {name: "" for name in CLASSIFICATION_FIELDS}
    year = request.query_params.get("year", "")
    for stored in areas_service.read_areas(session, [area])[0].classifications:
        if str(stored.year) == year:
            values = {
                "year": str(stored.year),
                "area_type": "" if stored.area_type is None else str(stored.area_type),
                "police_classification": stored.police_classification or "",
            }
    return _classification_form(
        request, principal, area, lang=page_language(request), values=values
    )


@router.post("/{area_id}/classification")
def save_classification(
    request: Request,
    session: SessionDep,
    allowed: DefinerStaff,
    principal: StaffPost,
    area_id: str,
    fields: Fields,
) -> Response:
    """(analyst) Store the year's area type and police classification through AreaUpdate."""
    lang = page_language(request, fields.get("_lang"))
    area = _area(session, principal, area_id)
    values = {name: fields.get(name, "").strip() for name in CLASSIFICATION_FIELDS}
    body = {
        "classifications": [
            {
                "year": to_int(values["year"]),
                "area_type": to_int(values["area_type"]),
                "police_classification": values["police_classification"] or None,
            }
        ]
    }
    try:
        data = AreaUpdate.model_validate(body)
        areas_service.update_area(session, principal.organisation_id, area.id, data)
    except ValidationError as invalid:
        errors = _model_errors(invalid, CLASSIFICATION_FIELDS)
        return _classification_form(
            request, principal, area, lang=lang, values=values, errors=errors
        )
    except ValidationFailed as refused:
        session.rollback()
        errors = _service_errors(refused, CLASSIFICATION_FIELDS)
        return _classification_form(
            request, principal, area, lang=lang, values=values, errors=errors
        )
    return redirect(lang.url(f"/console/areas/{area.id}", done="classified"))
