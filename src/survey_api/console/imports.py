"""The console's history flows: answers, or answer counts only, imported into a historical
round in two steps, and an import taken back.

GET  /console/rounds/{id}/imports                      (analyst) a file and its mapping
POST /console/rounds/{id}/imports                      (analyst) the dry run: the report
POST /console/rounds/{id}/imports/confirm              (analyst) import exactly that file
GET  /console/rounds/{id}/tallies/import               (analyst) a file of answer counts
POST /console/rounds/{id}/tallies/import               (analyst) the dry run: the report
POST /console/rounds/{id}/tallies/import/confirm       (analyst) import exactly that file
GET  /console/rounds/{id}/imports/{import_id}/delete, POST   (admin) take an import back

Every rule is the import services' (imports.responses, imports.tallies, imports.mapping), which
the API calls too; the report page is their ImportReport as tables. The POST routes lie under
the paths main.IMPORT_PATHS gives the import body limit (200 MB by default). A previewed file
is kept on the server, not sent back through the browser (console/uploads.py): the
confirmation carries only its random token, its SHA-256, the mapping and the file name, signed
for this session, round and kind of import, and imports that file or nothing.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from survey_api.console import uploads
from survey_api.console.auth import AdminStaff, DefinerStaff, Fields, SessionDep, StaffPost
from survey_api.console.forms import path_id
from survey_api.console.rendering import ConsoleRoute, PageLanguage, page_language, redirect, render
from survey_api.exceptions import (
    BadRequest,
    Conflict,
    PayloadTooLarge,
    SurveyError,
    ValidationFailed,
)
from survey_api.imports import files as import_files
from survey_api.imports import mapping as import_mapping
from survey_api.imports import responses as responses_import
from survey_api.imports import tallies as tallies_import
from survey_api.imports.files import SourceFile
from survey_api.imports.schemas import MAX_LISTED_PROBLEMS, DataImportRead, ImportReport
from survey_api.models import SurveyRound
from survey_api.rounds import service as rounds_service
from survey_api.rounds.schemas import SurveyRoundRead
from survey_api.staff.service import StaffPrincipal

router = APIRouter(prefix="/rounds", route_class=ConsoleRoute)

Kind = Literal["responses", "tallies"]
#: A mapping file is a small JSON document; anything bigger is not one.
MAX_MAPPING_BYTES = 1_000_000
MAPPING_FILE = "file"


@dataclass(frozen=True)
class Flow:
    """One of the two imports into a round: where its pages are and what its signature is for."""

    kind: Kind
    path: str
    purpose: str


FLOWS: dict[Kind, Flow] = {
    "responses": Flow("responses", "imports", "console-round-import-responses"),
    "tallies": Flow("tallies", "tallies/import", "console-round-import-tallies"),
}


def _add_routes(
    method: str,
    suffix: str,
    route: Callable[[Kind], Callable[..., Response]],
    summaries: dict[Kind, str],
) -> None:
    """One route per flow, at /{round_id}/<the flow's path><suffix>: the two flows' pages differ
    only in their path and what they say, so both are declared from one place."""
    for kind, summary in summaries.items():
        path = f"/{{round_id}}/{FLOWS[kind].path}{suffix}"
        router.add_api_route(path, route(kind), methods=[method], summary=summary)


@dataclass(frozen=True)
class ImportLine:
    """A stored import of a round, as its page lists it."""

    id: int
    kind: str
    file_name: str
    rows_read: int
    rows_stored: int
    day: Any
    time: str


@dataclass(frozen=True)
class Importable:
    """Which kinds of import the round page offers (the services decide what they take)."""

    responses: bool
    tallies: bool


def _line(item: DataImportRead) -> ImportLine:
    moment = item.created_at
    local = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(
        rounds_service.SWEDEN
    )
    return ImportLine(
        id=item.id,
        kind=item.kind,
        file_name=item.file_name,
        rows_read=item.rows_read,
        rows_stored=item.rows_stored,
        day=local.date(),
        time=local.strftime("%H:%M"),
    )


def history(session: Session, principal: StaffPrincipal, read: SurveyRoundRead) -> dict[str, Any]:
    """What a round's page shows of its imports: the stored ones (a historical round only)
    and which imports it offers: answers unless it holds answer counts, counts unless it
    holds answers."""
    if read.status != "historical":
        return {"imports": [], "importable": Importable(responses=False, tallies=False)}
    stored = responses_import.list_imports(session, principal.organisation_id, read.id)
    return {
        "imports": [_line(i) for i in stored],
        "importable": Importable(
            responses=read.source == "imported",
            tallies=read.source == "imported_tallies" or not stored,
        ),
    }


def _round(session: Session, principal: StaffPrincipal, raw_id: str) -> SurveyRound:
    """The organisation's round, or the same NotFound for a missing id, another organisation's
    id and anything that is not an id at all."""
    round_id = path_id(raw_id, "survey round")
    return rounds_service.get_round(session, principal.organisation_id, round_id)


def _read(session: Session, survey_round: SurveyRound) -> SurveyRoundRead:
    return rounds_service.read_rounds(session, [survey_round])[0]


async def _uploads(request: Request) -> dict[str, UploadFile]:
    """The files of a multipart form by field name (the parser has spooled them to disk)."""
    form = await request.form()
    return {name: value for name in form if isinstance(value := form.get(name), UploadFile)}


Uploads = Annotated[dict[str, UploadFile], Depends(_uploads)]


# --- choosing the file ---------------------------------------------------------------------------


def _choose_page(
    request: Request,
    session: Session,
    principal: StaffPrincipal,
    survey_round: SurveyRound,
    flow: Flow,
    *,
    lang: PageLanguage,
    values: dict[str, str] | None = None,
    status: int = 200,
    problem: str | None = None,
    problem_field: str = "file",
) -> Response:
    return render(
        request,
        "imports/choose.html",
        lang=lang,
        status=status,
        csrf_token=principal.csrf_token,
        round=_read(session, survey_round),
        flow=flow,
        presets=import_mapping.PRESETS,
        values=values or {"mapping": "", "area_column": ""},
        problem=problem,
        problem_field=problem_field,
    )


def _choose(kind: Kind) -> Callable[..., Response]:
    flow = FLOWS[kind]

    def choose_page(
        request: Request, session: SessionDep, principal: DefinerStaff, round_id: str
    ) -> Response:
        survey_round = _round(session, principal, round_id)
        return _choose_page(
            request, session, principal, survey_round, flow, lang=page_language(request)
        )

    return choose_page


_add_routes(
    "GET",
    "",
    _choose,
    {
        "responses": "(analyst) Choose a file of past answers and its mapping.",
        "tallies": "(analyst) Choose a file of answer counts per area, item and option.",
    },
)


# --- the dry run ---------------------------------------------------------------------------------


def _mapping_text(values: dict[str, str], mapping_file: UploadFile | None) -> str:
    """The mapping as JSON text: a ready-made one by name (with the area column the form
    names, if any), or the uploaded mapping file's text; parse_mapping says what is wrong."""
    choice = values["mapping"]
    if choice in import_mapping.PRESETS:
        chosen: dict[str, Any] = {"preset": choice}
        if values["area_column"]:
            chosen["area"] = {"column": values["area_column"]}
        return json.dumps(chosen, ensure_ascii=False, sort_keys=True)
    if choice != MAPPING_FILE:
        raise ValidationFailed("choose a ready-made mapping or a mapping file")
    raw = mapping_file.file.read(MAX_MAPPING_BYTES + 1) if mapping_file is not None else b""
    if not raw:
        raise ValidationFailed("choose the mapping file (JSON) to upload")
    if len(raw) > MAX_MAPPING_BYTES:
        raise PayloadTooLarge(f"a mapping file holds at most {MAX_MAPPING_BYTES} bytes")
    import_mapping.parse_mapping(raw)  # every problem of the mapping, before the file is read
    return raw.decode("utf-8")


def _run(
    session: Session,
    principal: StaffPrincipal,
    survey_round: SurveyRound,
    flow: Flow,
    source: SourceFile,
    mapping_text: str,
    *,
    dry_run: bool,
    file_name: str,
) -> ImportReport:
    if flow.kind == "tallies":
        return tallies_import.import_tallies(
            session,
            principal.organisation_id,
            survey_round.id,
            source,
            dry_run=dry_run,
            file_name=file_name,
        )
    return responses_import.import_responses(
        session,
        principal.organisation_id,
        survey_round.id,
        source,
        import_mapping.parse_mapping(mapping_text),
        dry_run=dry_run,
        file_name=file_name,
    )


def _signature_parts(
    survey_round: SurveyRound, token: str, sha256: str, mapping_text: str, file_name: str
) -> tuple[bytes, ...]:
    return tuple(
        part.encode() for part in (str(survey_round.id), token, sha256, mapping_text, file_name)
    )


def _report_page(
    request: Request,
    session: Session,
    principal: StaffPrincipal,
    survey_round: SurveyRound,
    flow: Flow,
    report: ImportReport,
    *,
    lang: PageLanguage,
    file_name: str,
    mapping_text: str = "",
    token: str = "",
    status: int = 200,
) -> Response:
    signature = (
        uploads.signature(
            request,
            principal,
            flow.purpose,
            *_signature_parts(survey_round, token, report.file_sha256, mapping_text, file_name),
        )
        if token
        else ""
    )
    bad_rows = len({p.row for p in report.problems})
    return render(
        request,
        "imports/report.html",
        lang=lang,
        status=status,
        csrf_token=principal.csrf_token,
        round=_read(session, survey_round),
        flow=flow,
        report=report,
        file_name=file_name,
        mapping_text=mapping_text,
        token=token,
        signature=signature,
        bad_rows=bad_rows,
        listed_limit=MAX_LISTED_PROBLEMS,
    )


def _preview(kind: Kind) -> Callable[..., Response]:
    flow = FLOWS[kind]

    def preview(
        request: Request,
        session: SessionDep,
        allowed: DefinerStaff,
        principal: StaffPost,
        round_id: str,
        fields: Fields,
        files: Uploads,
    ) -> Response:
        lang = page_language(request, fields.get("_lang"))
        survey_round = _round(session, principal, round_id)
        values = {
            "mapping": fields.get("mapping", "").strip(),
            "area_column": fields.get("area_column", "").replace("\x00", "").strip()[:200],
        }
        upload = files.get("file")

        def again(status: int, problem: str, problem_field: str = "file") -> Response:
            return _choose_page(
                request,
                session,
                principal,
                survey_round,
                flow,
                lang=lang,
                values=values,
                status=status,
                problem=problem,
                problem_field=problem_field,
            )

        try:
            mapping_text = (
                _mapping_text(values, files.get("mapping_file")) if kind == "responses" else ""
            )
        except (ValidationFailed, PayloadTooLarge) as refused:
            return again(refused.status_code, refused.detail, "mapping")
        if upload is None or (not upload.filename and not upload.size):
            return again(422, "no_file")
        file_name = (upload.filename or "").replace("\x00", "")[:200]
        try:
            source = import_files.spool(upload.file, file_name, upload.content_type)
            report = _run(
                session,
                principal,
                survey_round,
                flow,
                source,
                mapping_text,
                dry_run=True,
                file_name=file_name,
            )
        except (BadRequest, PayloadTooLarge, ValidationFailed, Conflict) as refused:
            session.rollback()
            about_mapping = any("mapping" in map(str, e["loc"]) for e in refused.errors or [])
            field = "mapping" if about_mapping else "file"
            return again(refused.status_code, refused.detail, field)
        importable = report.problems_total == 0 and not report.replayed and report.rows_stored > 0
        token = uploads.keep(source.stream) if importable else ""
        return _report_page(
            request,
            session,
            principal,
            survey_round,
            flow,
            report,
            lang=lang,
            file_name=file_name,
            mapping_text=mapping_text,
            token=token,
        )

    return preview


_add_routes(
    "POST",
    "",
    _preview,
    {
        "responses": "(analyst) The dry run of a file of past answers: what would be stored, by "
        "area, and every problem by row and column; stores nothing.",
        "tallies": "(analyst) The dry run of a file of answer counts; stores nothing.",
    },
)


# --- the import ----------------------------------------------------------------------------------


def _confirm(kind: Kind) -> Callable[..., Response]:
    flow = FLOWS[kind]

    def confirm(
        request: Request,
        session: SessionDep,
        allowed: DefinerStaff,
        principal: StaffPost,
        round_id: str,
        fields: Fields,
    ) -> Response:
        lang = page_language(request, fields.get("_lang"))
        survey_round = _round(session, principal, round_id)
        token = fields.get("token", "")
        sha256 = fields.get("file_sha256", "")
        mapping_text = fields.get("mapping_text", "") if kind == "responses" else ""
        file_name = fields.get("file_name", "")[:200]
        parts = _signature_parts(survey_round, token, sha256, mapping_text, file_name)
        kept = uploads.kept_path(token)
        if kept is None or not uploads.signed(
            request, principal, fields.get("signature", ""), flow.purpose, *parts
        ):
            return _choose_page(
                request,
                session,
                principal,
                survey_round,
                flow,
                lang=lang,
                status=400,
                problem="not_previewed",
            )
        with kept.open("rb") as stream:
            source = import_files.spool(stream, file_name)
            if source.sha256 != sha256:  # the kept file changed on disk: not the previewed one
                uploads.discard(token)
                return _choose_page(
                    request,
                    session,
                    principal,
                    survey_round,
                    flow,
                    lang=lang,
                    status=400,
                    problem="not_previewed",
                )
            try:
                report = _run(
                    session,
                    principal,
                    survey_round,
                    flow,
                    source,
                    mapping_text,
                    dry_run=False,
                    file_name=file_name,
                )
            except SurveyError as refused:
                # All or nothing: whatever the run flushed before it found a problem goes.
                session.rollback()
                found = getattr(refused, "report", None)
                if not isinstance(found, ImportReport) or refused.status_code >= 500:
                    raise
                return _report_page(
                    request,
                    session,
                    principal,
                    survey_round,
                    flow,
                    found,
                    lang=lang,
                    file_name=file_name,
                    status=refused.status_code,
                )
        uploads.discard(token)
        return render(
            request,
            "imports/imported.html",
            lang=lang,
            round=_read(session, survey_round),
            flow=flow,
            report=report,
            file_name=file_name,
        )

    return confirm


_add_routes(
    "POST",
    "/confirm",
    _confirm,
    {
        "responses": "(analyst) Import the previewed file of answers, all or nothing.",
        "tallies": "(analyst) Import the previewed file of answer counts, all or nothing.",
    },
)


# --- taking an import back -----------------------------------------------------------------------


@router.get("/{round_id}/imports/{import_id}/delete")
def delete_import_page(
    request: Request, session: SessionDep, principal: AdminStaff, round_id: str, import_id: str
) -> Response:
    """(admin) Are you sure? Every answer (or count) the file brought in goes."""
    survey_round = _round(session, principal, round_id)
    stored = responses_import.get_import(
        session, principal.organisation_id, survey_round.id, path_id(import_id, "import")
    )
    return render(
        request,
        "imports/delete.html",
        lang=page_language(request),
        round=_read(session, survey_round),
        item=_line(stored),
        csrf_token=principal.csrf_token,
    )


@router.post("/{round_id}/imports/{import_id}/delete")
def delete_import(
    request: Request,
    session: SessionDep,
    allowed: AdminStaff,
    principal: StaffPost,
    round_id: str,
    import_id: str,
    fields: Fields,
) -> Response:
    """(admin) Take the import back as a whole; the round's figures are computed again."""
    lang = page_language(request, fields.get("_lang"))
    survey_round = _round(session, principal, round_id)
    responses_import.delete_import(
        session, principal.organisation_id, survey_round.id, path_id(import_id, "import")
    )
    return redirect(lang.url(f"/console/rounds/{survey_round.id}", done="import_deleted"))
