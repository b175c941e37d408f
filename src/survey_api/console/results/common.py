"""What the Results pages share: the round and its questionnaire from the path, and the
round's share links as its page lists them."""

from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from survey_api.console.forms import path_id
from survey_api.models import SurveyRound
from survey_api.presentation import formatting
from survey_api.questionnaires import service as questionnaires_service
from survey_api.questionnaires.definition import QuestionnaireDefinition
from survey_api.reports import service as reports_service
from survey_api.results.schemas import ResponseFigures
from survey_api.rounds import service as rounds_service
from survey_api.staff.service import StaffPrincipal
from survey_api.timestamps import as_utc

DEFAULT_SHARE_DAYS = 30


def shown_responses(figures: ResponseFigures, lang: str) -> tuple[str | None, str | None]:
    """An area's responses and response rate as a page shows them: None when suppressed or
    unknown."""
    shown = not figures.suppressed
    return (
        formatting.number(figures.responses, lang)
        if shown and figures.responses is not None
        else None,
        formatting.percent(figures.response_rate, lang)
        if shown and figures.response_rate is not None
        else None,
    )


def round_of(session: Session, principal: StaffPrincipal, raw_id: str) -> SurveyRound:
    """The organisation's round; a missing, foreign or garbage id is the same NotFound."""
    return rounds_service.get_round(
        session, principal.organisation_id, path_id(raw_id, "survey round")
    )


def definition_of(session: Session, survey_round: SurveyRound) -> QuestionnaireDefinition:
    """The round's published questionnaire definition."""
    return questionnaires_service.published_definition(
        session, survey_round.questionnaire_version_id
    )


def survey_name(names: dict[str, str], lang: str) -> str:
    """A questionnaire's (survey's) name in the page's language (else Swedish, else any)."""
    return names.get(lang) or names.get("sv") or next(iter(names.values()), "")


@dataclass(frozen=True)
class ShareLinkRow:
    """A stored link as the round page lists it (never its URL, which was shown once)."""

    id: int
    area_name: str | None  # None: all areas
    language: str
    created: date
    expires_at: str
    status: str  # active, expired or revoked
    revoked: date | None


def share_link_rows(
    session: Session, organisation_id: int, round_id: int, names: dict[int, str]
) -> list[ShareLinkRow]:
    """The round\'s share links, newest first as the service lists them."""
    rows = []
    for link in reports_service.round_share_links(session, organisation_id, round_id):
        rows.append(
            ShareLinkRow(
                id=link.id,
                area_name=None if link.area_id is None else names.get(link.area_id, "–"),
                language=link.language,
                created=as_utc(link.created_at).date(),
                expires_at=as_utc(link.expires_at).strftime("%Y-%m-%d %H:%M"),
                status=reports_service.share_link_status(link),
                revoked=None if link.revoked_at is None else as_utc(link.revoked_at).date(),
            )
        )
    return rows
