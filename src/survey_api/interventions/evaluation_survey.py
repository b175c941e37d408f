"""Which survey (questionnaire) an intervention evaluation keeps to.

A difference-in-differences never mixes surveys: its four cells would compare different
samples and contexts. When several surveys carry the measure (a kundenkät reusing a
trygghetsmätning item by key) and none is asked for, the default is the survey that can be
evaluated here with the most rounds (see :func:`choose_survey`), and the period note says so.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from survey_api.exceptions import NotFound, ValidationFailed
from survey_api.models import SurveyRound, SurveyRoundArea
from survey_api.questionnaires import service as questionnaires_service
from survey_api.questionnaires.definition import QuestionnaireDefinition
from survey_api.results import queries as results_queries
from survey_api.results import service as results_service
from survey_api.results.service import Target
from survey_api.rounds import service as rounds_service

Pairs = list[tuple[SurveyRound, QuestionnaireDefinition]]


@dataclass(frozen=True)
class Survey:
    """The survey an evaluation keeps to, its rounds carrying the target in period order, and
    a sentence saying which survey it is and why (empty when no other survey has rounds)."""

    key: str
    rounds: Pairs
    note: dict[str, str]


def choose_survey(
    session: Session,
    organisation_id: int,
    target: Target,
    questionnaire: str | None,
    treated: Sequence[int],
    comparison: Sequence[int],
    can_evaluate: Callable[[Sequence[SurveyRound]], bool],
) -> Survey:
    """The rounds of one survey that carry the target: the requested questionnaire's, else,
    when several surveys carry it, the one with the most usable rounds (comparable with its
    latest round, covering at least one treated and one comparison area) among the surveys
    whose usable rounds give a before and an after round (``can_evaluate``), ties to the one
    whose latest round is the latest (period, open date, close date, id). If no survey can be
    evaluated, the one with the most rounds carrying the target, so that the refusal which
    follows speaks of it."""
    rounds = results_queries.rounds_of_organisation(session, organisation_id)
    surveys = rounds_service.questionnaires_of_versions(
        session, {r.questionnaire_version_id for r in rounds}
    )
    several = len({q.key for q in surveys.values()}) > 1
    if questionnaire is not None:
        wanted = rounds_service.questionnaire_by_key(session, organisation_id, questionnaire).id
        rounds = [r for r in rounds if surveys[r.questionnaire_version_id].id == wanted]
    relevant = [
        (r, d)
        for r in rounds
        if target.present_in(
            d := questionnaires_service.published_definition(session, r.questionnaire_version_id)
        )
    ]
    if not relevant:
        raise NotFound(
            f"no survey round of yours has {target.kind} '{target.key}'"
            + ("" if questionnaire is None else f" in questionnaire {questionnaire!r}")
        )
    by_key: dict[str, Pairs] = {}
    names: dict[str, dict[str, str]] = {}
    for pair in relevant:
        survey = surveys[pair[0].questionnaire_version_id]
        by_key.setdefault(survey.key, []).append(pair)
        names[survey.key] = survey.name
    what_en = f"{target.kind} '{target.key}'"
    what_sv = f"{'indikatorn' if target.kind == 'indicator' else 'frågan'} {target.key}"
    if questionnaire is not None:
        return Survey(
            questionnaire,
            relevant,
            {
                "en": f"Survey: {_name(names[questionnaire], 'en', questionnaire)}, as requested.",
                "sv": f"Enkät: {_name(names[questionnaire], 'sv', questionnaire)}, enligt begäran.",
            },
        )
    if len(by_key) == 1:
        key = next(iter(by_key))
        note = {
            "en": f"Survey: {_name(names[key], 'en', key)}, the only survey with {what_en}.",
            "sv": f"Enkät: {_name(names[key], 'sv', key)}, den enda enkäten med {what_sv}.",
        }
        return Survey(key, relevant, note if several else {})

    areas = _round_areas(session, [r.id for r, _ in relevant])
    usable: dict[str, int] = {}
    for key, pairs in by_key.items():
        found = _usable(pairs, target, set(treated), set(comparison), areas)
        if found and can_evaluate(found):
            usable[key] = len(found)
    counts = usable or {key: len(pairs) for key, pairs in by_key.items()}

    def rank(key: str) -> tuple[int, tuple[str, date, date, int]]:
        return (counts[key], max(_when(r) for r, _ in by_key[key]))

    key = max(counts, key=rank)
    tied = sum(1 for k in counts if counts[k] == counts[key]) > 1
    others = sorted(k for k in by_key if k != key)
    unusable = [k for k in others if k not in usable] if usable else []

    def listed(keys: list[str], lang: str) -> str:
        return ", ".join(_name(names[k], lang, k) for k in keys)

    covering_en = " that cover the treated and the comparison areas" if usable else ""
    covering_sv = " som täcker de berörda områdena och jämförelseområdena" if usable else ""
    en = (
        f"Survey: {_name(names[key], 'en', key)}, the survey with the most rounds with {what_en}"
        f"{covering_en} ({counts[key]}"
        + ("; tied, and its latest round is the latest" if tied else "")
        + ")."
        + (
            f" {listed(unusable, 'en')} cannot give a round before and one after the start in "
            "these areas."
            if unusable
            else ""
        )
        + f" Rounds of {listed(others, 'en')} are left out: an evaluation never mixes surveys "
        "(choose another survey with questionnaire= or in the console)."
    )
    sv = (
        f"Enkät: {_name(names[key], 'sv', key)}, den enkät som har flest mätomgångar med "
        f"{what_sv}{covering_sv} ({counts[key]}"
        + ("; lika många, och dess senaste mätomgång är den senaste" if tied else "")
        + ")."
        + (
            f" {listed(unusable, 'sv')} kan inte ge en mätomgång före och en efter starten i de "
            "här områdena."
            if unusable
            else ""
        )
        + f" Mätomgångar i {listed(others, 'sv')} räknas inte med: en utvärdering blandar "
        "aldrig enkäter (välj en annan enkät med questionnaire= eller i konsolen)."
    )
    return Survey(key, by_key[key], {"en": en, "sv": sv})


def comparable_rounds(relevant: Pairs, target: Target) -> list[SurveyRound]:
    """The survey's rounds whose definition matches its latest one's (one series)."""
    if target.kind == "item":
        item = relevant[-1][1].item(target.key)
        if not item.favourable:
            raise ValidationFailed(
                f"item '{target.key}' has no favourable codes, so it has no share to evaluate",
                errors=[{"loc": ["query", "item"], "msg": "no favourable codes", "type": "item"}],
            )
    signature = results_service.target_signature(relevant[-1][1], target)
    return [r for r, d in relevant if results_service.target_signature(d, target) == signature]


def _usable(
    pairs: Pairs,
    target: Target,
    treated: set[int],
    comparison: set[int],
    areas: dict[int, set[int]],
) -> list[SurveyRound]:
    """A survey's comparable rounds that cover at least one treated and one comparison area."""
    try:
        rounds = comparable_rounds(pairs, target)
    except ValidationFailed:
        return []
    return [r for r in rounds if areas[r.id] & treated and areas[r.id] & comparison]


def _when(survey_round: SurveyRound) -> tuple[str, date, date, int]:
    """A round's place in time: period, then open date, close date and id."""
    return (survey_round.period, survey_round.open_date, survey_round.close_date, survey_round.id)


def _round_areas(session: Session, round_ids: Sequence[int]) -> dict[int, set[int]]:
    """Each round's areas."""
    found: dict[int, set[int]] = {round_id: set() for round_id in round_ids}
    rows = session.execute(
        select(SurveyRoundArea.survey_round_id, SurveyRoundArea.area_id).where(
            SurveyRoundArea.survey_round_id.in_(list(round_ids))
        )
    )
    for round_id, area_id in rows:
        found[round_id].add(area_id)
    return found


def _name(names: dict[str, str], lang: str, key: str) -> str:
    return names.get(lang) or names.get("sv") or next(iter(names.values()), key)
