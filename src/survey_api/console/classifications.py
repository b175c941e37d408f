"""The console's import of official area classifications, in two steps (a dry run, then the
import), under the Areas section's URLs.

GET  /console/areas/classifications/import, POST   (analyst) choose a file: the dry run
POST /console/areas/classifications/import/confirm (analyst) import exactly the previewed file

The same two steps as the areas import (console/areas.py), but a file of official
classifications may be as big as any import (max_import_bytes, 200 MB: a national DeSO table),
too big to carry through the browser. So, like the round imports (console/imports.py), the
previewed file is kept on the server under a random token (console/uploads.py) and the
confirmation carries only that token, the file's SHA-256 and its name, signed for this session
with the purpose "console-classification-import" (an areas or round-import preview cannot
confirm it). The plan check is the areas import's: the report must still be the one the preview
showed. The report is imports.classifications', which the API answers too.

The router has the Areas section's prefix; console/router.py includes it before the Areas
router, so these paths are tried before /console/areas/{area_id} and its subpaths.
"""

import hashlib
import hmac

from fastapi import APIRouter, Request, Response

from survey_api.console import uploads
from survey_api.console.areas import Uploaded
from survey_api.console.auth import DefinerStaff, Fields, SessionDep, StaffPost
from survey_api.console.rendering import ConsoleRoute, PageLanguage, page_language, render
from survey_api.exceptions import BadRequest, PayloadTooLarge
from survey_api.imports import classifications as classifications_import
from survey_api.imports import files as import_files
from survey_api.staff.service import StaffPrincipal

router = APIRouter(prefix="/areas", route_class=ConsoleRoute)

CLASSIFICATIONS_PURPOSE = "console-classification-import"


def _classifications_digest(report: classifications_import.ClassificationImportReport) -> str:
    """What the dry run showed (the changes and conflicts) as one value to compare."""
    shown = report.model_dump(mode="json", include={"changes", "conflicts", "replayed"})
    return hashlib.sha256(repr(shown).encode()).hexdigest()


def _classifications_parts(token: str, sha256: str, file_name: str) -> tuple[bytes, ...]:
    """What the confirmation's signature covers: the kept file's token, its SHA-256, its name."""
    return (token.encode(), sha256.encode(), file_name.encode())


def _classifications_page(
    request: Request,
    principal: StaffPrincipal,
    *,
    lang: PageLanguage,
    status: int = 200,
    problem: str | None = None,
) -> Response:
    return render(
        request,
        "areas/classifications_import.html",
        lang=lang,
        status=status,
        csrf_token=principal.csrf_token,
        problem=problem,
    )


def _classifications_report(
    request: Request,
    principal: StaffPrincipal,
    *,
    lang: PageLanguage,
    report: classifications_import.ClassificationImportReport,
    token: str = "",
    status: int = 200,
    changed: bool = False,
) -> Response:
    """The dry run's tables; with a token (the file is kept and importable), the signed
    confirmation form."""
    importable = bool(token) and not report.refused and not report.replayed
    parts = _classifications_parts(token, report.file_sha256, report.file_name)
    return render(
        request,
        "areas/classifications_preview.html",
        lang=lang,
        status=status,
        csrf_token=principal.csrf_token,
        report=report,
        importable=importable,
        token=token if importable else "",
        signature=(
            uploads.signature(request, principal, CLASSIFICATIONS_PURPOSE, *parts)
            if importable
            else ""
        ),
        plan=_classifications_digest(report),
        changed=changed,
    )


@router.get("/classifications/import")
def classifications_import_page(request: Request, principal: DefinerStaff) -> Response:
    """(analyst) Choose a file of official area classifications to check."""
    return _classifications_page(request, principal, lang=page_language(request))


@router.post("/classifications/import")
def preview_classifications_import(
    request: Request,
    session: SessionDep,
    allowed: DefinerStaff,
    principal: StaffPost,
    fields: Fields,
    upload: Uploaded,
) -> Response:
    """(analyst) The dry run: what the file would change, what it does not match, its
    conflicts and row problems; stores nothing but, when it can be imported, the file itself,
    kept on the server for the confirmation."""
    lang = page_language(request, fields.get("_lang"))
    if upload is None or upload.size == 0:
        return _classifications_page(request, principal, lang=lang, status=422, problem="no_file")
    try:
        source = import_files.spool(upload.file, upload.filename, upload.content_type)
        report = classifications_import.import_classifications(
            session, principal.organisation_id, source, dry_run=True
        )
    except (BadRequest, PayloadTooLarge) as refused:
        return _classifications_page(
            request, principal, lang=lang, status=refused.status_code, problem=refused.detail
        )
    importable = not report.refused and not report.replayed
    token = uploads.keep(source.stream) if importable else ""
    return _classifications_report(request, principal, lang=lang, report=report, token=token)


@router.post("/classifications/import/confirm")
def confirm_classifications_import(
    request: Request,
    session: SessionDep,
    allowed: DefinerStaff,
    principal: StaffPost,
    fields: Fields,
) -> Response:
    """(analyst) Import the previewed file, if it is that file, kept for this session, and its
    report is unchanged."""
    lang = page_language(request, fields.get("_lang"))
    token = fields.get("token", "")
    sha256 = fields.get("file_sha256", "")
    name = fields.get("filename", "")
    parts = _classifications_parts(token, sha256, name)
    if not uploads.signed(
        request, principal, fields.get("signature", ""), CLASSIFICATIONS_PURPOSE, *parts
    ):
        return _classifications_page(
            request, principal, lang=lang, status=400, problem="not_previewed"
        )
    kept = uploads.kept_path(token)
    if kept is None:
        # The kept file goes with its import: a second press of "Importera" finds the import.
        earlier = classifications_import.previous_import(session, principal.organisation_id, sha256)
        if earlier is None:  # swept after an hour unconfirmed
            return _classifications_page(
                request, principal, lang=lang, status=400, problem="not_previewed"
            )
        replayed = classifications_import.ClassificationImportReport.model_validate(
            earlier.summary
        ).model_copy(update={"dry_run": True, "replayed": True, "import_id": earlier.id})
        return _classifications_report(request, principal, lang=lang, report=replayed, status=409)
    with kept.open("rb") as stream:
        source = import_files.spool(stream, name)
        if source.sha256 != sha256:  # the kept file changed on disk: not the previewed one
            uploads.discard(token)
            return _classifications_page(
                request, principal, lang=lang, status=400, problem="not_previewed"
            )
        preview = classifications_import.import_classifications(
            session, principal.organisation_id, source, dry_run=True
        )
        if preview.refused or not hmac.compare_digest(
            _classifications_digest(preview), fields.get("plan", "")
        ):
            # The stored classifications changed since the dry run: show what the file does
            # now (still kept, so it can be imported as it now reads, unless it cannot).
            if preview.refused or preview.replayed:
                uploads.discard(token)
            return _classifications_report(
                request,
                principal,
                lang=lang,
                report=preview,
                token=token,
                status=409,
                changed=True,
            )
        report = classifications_import.import_classifications(
            session, principal.organisation_id, source, dry_run=False
        )
    uploads.discard(token)
    return render(request, "areas/classifications_imported.html", lang=lang, report=report)
