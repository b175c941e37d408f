"""An area's overview: one area, one period, every survey with a round there side by side.

A housing company runs several questionnaires (a trygghetsmätning, a kundenkät…) over the same
areas; this puts their key figures for one area and one period next to each other. Each round's
figures come from the round's own results payload limited to the area (:func:`round_payload`),
so they are, figure for figure, what ``GET /rounds/{id}/results`` shows for the area: the same
fold, the same suppression, the same payload cache.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from survey_api.areas import service as areas_service
from survey_api.exceptions import ValidationFailed
from survey_api.models import Questionnaire, QuestionnaireVersion, SurveyRound, SurveyRoundArea
from survey_api.questionnaires import service as questionnaires_service
from survey_api.questionnaires.definition import QuestionnaireDefinition
from survey_api.results import own_benchmark
from survey_api.results.loading import min_cell_of
from survey_api.results.overview_schemas import (
    OVERVIEW_METHOD,
    AreaOverview,
    OverviewBenchmark,
    OverviewIndex,
    OverviewIndicator,
    OverviewRound,
    OverviewSurvey,
)
from survey_api.results.payload import round_payload
from survey_api.results.schemas import AreaResults
from survey_api.results.targets import Target
from survey_api.rounds import periods
from survey_api.rounds import service as rounds_service
from survey_api.rounds.schemas import PERIOD_PATTERN

PERIOD_FORMATS = "YYYY, YYYY-H1/H2, YYYY-Q1..Q4 or YYYY-MM"


def check_period(period: str) -> str:
    """The period if it is written like a round's period; else ValidationFailed saying how."""
    if re.fullmatch(PERIOD_PATTERN, period) is None:
        raise ValidationFailed(
            f"period {period[:20]!r} is not a period: write it as {PERIOD_FORMATS} "
            "(e.g. 2026, 2026-H1, 2026-Q3, 2026-05)",
            errors=[{"loc": ["query", "period"], "msg": "not a period", "type": "period"}],
        )
    return period


def label_language(definition: QuestionnaireDefinition, language: str | None) -> str:
    """The language labels are given in: the one asked if the definition has it, else its
    default language."""
    if language is not None and language in definition.languages:
        return language
    return definition.default_language


def _label(text: dict[str, str], language: str, fallback: str, key: str) -> str:
    return text.get(language) or text.get(fallback) or key


def available_periods(session: Session, organisation_id: int, area_id: int) -> list[str]:
    """Every period in which a round of the organisation includes the area, newest first (by
    the period's last day, then its first: as text, 2026-Q1 would sort after 2026-12)."""
    return periods.newest_first(
        session.scalars(
            select(SurveyRound.period)
            .join(SurveyRoundArea, SurveyRoundArea.survey_round_id == SurveyRound.id)
            .where(
                SurveyRound.organisation_id == organisation_id,
                SurveyRoundArea.area_id == area_id,
            )
            .distinct()
        )
    )


@dataclass(frozen=True)
class _Version:
    questionnaire_id: int
    questionnaire_key: str
    number: int


def _rounds_in_period(
    session: Session, organisation_id: int, area_id: int, period: str
) -> list[SurveyRound]:
    return list(
        session.scalars(
            select(SurveyRound)
            .join(SurveyRoundArea, SurveyRoundArea.survey_round_id == SurveyRound.id)
            .where(
                SurveyRound.organisation_id == organisation_id,
                SurveyRoundArea.area_id == area_id,
                SurveyRound.period == period,
            )
            .order_by(SurveyRound.open_date, SurveyRound.id)
        )
    )


def _versions(session: Session, version_ids: Sequence[int]) -> dict[int, _Version]:
    """The rounds' questionnaire versions with their questionnaire, in one query."""
    if not version_ids:
        return {}
    rows = session.execute(
        select(
            QuestionnaireVersion.id,
            QuestionnaireVersion.number,
            Questionnaire.id,
            Questionnaire.key,
        )
        .join(Questionnaire, Questionnaire.id == QuestionnaireVersion.questionnaire_id)
        .where(QuestionnaireVersion.id.in_(set(version_ids)))
    )
    return {
        version_id: _Version(questionnaire_id, key, number)
        for version_id, number, questionnaire_id, key in rows
    }


def _round_overview(
    session: Session,
    organisation_id: int,
    area_id: int,
    survey_round: SurveyRound,
    definition: QuestionnaireDefinition,
    version_number: int,
    language: str,
    min_cell: int,
    benchmarks: dict[Target, dict[str, Any]],
) -> OverviewRound:
    # The round's own payload, limited to this area and to its indicators and indices (no
    # items): the figures are the round results' by construction, folding included.
    payload = round_payload(
        session,
        organisation_id,
        survey_round.id,
        area_ids=[area_id],
        items=[],
        indicators=[indicator.key for indicator in definition.indicators],
        indices=[index.key for index in definition.indices],
    )
    area = AreaResults.model_validate(payload["areas"][0])
    pending_hidden = payload["pending"] is None  # the round payload's own suppression
    default = definition.default_language
    indicator_labels = {
        i.key: _label(i.label, language, default, i.key) for i in definition.indicators
    }
    index_labels = {i.key: _label(i.label, language, default, i.key) for i in definition.indices}
    # The benchmark of the round's period for the area's own type and police class (its
    # classification for the round's year, as the payload gives it).
    found = own_benchmark.target_benchmarks(
        session,
        survey_round.period,
        definition,
        [Target("indicator", i.key) for i in definition.indicators]
        + [Target("index", i.key) for i in definition.indices],
        benchmarks,
    )

    def beside(kind: Literal["indicator", "index"], key: str) -> OverviewBenchmark:
        return own_benchmark.overview_benchmark(
            found[Target(kind, key)], area.area_type, area.police_classification
        )

    return OverviewRound(
        survey_round_id=survey_round.id,
        name=survey_round.name,
        period=survey_round.period,
        status=rounds_service.status_of(survey_round),
        source=payload["source"],
        open_date=survey_round.open_date,
        close_date=survey_round.close_date,
        questionnaire_version_id=survey_round.questionnaire_version_id,
        questionnaire_version_number=version_number,
        as_of=payload["as_of"],
        # Round-wide, and in a round of few areas a handful of waiting answers is a small cell.
        pending=None if pending_hidden else payload["pending"],
        pending_suppressed=pending_hidden,
        responses=area.responses,
        indicators=[
            OverviewIndicator(
                key=cell.key,
                label=indicator_labels[cell.key],
                item=cell.item,
                codes=cell.codes,
                suppressed=cell.suppressed,
                n=cell.n,
                share=cell.share,
                unavailable_reason=cell.unavailable_reason,
                benchmark=beside("indicator", cell.key),
            )
            for cell in area.indicators
        ],
        indices=[
            OverviewIndex(
                key=cell.key,
                label=index_labels[cell.key],
                orientation=cell.orientation,
                suppressed=cell.suppressed,
                n=cell.n,
                index=cell.index,
                unavailable_reason=cell.unavailable_reason,
                benchmark=beside("index", cell.key),
            )
            for cell in area.indices
        ],
    )


def area_overview(
    session: Session,
    organisation_id: int,
    area_id: int,
    period: str | None,
    *,
    language: str | None = None,
) -> AreaOverview:
    """One area's figures in one period, per survey (questionnaire) with a round there.

    404 for an area that is not the organisation's; 422 for a period not written like one.
    No round in the period includes the area: no surveys, and the periods that have one.
    Without a period, the newest of those (None only when no round includes the area).
    """
    area = areas_service.get_area(session, organisation_id, area_id)
    min_cell = min_cell_of(session, organisation_id)
    available = available_periods(session, organisation_id, area_id)
    if period is None:  # the newest period with a round that includes the area
        period = available[0] if available else None
    else:
        check_period(period)
    rounds = [] if period is None else _rounds_in_period(session, organisation_id, area_id, period)
    versions = _versions(session, [r.questionnaire_version_id for r in rounds])
    grouped: dict[int, list[SurveyRound]] = {}
    for survey_round in rounds:
        version = versions[survey_round.questionnaire_version_id]
        grouped.setdefault(version.questionnaire_id, []).append(survey_round)
    surveys: list[OverviewSurvey] = []
    benchmarks: dict[Target, dict[str, Any]] = {}  # of the period, shared by its rounds
    for questionnaire_rounds in grouped.values():
        definitions = {
            r.questionnaire_version_id: questionnaires_service.published_definition(
                session, r.questionnaire_version_id
            )
            for r in questionnaire_rounds
        }
        # The newest version in the period names the survey.
        newest = max(definitions, key=lambda version_id: versions[version_id].number)
        named_by = definitions[newest]
        survey_language = label_language(named_by, language)
        first = versions[questionnaire_rounds[0].questionnaire_version_id]
        surveys.append(
            OverviewSurvey(
                questionnaire_id=first.questionnaire_id,
                questionnaire_key=first.questionnaire_key,
                name=dict(named_by.name),
                default_language=named_by.default_language,
                label_language=survey_language,
                rounds=[
                    _round_overview(
                        session,
                        organisation_id,
                        area_id,
                        r,
                        definitions[r.questionnaire_version_id],
                        versions[r.questionnaire_version_id].number,
                        label_language(definitions[r.questionnaire_version_id], survey_language),
                        min_cell,
                        benchmarks,
                    )
                    for r in questionnaire_rounds
                ],
            )
        )
    surveys.sort(key=_survey_order)
    return AreaOverview(
        area_id=area.id,
        code=area.code,
        name=area.name,
        period=period,
        language=language,
        min_cell_size=min_cell,
        available_periods=available,
        surveys=surveys,
        method=OVERVIEW_METHOD,
    )


def _survey_order(survey: OverviewSurvey) -> tuple[Any, ...]:
    return (survey.questionnaire_key, survey.questionnaire_id)
