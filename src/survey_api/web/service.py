"""The tenant form's flow: ways in, one step at a time, and the one-time submission.

Nothing here writes anything identifying (DESIGN.md, Privacy): a response is stored with its
round, area, language, channel and date only; the invitation is marked used and the form token
recorded as spent in tables with no link to it.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from survey_api.exceptions import Conflict, NotFound
from survey_api.invitations import service as invitations_service
from survey_api.models import SurveyRound
from survey_api.questionnaires import service as questionnaires_service
from survey_api.questionnaires.definition import QuestionnaireDefinition
from survey_api.responses import service as responses_service
from survey_api.rounds import service as rounds_service
from survey_api.web import forms, i18n, repository, tokens
from survey_api.web.throttle import Verdict

Fields = Mapping[str, Sequence[str]]

# Problems a tenant can meet, each shown as a friendly page in their language.
UNKNOWN_LINK = "unknown_link"
UNKNOWN_CODE = "unknown_code"
USED_CODE = "used_code"
CLOSED = "closed"
NOT_YET_OPEN = "not_yet_open"
EXPIRED = "expired"
ALREADY_SENT = "already_sent"
NO_FORM = "no_form"
LINKS_OFF = "links_off"
TOO_MANY = "too_many"
UNAVAILABLE = "unavailable"
SERVER_ERROR = "server_error"

PROBLEM_STATUS = {
    UNKNOWN_LINK: 404,
    UNKNOWN_CODE: 404,
    USED_CODE: 409,
    CLOSED: 410,
    NOT_YET_OPEN: 403,
    EXPIRED: 400,
    ALREADY_SENT: 409,
    NO_FORM: 404,
    LINKS_OFF: 410,
    TOO_MANY: 429,
    UNAVAILABLE: 503,
    SERVER_ERROR: 500,
}

# Codes are 12 characters from invitations.service.ALPHABET; anything else is not worth a query.
_MAX_CODE_LENGTH = 64


@dataclass
class View:
    """A page to render: template, language, the languages offered, and its data."""

    template: str
    language: str
    languages: Sequence[str]
    status: int = 200
    context: dict[str, Any] = field(default_factory=dict)
    # GET pages switch language with ?lang= links; pages answering a POST cannot.
    language_links: bool = True


@dataclass
class Redirect:
    """Answer with 303 See Other (post/redirect/get after sending)."""

    url: str


class TenantProblem(Exception):
    """Something a tenant must be told on a page of its own (closed round, used code…)."""

    def __init__(
        self,
        kind: str,
        *,
        language: str | None = None,
        languages: Sequence[str] | None = None,
        params: dict[str, Any] | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(kind)
        self.kind = kind
        self.status = PROBLEM_STATUS[kind]
        self.language = language
        self.languages = languages
        self.params = params or {}
        self.retry_after = retry_after


@dataclass
class FormContext:
    """A round being answered for one area, and the languages it is offered in."""

    survey_round: SurveyRound
    definition: QuestionnaireDefinition
    area_id: int
    languages: list[str]

    def pick_language(self, requested: str | None, accept_language: str | None) -> str:
        """The language to show: asked for, else from the browser, else the questionnaire's."""
        return i18n.negotiate(
            self.languages,
            requested=requested,
            accept_language=accept_language,
            default=self.definition.default_language,
        )


def _context(session: Session, round_id: int, area_id: int) -> FormContext:
    survey_round = repository.survey_round(session, round_id)
    if survey_round is None:
        raise TenantProblem(UNKNOWN_LINK)
    try:
        rounds_service.require_area(session, round_id, area_id)
    except NotFound:
        raise TenantProblem(UNKNOWN_LINK) from None
    definition = questionnaires_service.published_definition(
        session, survey_round.questionnaire_version_id
    )
    languages = i18n.offered_languages(
        definition.languages,
        repository.organisation_languages(session, survey_round.organisation_id),
    )
    return FormContext(survey_round, definition, area_id, languages)


def _require_open(ctx: FormContext, language: str) -> None:
    status = rounds_service.status_of(ctx.survey_round)
    if status == "open":
        return
    closed_on = ctx.survey_round.close_date
    if ctx.survey_round.closed_at is not None:
        closed_on = min(closed_on, ctx.survey_round.closed_at.date())
    raise TenantProblem(
        NOT_YET_OPEN if status == "scheduled" else CLOSED,
        language=language,
        languages=ctx.languages,
        params={
            "closed_on": closed_on,
            "opens_on": ctx.survey_round.open_date,
            "name": forms.label_of(ctx.definition, ctx.definition.name, language),
        },
    )


def _require_links_on(ctx: FormContext, language: str) -> None:
    if not ctx.survey_round.area_links_enabled:
        raise TenantProblem(LINKS_OFF, language=language, languages=ctx.languages)


LinkGate = Callable[[int], Verdict]


def _start_view(
    ctx: FormContext,
    language: str,
    signed_token: str,
    answers: forms.Answers | None = None,
) -> View:
    return View(
        template="start.html",
        language=language,
        languages=ctx.languages,
        context={
            "name": forms.label_of(ctx.definition, ctx.definition.name, language),
            "intro": (
                forms.label_of(ctx.definition, ctx.definition.intro, language)
                if ctx.definition.intro
                else ""
            ),
            "has_required": any(item.required for item in ctx.definition.items),
            "close_date": ctx.survey_round.close_date,
            "token": signed_token,
            "state": forms.encode_state(answers or {}),
        },
        # Language buttons in the form instead: a ?lang= link would lose the token.
        language_links=False,
    )


def start_from_area_link(
    session: Session, secret: str, slug: str, *, requested: str | None, accept_language: str | None
) -> View:
    """The start page behind a poster's area link."""
    ids = tokens.read_area_slug(secret, slug)
    if ids is None:
        raise TenantProblem(UNKNOWN_LINK)
    ctx = _context(session, *ids)
    language = ctx.pick_language(requested, accept_language)
    _require_open(ctx, language)
    _require_links_on(ctx, language)
    token = tokens.new_form_token(*ids, None)
    return _start_view(ctx, language, tokens.sign_form_token(secret, token))


def start_from_code(
    session: Session, secret: str, code: str, *, requested: str | None, accept_language: str | None
) -> View:
    """The start page for an invitation code; the code is only redeemed when answers are sent.

    Codes are looked up by their keyed hash across all rounds (each hash is unique), so an
    unknown code gives the same answer whatever exists elsewhere.
    """
    normalised = invitations_service.normalise_code(code)
    invitation = None
    if 0 < len(normalised) <= _MAX_CODE_LENGTH:
        invitation = repository.invitation_by_hash(
            session, invitations_service.hash_code(normalised, secret)
        )
    if invitation is None:
        raise TenantProblem(UNKNOWN_CODE)
    ctx = _context(session, invitation.survey_round_id, invitation.area_id)
    language = ctx.pick_language(requested, accept_language)
    _require_open(ctx, language)
    if invitation.used_date is not None:
        raise TenantProblem(USED_CODE, language=language, languages=ctx.languages)
    token = tokens.new_form_token(invitation.survey_round_id, invitation.area_id, normalised)
    return _start_view(ctx, language, tokens.sign_form_token(secret, token))


def code_page(
    *,
    requested: str | None,
    accept_language: str | None,
    error: forms.FieldError | None = None,
    value: str = "",
    language: str | None = None,
) -> View:
    """The page where a code from a letter is typed in."""
    languages = i18n.catalogue_languages()
    language = language or i18n.negotiate(
        languages, requested=requested, accept_language=accept_language, default="sv"
    )
    return View(
        template="code.html",
        language=language,
        languages=languages,
        status=200 if error is None else 422,
        context={"error": error, "value": value},
    )


CODE_MISSING = forms.N_("Enter the code from your letter.")
CODE_UNKNOWN = forms.N_(
    "We could not find this code. Check that you typed it exactly as on the letter."
)
CODE_USED = forms.N_("This code has already been used. Each code can be used once.")


def enter_code(
    session: Session,
    secret: str,
    code: str,
    *,
    requested: str | None,
    accept_language: str | None,
) -> View:
    """Check a typed code: the start page, or the code page again with the problem beside it."""
    language = i18n.negotiate(
        i18n.catalogue_languages(),
        requested=requested,
        accept_language=accept_language,
        default="sv",
    )
    shown = code.strip()[:_MAX_CODE_LENGTH]
    if not invitations_service.normalise_code(code):
        return code_page(
            requested=None,
            accept_language=None,
            error=forms.FieldError(CODE_MISSING),
            language=language,
        )
    try:
        # The interface language chosen on the code page carries over to the questionnaire.
        return start_from_code(
            session, secret, code, requested=language, accept_language=accept_language
        )
    except TenantProblem as problem:
        if problem.kind == UNKNOWN_CODE:
            message = CODE_UNKNOWN
        elif problem.kind == USED_CODE:
            message = CODE_USED
        else:
            raise
        return code_page(
            requested=None,
            accept_language=None,
            error=forms.FieldError(message),
            value=shown,
            language=language,
        )


# --- the steps ---------------------------------------------------------------------------------


def _first(fields: Fields, name: str) -> str | None:
    values = fields.get(name)
    return values[0] if values else None


def _step_view(
    ctx: FormContext,
    nav: forms.Navigator,
    *,
    secret_token: str,
    language: str,
    page: int,
    answers: forms.Answers,
    raw: Mapping[str, Sequence[str]] | None = None,
    errors: Mapping[str, forms.FieldError] | None = None,
) -> View:
    definition = ctx.definition
    items = forms.visible_on(definition, nav.pages[page], answers)
    blocks = forms.blocks(definition, items, language, answers, raw, errors)
    number, total = nav.progress(page, answers)
    section = definition.sections_by_key.get(items[0].section) if items else None
    return View(
        template="step.html",
        language=language,
        languages=ctx.languages,
        status=422 if errors else 200,
        context={
            "name": forms.label_of(definition, definition.name, language),
            "title": forms.label_of(definition, section.title, language) if section else "",
            "blocks": blocks,
            "errors": [item for block in blocks for item in block.items if item.error],
            "step": page,
            "number": number,
            "total": total,
            "last": nav.is_last(page, answers),
            "token": secret_token,
            "state": forms.encode_state(answers),
        },
        language_links=False,
    )


def _finish(
    session: Session,
    ctx: FormContext,
    token: tokens.FormToken,
    language: str,
    answers: forms.Answers,
    secret: str,
    link_gate: LinkGate,
) -> Redirect:
    """Spend the token, redeem the code and store the response, all in this one transaction."""
    today = rounds_service.today()
    if not repository.spend_token(session, token.spent_hash, today):
        raise TenantProblem(ALREADY_SENT, language=language, languages=ctx.languages)
    if token.code is not None:
        try:
            area_id = invitations_service.redeem(
                session, ctx.survey_round.id, token.code, secret=secret
            )
        except Conflict:
            raise TenantProblem(USED_CODE, language=language, languages=ctx.languages) from None
        except NotFound:
            raise TenantProblem(UNKNOWN_CODE, language=language, languages=ctx.languages) from None
        if area_id != ctx.area_id:  # impossible with a genuine token; refuse rather than guess
            raise TenantProblem(UNKNOWN_CODE, language=language)
        # Code answers wait for a batch, so nothing ties them to the redemption.
        responses_service.hold_code_answer(
            session,
            ctx.survey_round,
            ctx.definition,
            area_id=ctx.area_id,
            language=language,
            channel="web",
            answers=answers,
        )
    else:
        _require_links_on(ctx, language)
        verdict = link_gate(ctx.survey_round.id)
        if not verdict.allowed:  # the transaction rolls back: the form can be sent later
            raise TenantProblem(
                TOO_MANY,
                language=language,
                languages=ctx.languages,
                retry_after=verdict.retry_after,
            )
        responses_service.store(
            session,
            ctx.survey_round,
            ctx.definition,
            area_id=ctx.area_id,
            language=language,
            channel="web",
            entry="link",
            answers=answers,
        )
    return Redirect(f"/thanks?lang={language}")


def handle_step(
    session: Session,
    secret: str,
    fields: Fields,
    *,
    accept_language: str | None,
    link_gate: LinkGate,
) -> View | Redirect:
    """One POST of the form: start, next, back or another language; on the last page, send.

    ``link_gate`` counts an answer sent through an area link and says whether this client may
    send another one now (web/throttle.py)."""
    raw_token = _first(fields, "_token") or ""
    requested = _first(fields, "_lang")
    token = tokens.read_form_token(secret, raw_token)
    if token is None:
        raise TenantProblem(EXPIRED, language=_ui_language(requested, accept_language))
    ctx = _context(session, token.round_id, token.area_id)
    language = ctx.pick_language(requested, accept_language)
    _require_open(ctx, language)
    if repository.token_spent(session, token.spent_hash):
        raise TenantProblem(ALREADY_SENT, language=language, languages=ctx.languages)
    definition = ctx.definition
    nav = forms.Navigator(definition)
    try:
        state = forms.decode_state(definition, _first(fields, "_state"))
    except forms.InvalidState:
        raise TenantProblem(EXPIRED, language=language, languages=ctx.languages) from None
    answers = forms.prune_hidden(definition, state)
    action = _first(fields, "_action") or "next"
    step = _first(fields, "_step") or "start"
    page = int(step) if step.isdigit() and int(step) < len(nav.pages) else None

    if action.startswith("lang:"):
        new_language = action.removeprefix("lang:")
        if new_language in ctx.languages:
            language = new_language
    view_args: dict[str, Any] = {"secret_token": raw_token, "language": language}

    if page is None:  # the start page
        if action.startswith("lang:"):
            return _start_view(ctx, language, raw_token, answers)
        first = nav.next_page(-1, answers)
        if first is None:
            return _finish(session, ctx, token, language, answers, secret, link_gate)
        return _step_view(ctx, nav, page=first, answers=answers, **view_args)

    items = forms.visible_on(definition, nav.pages[page], answers)
    posted = forms.read_page(definition, items, fields, language)
    if action.startswith("lang:") or action == "back":
        # Keep what parses; nothing is checked until the tenant goes forward.
        kept = {k: v for k, v in posted.answers.items() if k not in posted.errors}
        answers = forms.merge(definition, answers, nav.pages[page], kept)
        if action == "back":
            previous = nav.previous_page(page, answers)
            if previous is None:
                return _start_view(ctx, language, raw_token, answers)
            return _step_view(ctx, nav, page=previous, answers=answers, **view_args)
        return _step_view(
            ctx, nav, page=page, answers=answers, raw=posted.raw, errors=None, **view_args
        )

    if posted.errors:
        return _step_view(
            ctx, nav, page=page, answers=answers, raw=posted.raw, errors=posted.errors, **view_args
        )
    answers = forms.merge(definition, answers, nav.pages[page], posted.answers)
    following = nav.next_page(page, answers)
    if following is not None:
        return _step_view(ctx, nav, page=following, answers=answers, **view_args)
    # Everything is checked again as the API would, in case the hidden state was tampered with.
    problems = responses_service.answer_errors(definition, language, answers, [])
    item_errors = {
        str(e["loc"][1]): forms.error_for(e["type"])
        for e in problems
        if len(e["loc"]) == 2 and e["loc"][0] == "answers" and e["loc"][1] in nav.page_of
    }
    if problems:
        if not item_errors:  # an unknown item or language: nothing the tenant can fix here
            raise TenantProblem(EXPIRED, language=language)
        bad_page = min(nav.page_of[key] for key in item_errors)
        return _step_view(ctx, nav, page=bad_page, answers=answers, errors=item_errors, **view_args)
    return _finish(session, ctx, token, language, answers, secret, link_gate)


def _ui_language(requested: str | None, accept_language: str | None) -> str:
    return i18n.negotiate(
        i18n.catalogue_languages(),
        requested=requested,
        accept_language=accept_language,
        default="sv",
    )


def thanks_page(*, requested: str | None, accept_language: str | None) -> View:
    """The thank-you page after a response was stored."""
    return View(
        template="message.html",
        language=_ui_language(requested, accept_language),
        languages=i18n.catalogue_languages(),
        context={"kind": "thanks"},
    )


def problem_view(
    problem: TenantProblem,
    *,
    requested: str | None,
    accept_language: str | None,
    language_links: bool = True,
) -> View:
    """The friendly page for a problem, in the tenant's language."""
    languages = list(problem.languages or i18n.catalogue_languages())
    language = problem.language
    if language is None or (requested and requested in languages):
        language = i18n.negotiate(
            languages,
            requested=requested,
            accept_language=accept_language,
            default="sv" if "sv" in languages else languages[0],
        )
    return View(
        template="message.html",
        language=language,
        languages=languages,
        status=problem.status,
        context={"kind": problem.kind, **problem.params},
        language_links=language_links,
    )
