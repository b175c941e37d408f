"""(admin) The console's settings and API keys, on the services the API and the CLI use.

GET  /console/settings                      minimum cell size, languages offered, letter senders,
                                            the benchmark opt-in with what it shares
POST /console/settings                      saved through OrganisationUpdate, as PATCH /organisation
GET  /console/keys                          the organisation's API keys (never a secret)
POST /console/keys                          a new key; its secret is shown on this answer, once
GET  /console/keys/{api_key_id}/revoke      "revoke this key?"
POST /console/keys/{api_key_id}/revoke      revoke it; it stops working on the next request

No rule lives here: the form is turned into the API's OrganisationUpdate and validated by it,
so the console refuses exactly what PATCH /api/v1/organisation refuses (a minimum cell size
below 5, no language, an empty sender), and the page names the field with the schema's limits.
"""

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Any

from annotated_types import Ge
from babel import Locale, UnknownLocaleError
from fastapi import APIRouter, Depends, Path, Request, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from survey_api.auth import service as auth_service
from survey_api.benchmarks.sharing import BENCHMARK_SHARING_TEXT
from survey_api.console.auth import AdminStaff, Fields, SessionDep, StaffPost
from survey_api.console.rendering import ConsoleRoute, PageLanguage, page_language, redirect, render
from survey_api.exceptions import BadRequest
from survey_api.ids import MAX_ID
from survey_api.models import ROLES, ApiKey, Organisation
from survey_api.organisations import service as organisations_service
from survey_api.organisations.schemas import OrganisationUpdate
from survey_api.paging import MAX_LIMIT, PageRequest
from survey_api.questionnaires import service as questionnaires_service
from survey_api.rounds import service as rounds_service
from survey_api.web import i18n as web_i18n

router = APIRouter(route_class=ConsoleRoute)

# Letters are printed in the tenant form's catalogue languages (sv, en, ar); a letter text of
# another language, set through the API, is kept as it is.
LETTER_FIELDS = ("sender", "contact", "privacy")
_INTEGER = re.compile(r"^[+-]?[0-9]{1,9}$")


def _lowest_min_cell_size() -> int:
    """The lowest minimum cell size the API's schema accepts, for the page's explanation."""
    for rule in OrganisationUpdate.model_fields["min_cell_size"].metadata:
        if isinstance(rule, Ge) and isinstance(rule.ge, int):
            return rule.ge
    raise LookupError("OrganisationUpdate.min_cell_size has no lower bound")


@dataclass(frozen=True)
class FieldError:
    """A refused field: its form id, the schema's error type and limit, and its message."""

    field: str
    kind: str
    limit: int | None
    message: str


@dataclass(frozen=True)
class LanguageChoice:
    """A language the tenant form can offer, named in the page's language and its own."""

    code: str
    name: str
    own_name: str
    own_direction: str
    checked: bool


async def form_lists(request: Request) -> dict[str, list[str]]:
    """Every posted value of each name (checkboxes send one value per box)."""
    form: FormData = await request.form()
    return {name: [v for v in form.getlist(name) if isinstance(v, str)] for name in form}


FormLists = Annotated[dict[str, list[str]], Depends(form_lists)]


def _name_in(code: str, ui: str) -> str:
    try:
        name = Locale.parse(code, sep="-").get_display_name(ui) or code
    except (UnknownLocaleError, ValueError):
        return code
    return name[:1].upper() + name[1:]


def _questionnaire_languages(session: Session, organisation_id: int) -> list[str]:
    """The languages of the organisation's questionnaire versions, in their order."""
    page = questionnaires_service.list_questionnaires(
        session, organisation_id, PageRequest(limit=MAX_LIMIT, offset=0, path="/console/settings")
    )
    found: list[str] = []
    for questionnaire in page.items:
        for summary in questionnaire.versions:
            version = questionnaires_service.get_version_by_id(session, organisation_id, summary.id)
            found.extend(str(code) for code in version.definition.get("languages", []))
    return list(dict.fromkeys(found))


def _language_choices(
    session: Session, organisation: Organisation, lang: PageLanguage, checked: list[str]
) -> list[LanguageChoice]:
    codes = dict.fromkeys(
        [
            *_questionnaire_languages(session, organisation.id),
            *web_i18n.catalogue_languages(),
            *(organisation.languages or []),
        ]
    )
    choices = []
    for code in codes:
        own = web_i18n.language(code)
        choices.append(
            LanguageChoice(
                code=code,
                name=_name_in(code, lang.code),
                own_name=own.name,
                own_direction=own.direction,
                checked=code in checked,
            )
        )
    return choices


def _letter_languages(lang: PageLanguage) -> list[LanguageChoice]:
    return [
        LanguageChoice(
            code=code,
            name=_name_in(code, lang.code),
            own_name=web_i18n.language(code).name,
            own_direction=web_i18n.language(code).direction,
            checked=False,
        )
        for code in web_i18n.catalogue_languages()
    ]


def _stored_form(organisation: Organisation) -> dict[str, Any]:
    """The form's fields as the organisation has them now."""
    values: dict[str, Any] = {
        "min_cell_size": str(organisation.min_cell_size),
        "languages_mode": "all" if organisation.languages is None else "chosen",
        "languages": list(organisation.languages or []),
        "benchmark_opt_in": organisation.benchmark_opt_in,
    }
    texts = organisation.letter_texts or {}
    for code in web_i18n.catalogue_languages():
        text = texts.get(code) or {}
        for part in LETTER_FIELDS:
            values[f"letter_{code}_{part}"] = text.get(part) or ""
    return values


def sharing_language(lang: PageLanguage) -> str:
    """The language the benchmark's sharing text is shown in: the page's, else Swedish."""
    return lang.code if lang.code in BENCHMARK_SHARING_TEXT else "sv"


def _settings_page(
    request: Request,
    session: Session,
    organisation: Organisation,
    csrf_token: str,
    *,
    lang: PageLanguage,
    values: dict[str, Any],
    errors: list[FieldError] | None = None,
    saved: bool = False,
) -> Response:
    errors = errors or []
    return render(
        request,
        "settings.html",
        lang=lang,
        status=422 if errors else 200,
        organisation=organisation.name,
        csrf_token=csrf_token,
        values=values,
        languages=_language_choices(session, organisation, lang, values["languages"]),
        letter_languages=_letter_languages(lang),
        errors=errors,
        error_of={error.field: error for error in errors},
        lowest_min_cell_size=_lowest_min_cell_size(),
        # The text GET /organisation returns, in the page's language (Swedish otherwise).
        sharing_language=sharing_language(lang),
        sharing_text=BENCHMARK_SHARING_TEXT[sharing_language(lang)],
        saved=saved,
    )


@router.get("/settings")
def settings_page(request: Request, session: SessionDep, principal: AdminStaff) -> Response:
    """(admin) Minimum cell size, the languages offered and the letters' sender texts."""
    organisation = organisations_service.get_organisation(session, principal.organisation_id)
    return _settings_page(
        request,
        session,
        organisation,
        principal.csrf_token,
        lang=page_language(request),
        values=_stored_form(organisation),
        saved=request.query_params.get("saved") == "1",
    )


def _field_of(loc: tuple[int | str, ...]) -> str:
    """The form id of a schema location: ('letter_texts', 'sv', 'sender') is letter_sv_sender."""
    if loc[:1] == ("letter_texts",) and len(loc) >= 3:
        return f"letter_{loc[1]}_{loc[2]}"
    return str(loc[0]) if loc else "min_cell_size"


def _limit(ctx: dict[str, Any]) -> int | None:
    for name in ("ge", "le", "min_length", "max_length"):
        if isinstance(ctx.get(name), int):
            return int(ctx[name])
    return None


def _posted_update(
    organisation: Organisation, fields: dict[str, str], lists: dict[str, list[str]]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The form as the page shows it again, and as the API's JSON body would be."""
    values: dict[str, Any] = {
        "min_cell_size": fields.get("min_cell_size", "").strip(),
        "languages_mode": "all" if fields.get("languages_mode") == "all" else "chosen",
        "languages": lists.get("languages", []),
        "benchmark_opt_in": fields.get("benchmark_opt_in") == "1",
    }
    raw = values["min_cell_size"]
    body: dict[str, Any] = {
        # A form sends text; the API's strict schema takes the number the text spells.
        "min_cell_size": int(raw) if _INTEGER.fullmatch(raw) else raw,
        "languages": None if values["languages_mode"] == "all" else values["languages"],
        # An unticked box sends nothing: off, as PATCH {"benchmark_opt_in": false}.
        "benchmark_opt_in": values["benchmark_opt_in"],
    }
    # The API replaces letter_texts whole: keep the languages this form does not show.
    letters: dict[str, Any] = {
        code: text
        for code, text in (organisation.letter_texts or {}).items()
        if code not in web_i18n.catalogue_languages()
    }
    for code in web_i18n.catalogue_languages():
        parts = {part: fields.get(f"letter_{code}_{part}", "").strip() for part in LETTER_FIELDS}
        values.update({f"letter_{code}_{part}": text for part, text in parts.items()})
        # A language left empty gets the defaults (the organisation's name, the standard
        # privacy sentence); one with only a contact line still needs its sender.
        if any(parts.values()):
            letters[code] = {part: text or None for part, text in parts.items()}
            letters[code]["sender"] = parts["sender"]
    body["letter_texts"] = letters
    return values, body


@router.post("/settings")
def save_settings(
    request: Request,
    session: SessionDep,
    admin: AdminStaff,
    principal: StaffPost,
    fields: Fields,
    lists: FormLists,
) -> Response:
    """(admin) Save the settings through the API's schema and service (PATCH /organisation)."""
    lang = page_language(request, fields.get("_lang"))
    organisation = organisations_service.get_organisation(session, principal.organisation_id)
    values, body = _posted_update(organisation, fields, lists)
    try:
        update = OrganisationUpdate.model_validate(body)
        organisations_service.update_organisation(session, principal.organisation_id, update)
    except ValidationError as invalid:
        errors = [
            FieldError(
                field=_field_of(error["loc"]),
                kind=error["type"],
                limit=_limit(error.get("ctx") or {}),
                message=error["msg"],
            )
            for error in invalid.errors()
        ]
    except BadRequest as refused:
        errors = [FieldError(field="languages", kind="service", limit=None, message=refused.detail)]
    else:
        return redirect(lang.url("/console/settings", saved="1"))
    return _settings_page(
        request,
        session,
        organisation,
        principal.csrf_token,
        lang=lang,
        values=values,
        errors=errors,
    )


# --- API keys ---------------------------------------------------------------------------------

ApiKeyId = Annotated[int, Path(ge=1, le=MAX_ID)]


@dataclass(frozen=True)
class KeyRow:
    """A key as the list shows it: never its secret, only the first characters."""

    id: int
    name: str
    role: str
    prefix: str
    created: date
    revoked: date | None


def _swedish_date(moment: datetime) -> date:
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(rounds_service.SWEDEN).date()


def _key_rows(keys: list[ApiKey]) -> list[KeyRow]:
    return [
        KeyRow(
            id=key.id,
            name=key.name,
            role=key.role,
            prefix=key.prefix,
            created=_swedish_date(key.created_at),
            revoked=_swedish_date(key.revoked_at) if key.revoked_at else None,
        )
        for key in keys
    ]


def _keys_page(
    request: Request,
    session: Session,
    organisation_id: int,
    csrf_token: str,
    *,
    lang: PageLanguage,
    status: int = 200,
    name: str = "",
    role: str = "",
    error: str | None = None,
) -> Response:
    keys = _key_rows(auth_service.list_api_keys(session, organisation_id))
    revoked = request.query_params.get("revoked") if request.method == "GET" else None
    return render(
        request,
        "keys.html",
        lang=lang,
        status=status,
        keys=keys,
        roles=ROLES,
        csrf_token=csrf_token,
        name=name,
        role=role,
        error=error,
        max_name_length=auth_service.MAX_KEY_NAME_LENGTH,
        revoked=next((key for key in keys if str(key.id) == revoked), None),
    )


@router.get("/keys")
def keys_page(request: Request, session: SessionDep, principal: AdminStaff) -> Response:
    """(admin) The organisation's API keys: name, role, prefix, created, revoked."""
    return _keys_page(
        request,
        session,
        principal.organisation_id,
        principal.csrf_token,
        lang=page_language(request),
    )


@router.post("/keys")
def create_key(
    request: Request,
    session: SessionDep,
    admin: AdminStaff,
    principal: StaffPost,
    fields: Fields,
) -> Response:
    """(admin) Create a key (auth_service.create_api_key, as `survey-api keys create`); the
    secret is on this answer only, which is never stored (Cache-Control: no-store)."""
    lang = page_language(request, fields.get("_lang"))
    name, role = fields.get("name", ""), fields.get("role", "")
    organisation = organisations_service.get_organisation(session, principal.organisation_id)
    try:
        api_key, secret = auth_service.create_api_key(session, organisation, name=name, role=role)
    except auth_service.KeyNameInvalid:
        error = "name"
    except BadRequest:
        error = "role"
    else:
        return render(request, "keys_created.html", lang=lang, api_key=api_key, secret=secret)
    return _keys_page(
        request,
        session,
        principal.organisation_id,
        principal.csrf_token,
        lang=lang,
        status=422,
        name=name,
        role=role,
        error=error,
    )


@router.get("/keys/{api_key_id}/revoke")
def revoke_key_page(
    request: Request, session: SessionDep, principal: AdminStaff, api_key_id: ApiKeyId
) -> Response:
    """(admin) Ask before revoking a key."""
    api_key = auth_service.get_api_key(session, principal.organisation_id, api_key_id)
    return render(
        request,
        "keys_revoke.html",
        lang=page_language(request),
        api_key=api_key,
        csrf_token=principal.csrf_token,
    )


@router.post("/keys/{api_key_id}/revoke")
def revoke_key(
    request: Request,
    session: SessionDep,
    admin: AdminStaff,
    principal: StaffPost,
    api_key_id: ApiKeyId,
    fields: Fields,
) -> Response:
    """(admin) Revoke a key of this organisation; the API answers 401 to it from now on."""
    api_key = auth_service.get_api_key(session, principal.organisation_id, api_key_id)
    auth_service.revoke_api_key(session, api_key.id)
    lang = page_language(request, fields.get("_lang"))
    return redirect(lang.url("/console/keys", revoked=str(api_key.id)))
