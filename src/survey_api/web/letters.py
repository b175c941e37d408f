"""Printable invitation letters and the area links of a round, for analysts (under /api/v1).

Codes exist in plain text only in the response that issued them, so the letters are rendered
from codes the analyst posts back right after issuing them: one letter per household with the
round's introduction in the chosen languages, the code, and a QR code to ``/i/{code}``.
Nothing is stored, and the codes are never logged.
"""

from collections.abc import Iterator, Sequence
from datetime import date
from importlib import resources
from typing import Annotated, Any

import segno
from fastapi import APIRouter, Path, Request
from fastapi.responses import StreamingResponse
from markupsafe import Markup
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from survey_api.auth.dependencies import Analyst, SessionDep
from survey_api.config import Settings
from survey_api.exceptions import ValidationFailed, problem_responses
from survey_api.ids import MAX_ID
from survey_api.invitations import service as invitations_service
from survey_api.organisations import service as organisations_service
from survey_api.presentation import csp
from survey_api.questionnaires import service as questionnaires_service
from survey_api.questionnaires.definition import QuestionnaireDefinition
from survey_api.rounds import service as rounds_service
from survey_api.web import forms, i18n, repository, tokens
from survey_api.web.rendering import environment

router = APIRouter(prefix="/rounds/{round_id}", tags=["invitations"])
RoundId = Annotated[int, Path(description="The survey round's id.", ge=1, le=MAX_ID)]

MAX_LETTERS = 5000
YOUR_CODE = forms.N_("Your code")
LETTER_STYLE = resources.files("survey_api.web").joinpath("static", "letters.css").read_text()
# The letters are one self-contained file (saved and printed later), so the style is inline
# and allowed by its hash; there is still no script.
LETTERS_CSP = csp.inline_style_policy(LETTER_STYLE)


class InvitationLetters(BaseModel):
    """Codes just issued for this round, to print as letters, and the languages to print."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"codes": ["ACDE-FHJK-MNPQ", "RTUV-WXY3-4797"], "languages": ["sv", "ar"]}]
        },
    )

    codes: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        min_length=1,
        max_length=MAX_LETTERS,
        description="Codes as returned by issue_invitations; one letter is printed per code.",
    )
    languages: list[str] | None = Field(
        default=None,
        min_length=1,
        max_length=10,
        description="Languages of the letter text, in order; default: every language the "
        "round's form is offered in.",
    )


class AreaLink(BaseModel):
    """The address of a round's form for one area, for posters (anyone with it can answer)."""

    area_id: int
    url: str


class AreaLinks(BaseModel):
    """The area links of a round."""

    survey_round_id: int
    areas: list[AreaLink]


@router.post(
    "/invitations/letters",
    operation_id="render_invitation_letters",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"text/html": {"schema": {"type": "string"}}},
            "description": "Printable HTML, one letter (one printed page) per code.",
        },
        **problem_responses(401, 403, 404, 422),
    },
)
def render_invitation_letters(
    round_id: RoundId,
    body: InvitationLetters,
    principal: Analyst,
    session: SessionDep,
    request: Request,
) -> StreamingResponse:
    """Render printable invitation letters for codes of this round (HTML; print to paper or PDF)."""
    settings: Settings = request.app.state.settings
    letters = _prepare(session, principal.organisation_id, round_id, body, settings)
    response = StreamingResponse(letters, media_type="text/html; charset=utf-8")
    response.headers["Content-Security-Policy"] = LETTERS_CSP
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Disposition"] = f'inline; filename="letters-round-{round_id}.html"'
    return response


@router.get(
    "/area-links",
    operation_id="list_area_links",
    response_model=AreaLinks,
    responses=problem_responses(401, 403, 404),
)
def list_area_links(
    round_id: RoundId, principal: Analyst, session: SessionDep, request: Request
) -> AreaLinks:
    """The form's address for each area of the round, to print on posters."""
    settings: Settings = request.app.state.settings
    rounds_service.get_round(session, principal.organisation_id, round_id)
    return AreaLinks(
        survey_round_id=round_id,
        areas=[
            AreaLink(area_id=area_id, url=tokens.area_link(settings, round_id, area_id))
            for area_id in rounds_service.area_ids_of(session, round_id)
        ],
    )


def prepare_letters(
    session: Session,
    organisation_id: int,
    round_id: int,
    body: InvitationLetters,
    settings: Settings,
) -> Iterator[str]:
    """Check codes against the round, then the letters' HTML (the API's and the console's)."""
    return _prepare(session, organisation_id, round_id, body, settings)


def _prepare(
    session: Session,
    organisation_id: int,
    round_id: int,
    body: InvitationLetters,
    settings: Settings,
) -> Iterator[str]:
    """Check everything against the database, then return a generator that needs no session."""
    survey_round = rounds_service.get_round(session, organisation_id, round_id)
    definition = questionnaires_service.published_definition(
        session, survey_round.questionnaire_version_id
    )
    offered = i18n.offered_languages(
        definition.languages, repository.organisation_languages(session, organisation_id)
    )
    languages = list(dict.fromkeys(body.languages or offered))
    errors: list[dict[str, Any]] = [
        {
            "loc": ["body", "languages", i],
            "type": "unknown_language",
            "msg": f"language {lang!r} is not one of the questionnaire's: "
            f"{', '.join(definition.languages)}",
        }
        for i, lang in enumerate(languages)
        if lang not in definition.languages
    ]
    secret = settings.secret_key.get_secret_value()
    codes = [invitations_service.normalise_code(code) for code in body.codes]
    hashes = [invitations_service.hash_code(code, secret) for code in codes]
    found = repository.invitation_states(session, round_id, hashes)
    for i, code_hash in enumerate(hashes):
        invitation = found.get(code_hash)
        # The message never repeats the code: problem bodies may end up in logs.
        if invitation is None:
            errors.append(
                {
                    "loc": ["body", "codes", i],
                    "type": "unknown_code",
                    "msg": "not an invitation code of this survey round",
                }
            )
        elif invitation.used_date is not None:
            errors.append(
                {
                    "loc": ["body", "codes", i],
                    "type": "used_code",
                    "msg": "this code has already been used; a letter would be useless",
                }
            )
    if errors:
        raise ValidationFailed(
            f"{len(errors)} problem(s) with the letters request; nothing was rendered",
            errors=errors,
        )
    organisation = organisations_service.get_organisation(session, organisation_id)
    sender = Sender(organisation.name, organisation.letter_texts or {})
    return _render(definition, languages, codes, survey_round.close_date, settings, sender)


class Sender:
    """Who the letters are from, per language (organisation settings, `letter_texts`)."""

    def __init__(self, name: str, texts: dict[str, Any]) -> None:
        self.name = name
        self.texts = texts

    def lines(self, code: str) -> dict[str, str | None]:
        """Sender, contact line and privacy text for one language; the privacy text is None
        when the organisation has none, and the template prints the standard sentence."""
        text = self.texts.get(code) or {}
        return {
            "sender": text.get("sender") or self.name,
            "contact": text.get("contact"),
            "privacy": text.get("privacy"),
        }


def _texts(
    definition: QuestionnaireDefinition,
    languages: Sequence[str],
    close_date: date,
    base: str,
    sender: Sender,
) -> list[Markup]:
    """The letter's text in each language, rendered once for all letters."""
    sections: list[Markup] = []
    for code in languages:
        language = i18n.language(code)
        env = environment(language.ui_language)
        html = env.get_template("_letter_text.html").render(
            lang=language,
            name=forms.label_of(definition, definition.name, code),
            intro=forms.label_of(definition, definition.intro, code) if definition.intro else "",
            close_date=close_date,
            code_url=Markup('<bdi dir="ltr">%s</bdi>') % f"{base}/code",
            **sender.lines(code),
        )
        sections.append(Markup(html))
    return sections


def _render(
    definition: QuestionnaireDefinition,
    languages: Sequence[str],
    codes: Sequence[str],
    close_date: date,
    settings: Settings,
    sender: Sender,
) -> Iterator[str]:
    base = settings.public_base_url.rstrip("/")
    first = i18n.language(languages[0])
    texts = _texts(definition, languages, close_date, base, sender)
    env = environment(first.ui_language)

    def letters() -> Iterator[dict[str, Any]]:
        for code in codes:
            qr = segno.make(tokens.invitation_link(settings, code), error="m")
            svg = qr.svg_inline(scale=4, border=4, svgclass="qr", lineclass=None, omitsize=False)
            yield {
                "code": invitations_service.format_code(code),
                "qr": Markup(svg.replace("<svg ", '<svg aria-hidden="true" ', 1)),
            }

    code_label = Markup(" / ").join(
        Markup('<span lang="%s">%s</span>')
        % (code, i18n.translations(i18n.language(code).ui_language).gettext(YOUR_CODE))
        for code in languages
    )
    template = env.get_template("letters.html")
    yield from template.generate(
        lang=first,
        code_label=code_label,
        style=Markup(LETTER_STYLE),
        title=forms.label_of(definition, definition.name, first.code),
        texts=texts,
        letters=letters(),
    )
