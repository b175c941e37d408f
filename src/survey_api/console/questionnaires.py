"""The console's Questionnaires section: versions, the comparability report, a tenant-form
preview, new drafts and publishing.

GET  /console/questionnaires                        questionnaires and their versions
GET  /console/questionnaires/new, POST              (analyst) new, from a standard or a JSON file
GET  /console/questionnaires/{id}                   its versions: status, published, rounds
POST /console/questionnaires/{id}/drafts            (analyst) a new draft from the latest version
GET  /console/questionnaires/{id}/versions/{n}      a version and its comparability report
POST .../versions/{n}/upload                        (analyst) replace a draft with a JSON file
GET  .../versions/{n}/publish, POST                 (analyst) publish, after the report
GET  .../versions/{n}/preview/{language}            the tenant form, read only

Every rule is the questionnaires service's (the API's): create_questionnaire, new_draft,
update_draft, publish and comparability_report. The preview draws the tenant form's own
templates and stylesheet (web/) under the tenant pages' CSP, without a form to send.
"""

import json
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse
from jinja2 import ChoiceLoader, Environment, PackageLoader
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from survey_api.console import i18n
from survey_api.console.auth import DefinerStaff, Fields, SessionDep, Staff, StaffPost
from survey_api.console.forms import all_pages, path_id
from survey_api.console.rendering import ConsoleRoute, PageLanguage, page_language, redirect, render
from survey_api.exceptions import Conflict, NotFound, ValidationFailed
from survey_api.models import Questionnaire, QuestionnaireVersion, SurveyRound
from survey_api.questionnaires import service as questionnaires_service
from survey_api.questionnaires.definition import load_standard_definition, standard_keys
from survey_api.questionnaires.schemas import ComparabilityReport, QuestionnaireRead
from survey_api.staff.service import StaffPrincipal
from survey_api.web import forms
from survey_api.web import i18n as web_i18n
from survey_api.web import rendering as web_rendering

router = APIRouter(prefix="/questionnaires", route_class=ConsoleRoute)

# A definition file larger than this is refused before parsing (the standard one is ~40 kB).
MAX_UPLOAD_BYTES = 1_000_000


def _questionnaire(session: Session, principal: StaffPrincipal, raw_id: str) -> Questionnaire:
    return questionnaires_service.get_questionnaire(
        session, principal.organisation_id, path_id(raw_id, "questionnaire")
    )


def _version(
    session: Session, principal: StaffPrincipal, raw_id: str, raw_number: str
) -> QuestionnaireVersion:
    return questionnaires_service.get_version(
        session,
        principal.organisation_id,
        path_id(raw_id, "questionnaire"),
        path_id(raw_number, "questionnaire"),
    )


def _name(names: dict[str, str], language: str, fallback: str) -> str:
    return names.get(language) or names.get("sv") or next(iter(names.values()), fallback)


def _rounds_per_version(session: Session, version_ids: list[int]) -> dict[int, int]:
    if not version_ids:
        return {}
    rows = session.execute(
        select(SurveyRound.questionnaire_version_id, func.count())
        .where(SurveyRound.questionnaire_version_id.in_(version_ids))
        .group_by(SurveyRound.questionnaire_version_id)
    )
    return {version_id: count for version_id, count in rows}


def _date(value: datetime | None) -> Any:
    return None if value is None else value.date()


@dataclass(frozen=True)
class VersionLine:
    """A version in a list."""

    number: int
    status: str
    created: Any
    published: Any
    rounds: int


def _lines(session: Session, read: QuestionnaireRead) -> list[VersionLine]:
    rounds = _rounds_per_version(session, [v.id for v in read.versions])
    return [
        VersionLine(
            number=v.number,
            status=v.status,
            created=_date(v.created_at),
            published=_date(v.published_at),
            rounds=rounds.get(v.id, 0),
        )
        for v in read.versions
    ]


def _all_questionnaires(session: Session, organisation_id: int) -> list[QuestionnaireRead]:
    return all_pages(
        lambda page: questionnaires_service.list_questionnaires(session, organisation_id, page),
        "/console/questionnaires",
    )


# --- list and questionnaire page -----------------------------------------------------------------


@router.get("")
def questionnaires_page(request: Request, session: SessionDep, principal: Staff) -> Response:
    """The organisation's questionnaires with every version: status, dates, rounds using it."""
    lang = page_language(request)
    listed = [
        (q, _name(q.name, lang.code, q.key), _lines(session, q))
        for q in _all_questionnaires(session, principal.organisation_id)
    ]
    return render(
        request,
        "questionnaires/list.html",
        lang=lang,
        questionnaires=listed,
        may_change=principal.role in ("admin", "analyst"),
    )


@router.get("/new")
def new_questionnaire_page(request: Request, principal: DefinerStaff) -> Response:
    """(analyst) Start a questionnaire from a standard questionnaire or a JSON file."""
    return _new_form(request, principal, lang=page_language(request))


def _new_form(
    request: Request,
    principal: StaffPrincipal,
    *,
    lang: PageLanguage,
    errors: list[tuple[str, str]] | None = None,
    general: str | None = None,
    action: str = "/console/questionnaires/new",
    version: QuestionnaireVersion | None = None,
    standard_invalid: bool = False,
) -> Response:
    return render(
        request,
        "questionnaires/new.html",
        lang=lang,
        status=422 if errors or general or standard_invalid else 200,
        csrf_token=principal.csrf_token,
        errors=errors or [],
        general=general,
        action=action,
        version=version,
        standards=[
            (key, _name(load_standard_definition(key).name, lang.code, key))
            for key in standard_keys()
        ],
        standard_invalid=standard_invalid,
    )


async def _uploaded(request: Request) -> bytes | None:
    """The uploaded definition file, or None when no file was chosen."""
    form = await request.form()
    upload = form.get("definition")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return None
    return await upload.read(MAX_UPLOAD_BYTES + 1)


Uploaded = Annotated[bytes | None, Depends(_uploaded)]


def _path(loc: list[Any]) -> str:
    """A located error's path as in the JSON file: items[3].favourable[1]."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + str(part)
    return text or "(the whole file)"


class UploadRefused(Exception):
    """A file that is not a definition, with the reasons as (path, message) pairs."""

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        self.errors = errors


def _read_upload(content: bytes | None) -> Any:
    if content is None or not content.strip():
        raise UploadRefused([("", "no_file")])
    if len(content) > MAX_UPLOAD_BYTES:
        raise UploadRefused([("", "too_large")])
    try:
        return json.loads(content.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise UploadRefused([("", "not_utf8")]) from None
    except json.JSONDecodeError as exc:
        raise UploadRefused(
            [(f"line {exc.lineno}, column {exc.colno}", f"not JSON: {exc.msg}")]
        ) from None


def _definition_errors(refused: ValidationFailed) -> list[tuple[str, str]]:
    return [
        (_path([p for p in list(e.get("loc", []))[1:]]), str(e.get("msg", "")))
        for e in refused.errors or []
    ] or [("", refused.detail)]


@router.post("/new")
def create_questionnaire(
    request: Request,
    session: SessionDep,
    allowed: DefinerStaff,
    principal: StaffPost,
    fields: Fields,
    content: Uploaded,
) -> Response:
    """(analyst) Create the questionnaire as draft version 1, or list what is wrong (nothing
    is stored then)."""
    lang = page_language(request, fields.get("_lang"))
    try:
        if fields.get("source") == "standard":
            # Without a choice (an older form), the trygghetsmätning, as before there were two.
            key = fields.get("standard") or standard_keys()[0]
            if key not in standard_keys():
                return _new_form(request, principal, lang=lang, standard_invalid=True)
            data: Any = load_standard_definition(key).to_json()
        else:
            data = _read_upload(content)
        created = questionnaires_service.create_questionnaire(
            session, principal.organisation_id, data
        )
    except UploadRefused as refused:
        return _new_form(request, principal, lang=lang, errors=refused.errors)
    except ValidationFailed as invalid:
        return _new_form(request, principal, lang=lang, errors=_definition_errors(invalid))
    except Conflict as conflict:
        return _new_form(request, principal, lang=lang, general=conflict.detail)
    return redirect(
        lang.url(f"/console/questionnaires/{created.questionnaire.id}/versions/1", done="created")
    )


@router.get("/{questionnaire_id}")
def questionnaire_page(
    request: Request, session: SessionDep, principal: Staff, questionnaire_id: str
) -> Response:
    """A questionnaire's versions, and a new draft from the latest one."""
    lang = page_language(request)
    q = _questionnaire(session, principal, questionnaire_id)
    read = questionnaires_service.read_questionnaire(session, q)
    return render(
        request,
        "questionnaires/questionnaire.html",
        lang=lang,
        questionnaire=read,
        name=_name(read.name, lang.code, read.key),
        versions=_lines(session, read),
        may_change=principal.role in ("admin", "analyst"),
        has_draft=bool(read.versions) and read.versions[-1].status == "draft",
        csrf_token=principal.csrf_token,
        notice=request.query_params.get("done"),
    )


@router.post("/{questionnaire_id}/drafts")
def new_draft(
    request: Request,
    session: SessionDep,
    allowed: DefinerStaff,
    principal: StaffPost,
    questionnaire_id: str,
    fields: Fields,
) -> Response:
    """(analyst) A new draft as a copy of the latest version (the API's create_draft)."""
    lang = page_language(request, fields.get("_lang"))
    q = _questionnaire(session, principal, questionnaire_id)
    draft = questionnaires_service.new_draft(session, principal.organisation_id, q.id)
    return redirect(
        lang.url(f"/console/questionnaires/{q.id}/versions/{draft.number}", done="drafted")
    )


# --- a version ---------------------------------------------------------------------------------


def _report(
    session: Session, principal: StaffPrincipal, version: QuestionnaireVersion
) -> ComparabilityReport:
    return questionnaires_service.comparability_report(
        session, principal.organisation_id, version.questionnaire_id, version.number
    )


def _version_context(
    session: Session, principal: StaffPrincipal, version: QuestionnaireVersion, lang: PageLanguage
) -> dict[str, Any]:
    definition = questionnaires_service.definition_of(version)
    q = session.get(Questionnaire, version.questionnaire_id)
    assert q is not None
    return {
        "questionnaire_id": version.questionnaire_id,
        "key": q.key,
        "name": _name(definition.name, lang.code, q.key),
        "version": version,
        "definition": definition,
        "published": _date(version.published_at),
        "rounds": _rounds_per_version(session, [version.id]).get(version.id, 0),
        "report": _report(session, principal, version),
        "item_texts": {
            item.key: _name(item.text, lang.code, item.key) for item in definition.items
        },
        "preview_languages": [web_i18n.language(code) for code in definition.languages],
        "may_change": principal.role in ("admin", "analyst"),
        "csrf_token": principal.csrf_token,
    }


@router.get("/{questionnaire_id}/versions/{number}")
def version_page(
    request: Request, session: SessionDep, principal: Staff, questionnaire_id: str, number: str
) -> Response:
    """A version: its languages and contents, previews, and which trends it keeps or breaks."""
    lang = page_language(request)
    version = _version(session, principal, questionnaire_id, number)
    return render(
        request,
        "questionnaires/version.html",
        lang=lang,
        notice=request.query_params.get("done"),
        **_version_context(session, principal, version, lang),
    )


@router.post("/{questionnaire_id}/versions/{number}/upload")
def upload_draft(
    request: Request,
    session: SessionDep,
    allowed: DefinerStaff,
    principal: StaffPost,
    questionnaire_id: str,
    number: str,
    fields: Fields,
    content: Uploaded,
) -> Response:
    """(analyst) Replace a draft's definition with a JSON file (the API's update_draft)."""
    lang = page_language(request, fields.get("_lang"))
    version = _version(session, principal, questionnaire_id, number)
    action = f"/console/questionnaires/{version.questionnaire_id}/versions/{version.number}/upload"
    try:
        data = _read_upload(content)
        questionnaires_service.update_draft(
            session, principal.organisation_id, version.questionnaire_id, version.number, data
        )
    except UploadRefused as refused:
        return _new_form(
            request, principal, lang=lang, errors=refused.errors, action=action, version=version
        )
    except ValidationFailed as invalid:
        return _new_form(
            request,
            principal,
            lang=lang,
            errors=_definition_errors(invalid),
            action=action,
            version=version,
        )
    return redirect(
        lang.url(
            f"/console/questionnaires/{version.questionnaire_id}/versions/{version.number}",
            done="uploaded",
        )
    )


@router.get("/{questionnaire_id}/versions/{number}/publish")
def publish_page(
    request: Request,
    session: SessionDep,
    principal: DefinerStaff,
    questionnaire_id: str,
    number: str,
) -> Response:
    """(analyst) Confirm publishing, with the comparability report first."""
    lang = page_language(request)
    version = _version(session, principal, questionnaire_id, number)
    if version.status != "draft":
        raise Conflict(f"version {version.number} is already published")
    return render(
        request,
        "questionnaires/publish.html",
        lang=lang,
        **_version_context(session, principal, version, lang),
    )


@router.post("/{questionnaire_id}/versions/{number}/publish")
def publish(
    request: Request,
    session: SessionDep,
    allowed: DefinerStaff,
    principal: StaffPost,
    questionnaire_id: str,
    number: str,
    fields: Fields,
) -> Response:
    """(analyst) Publish the draft (the API's publish): it becomes immutable."""
    lang = page_language(request, fields.get("_lang"))
    version = _version(session, principal, questionnaire_id, number)
    questionnaires_service.publish(
        session, principal.organisation_id, version.questionnaire_id, version.number
    )
    return redirect(
        lang.url(
            f"/console/questionnaires/{version.questionnaire_id}/versions/{version.number}",
            done="published",
        )
    )


# --- the preview -------------------------------------------------------------------------------


@cache
def _preview_environment(ui_language: str) -> Environment:
    """The tenant form's Jinja environment (its templates and catalogue) with this section's
    preview page on top, which extends the tenant base page and uses its field macros."""
    tenant = web_rendering.environment(ui_language)
    assert tenant.loader is not None
    return tenant.overlay(
        loader=ChoiceLoader([tenant.loader, PackageLoader("survey_api.console", "templates")])
    )


def _preview_step(raw: str | None, total: int) -> int:
    ok = raw is not None and raw.isascii() and raw.isdigit() and len(raw) < 5
    return min(max(int(raw) if ok and raw else 1, 1), total)


@router.get("/{questionnaire_id}/versions/{number}/preview/{language}")
def preview(
    request: Request,
    session: SessionDep,
    principal: Staff,
    questionnaire_id: str,
    number: str,
    language: str,
) -> Response:
    """The tenant form of a version in one of its languages, step by step, as tenants see it;
    nothing can be sent from it. Follow-up questions are all shown."""
    console_lang = page_language(request)
    version = _version(session, principal, questionnaire_id, number)
    definition = questionnaires_service.definition_of(version)
    if language not in definition.languages:
        raise NotFound(f"version {version.number} has no language {language!r}")
    pages = forms.pages_of(definition)
    step = _preview_step(request.query_params.get("step"), len(pages))
    tenant_language = web_i18n.language(language)
    base = f"/console/questionnaires/{version.questionnaire_id}/versions/{version.number}"
    items = pages[step - 1]
    section = definition.sections_by_key.get(items[0].section)
    html = (
        _preview_environment(tenant_language.ui_language)
        .get_template("questionnaires/preview.html")
        .render(
            lang=tenant_language,
            languages=[tenant_language],
            language_links=False,
            stylesheet=web_rendering.STYLESHEET_PATH,
            name=forms.label_of(definition, definition.name, language),
            intro=None
            if definition.intro is None or step != 1
            else forms.label_of(definition, definition.intro, language),
            title=forms.label_of(definition, section.title, language) if section else "",
            blocks=forms.blocks(definition, items, language, {}),
            number=step,
            total=len(pages),
            banner=_banner(version, console_lang, tenant_language.code),
            previous_url=console_lang.url(f"{base}/preview/{language}", step=str(step - 1))
            if step > 1
            else None,
            next_url=console_lang.url(f"{base}/preview/{language}", step=str(step + 1))
            if step < len(pages)
            else None,
            version_url=console_lang.url(base),
            others=[
                (web_i18n.language(code), console_lang.url(f"{base}/preview/{code}"))
                for code in definition.languages
                if code != language
            ],
        )
    )
    return web_rendering.security_headers(HTMLResponse(html))


@dataclass(frozen=True)
class Banner:
    """The preview's notice, in the console reader's language."""

    lang: str
    heading: str
    text: str
    follow_ups: str
    back: str
    other_languages: str
    previous: str
    next: str
    steps: str


def _banner(
    version: QuestionnaireVersion,
    lang: PageLanguage,
    shown: str,
) -> Banner:
    gettext = i18n.translations(lang.code).gettext
    return Banner(
        lang=lang.code,
        heading=gettext("Preview – nothing can be sent from this page"),
        text=gettext(
            "This is version %(number)s of the questionnaire as tenants see it in %(language)s."
        )
        % {"number": version.number, "language": web_i18n.language(shown).name},
        follow_ups=gettext(
            "Follow-up questions are all shown here; tenants see them only after the answer "
            "they depend on."
        ),
        back=gettext("Back to the version"),
        other_languages=gettext("Preview in another language"),
        previous=gettext("Previous step"),
        next=gettext("Next step"),
        steps=gettext("Steps of the preview"),
    )
