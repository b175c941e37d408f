"""Difference-in-differences evaluation of an intervention (DESIGN.md, Intervention effect).

Treated areas are the intervention's; comparison areas are chosen by the caller or, by
default, the organisation's areas of the same area type with no intervention of the same
category. Before = the last round that closed before the start; after = the latest *closed*
round of the same period kind (yearly, half-year, quarterly, monthly) that opened on or after
the start — a half-year round is no "after" for a yearly series, and an open round's figures
still move — or, while none has closed, the latest open one, said so in the payload. Either
side can be asked for by period. Each side is a household-weighted pooled share over the
areas whose cells are shown, so suppression holds here too.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from survey_api.areas import service as areas_service
from survey_api.exceptions import Conflict, ValidationFailed
from survey_api.interventions import evaluation_survey
from survey_api.interventions import service as interventions_service
from survey_api.interventions.evaluation_schemas import (
    CAVEAT_EN,
    CAVEAT_SV,
    Estimate,
    EvaluationCell,
    InterventionEvaluation,
    PreTrend,
)
from survey_api.models import (
    Area,
    AreaClassification,
    Intervention,
    InterventionArea,
    SurveyRound,
)
from survey_api.questionnaires import service as questionnaires_service
from survey_api.results import service as results_service
from survey_api.results.service import Target
from survey_api.results.statistics import DiD, PooledShare, difference_in_differences
from survey_api.rounds import service as rounds_service
from survey_api.rounds.periods import PeriodKind
from survey_api.rounds.periods import bounds as _bounds
from survey_api.rounds.periods import kind as _kind

# The kind of round in English and Swedish (definite form), for the period note.
KIND_WORDS: dict[PeriodKind, tuple[str, str]] = {
    "year": ("yearly round", "årsmätningen"),
    "half": ("half-year round", "halvårsmätningen"),
    "quarter": ("quarterly round", "kvartalsmätningen"),
    "month": ("monthly round", "månadsmätningen"),
}


def evaluate(
    session: Session,
    organisation_id: int,
    intervention_id: int,
    *,
    target: Target,
    comparison_area_ids: Sequence[int] | None = None,
    before_period: str | None = None,
    after_period: str | None = None,
    questionnaire: str | None = None,
) -> InterventionEvaluation:
    """The four cells, the DiD estimate with its interval, the pre-trend and the caveat, all
    from the rounds of one survey (``questionnaire``, a key; default: see
    :func:`evaluation_survey.choose_survey`)."""
    intervention = interventions_service.get_intervention(session, organisation_id, intervention_id)
    treated = interventions_service.area_ids_of(session, [intervention.id])[intervention.id]
    if comparison_area_ids:
        areas_service.areas_by_ids(session, organisation_id, comparison_area_ids)
        comparison = sorted(set(comparison_area_ids) - set(treated))
        rule = "chosen by the caller"
    else:
        comparison, rule = _default_comparison(session, organisation_id, intervention, treated)
    if not comparison:
        raise Conflict(
            "no comparison areas: choose some with comparison_area_id, or register areas of the "
            "same area type without an intervention of this category"
        )

    def can_evaluate(rounds: Sequence[SurveyRound]) -> bool:
        try:
            _choose_rounds(rounds, intervention.start_date, target, before_period, after_period)
        except (Conflict, ValidationFailed):
            return False
        return True

    survey = evaluation_survey.choose_survey(
        session, organisation_id, target, questionnaire, treated, comparison, can_evaluate
    )
    rounds = evaluation_survey.comparable_rounds(survey.rounds, target)
    choice = _choose_rounds(rounds, intervention.start_date, target, before_period, after_period)
    b, a = choice.before, choice.after
    # Placebo rounds: the same kind as "before", earlier than it and closed before the start.
    before = [
        r
        for r in rounds
        if r.close_date < intervention.start_date
        and _kind(r.period) == _kind(b.period)
        and r.period < b.period
    ] + [b]
    cells: list[EvaluationCell] = []
    shares: dict[tuple[str, int], PooledShare | None] = {}
    for survey_round, when in [*((r, "earlier") for r in before[:-1]), (b, "before"), (a, "after")]:
        data = results_service.load_round(
            session,
            organisation_id,
            survey_round.id,
            measure_keys=_measure_keys(target, survey_round, session),
        )
        round_areas = {area.id for area in data.areas}
        for role, ids in (("treated", treated), ("comparison", comparison)):
            pooled = results_service.pooled_share_of(
                data, [i for i in ids if i in round_areas], target
            )
            shares[(role, survey_round.id)] = pooled.share
            cells.append(_cell(role, when, survey_round, pooled))
    did = _did(shares, b.id, a.id)
    unavailable = next((c for c in cells if c.unavailable_reason is not None), None)
    pre_trend = [
        PreTrend(from_period=p.period, to_period=q.period, estimate=_did(shares, p.id, q.id))
        for p, q in zip(before, before[1:], strict=False)
    ]
    return InterventionEvaluation(
        intervention_id=intervention.id,
        target="indicator" if target.kind == "indicator" else "item",
        key=target.key,
        treated_area_ids=treated,
        comparison_area_ids=comparison,
        comparison_rule=rule,
        before_period=b.period,
        after_period=a.period,
        questionnaire_key=survey.key,
        period_choice=choice.choice,
        period_note={
            lang: " ".join(part for part in (survey.note.get(lang), text) if part)
            for lang, text in choice.note.items()
        },
        cells=cells,
        did=did,
        pre_trend=pre_trend,
        interpretation=_interpretation(did, target, unavailable),
        caveat={"sv": CAVEAT_SV, "en": CAVEAT_EN},
    )


@dataclass(frozen=True)
class _Choice:
    before: SurveyRound
    after: SurveyRound
    choice: Literal["default", "requested"]
    note: dict[str, str]


def _choose_rounds(
    rounds: Sequence[SurveyRound],
    start: date,
    target: Target,
    before_period: str | None,
    after_period: str | None,
) -> _Choice:
    """Before and after rounds, by default or as asked for, and a sentence saying why."""
    what = f"{target.kind} '{target.key}'"
    notes_en: list[str] = []
    notes_sv: list[str] = []
    if before_period is not None:
        b = _requested(rounds, before_period, "before", what)
        if b.close_date >= start:
            raise _bad_period(
                "before",
                f"before period {before_period} is not before the intervention: its round "
                f"closes {b.close_date}, and the intervention started {start}",
            )
        notes_en.append(f"Before: {b.period}, as requested.")
        notes_sv.append(f"Före: {b.period}, enligt begäran.")
    else:
        before = [r for r in rounds if r.close_date < start]
        if not before:
            raise Conflict(
                f"an evaluation needs a round that closed before {start} and one that opened "
                f"on or after it with {what}"
            )
        b = before[-1]
        notes_en.append(
            f"Before: {b.period}, the last round that closed before the start ({start})."
        )
        notes_sv.append(
            f"Före: {b.period}, den sista mätomgången som stängde före starten ({start})."
        )
    kind = _kind(b.period)
    en_kind, sv_kind = KIND_WORDS[kind]
    if after_period is not None:
        a = _requested(rounds, after_period, "after", what)
        if _bounds(a.period)[0] <= _bounds(b.period)[1]:
            raise _bad_period(
                "after",
                f"after period {after_period} must come after before period {b.period}",
            )
        if a.open_date < start:
            raise _bad_period(
                "after",
                f"after period {after_period} is not after the intervention: its round opened "
                f"{a.open_date}, before the start {start}",
            )
        status = rounds_service.status_of(a)
        if status == "scheduled":
            raise _bad_period(
                "after",
                f"after period {after_period} has no answers yet: its round opens {a.open_date}",
            )
        still_open = status == "open"
        notes_en.append(
            f"After: {a.period}, as requested"
            + (" (still open: its figures may change)." if still_open else ".")
        )
        notes_sv.append(
            f"Efter: {a.period}, enligt begäran"
            + (" (fortfarande öppen: siffrorna kan ändras)." if still_open else ".")
        )
    else:
        after = [
            r
            for r in rounds
            if r.open_date >= start and _kind(r.period) == kind and r.period > b.period
        ]
        closed = [r for r in after if rounds_service.status_of(r) in ("closed", "historical")]
        opened = [r for r in after if rounds_service.status_of(r) == "open"]
        if closed:
            a = closed[-1]
            notes_en.append(f"After: {a.period}, the latest closed {en_kind} after the start.")
            notes_sv.append(f"Efter: {a.period}, den senaste stängda {sv_kind} efter starten.")
        elif opened:
            a = opened[-1]
            notes_en.append(
                f"After: {a.period}, still open: no {en_kind} after the start has closed yet, "
                "so its figures may change."
            )
            notes_sv.append(
                f"Efter: {a.period}, som fortfarande är öppen: ingen {sv_kind.removesuffix('en')} "
                "efter starten har stängt än, så siffrorna kan ändras."
            )
        else:
            raise Conflict(
                f"an evaluation needs a round that closed before {start} and a {en_kind} "
                f"(like {b.period}) that opened on or after it with {what}; ask for another "
                "pair with before= and after="
            )
    return _Choice(
        before=b,
        after=a,
        choice="default" if before_period is None and after_period is None else "requested",
        note={"sv": " ".join(notes_sv), "en": " ".join(notes_en)},
    )


def _requested(rounds: Sequence[SurveyRound], period: str, side: str, what: str) -> SurveyRound:
    """The latest round of the series with this period, or a 422 naming those that exist."""
    matching = [r for r in rounds if r.period == period]
    if not matching:
        known = ", ".join(dict.fromkeys(r.period for r in rounds))
        raise _bad_period(
            side, f"no survey round of yours with {what} has period {period} (there are: {known})"
        )
    return matching[-1]


def _bad_period(side: str, message: str) -> ValidationFailed:
    return ValidationFailed(
        message, errors=[{"loc": ["query", side], "msg": message, "type": "period"}]
    )


def _measure_keys(target: Target, survey_round: SurveyRound, session: Session) -> set[str]:
    definition = questionnaires_service.published_definition(
        session, survey_round.questionnaire_version_id
    )
    if target.kind == "indicator":
        indicator = next(i for i in definition.indicators if i.key == target.key)
        return {target.key, indicator.item}
    return {target.key}


def _default_comparison(
    session: Session, organisation_id: int, intervention: Intervention, treated: Sequence[int]
) -> tuple[list[int], str]:
    year = intervention.start_date.year
    types = _area_types(session, organisation_id, year)
    treated_types: set[int] = {t for a in treated if (t := types.get(a)) is not None}
    same_category = set(
        session.scalars(
            select(InterventionArea.area_id)
            .join(Intervention, Intervention.id == InterventionArea.intervention_id)
            .where(
                Intervention.organisation_id == organisation_id,
                Intervention.category == intervention.category,
            )
        )
    )
    comparison = sorted(
        a
        for a, t in types.items()
        if t is not None and t in treated_types and a not in same_category
    )
    kinds = ", ".join(str(t) for t in sorted(treated_types)) or "unknown"
    return comparison, (
        f"the organisation's areas of area type {kinds} (as classified for {year} or the latest "
        f"earlier year) with no intervention of category '{intervention.category}'"
    )


def _area_types(session: Session, organisation_id: int, year: int) -> dict[int, int | None]:
    """Each area's area type for `year`, else the latest earlier classification."""
    rows = session.execute(
        select(Area.id, AreaClassification.year, AreaClassification.area_type)
        .outerjoin(AreaClassification, AreaClassification.area_id == Area.id)
        .where(Area.organisation_id == organisation_id)
        .order_by(Area.id, AreaClassification.year)
    )
    types: dict[int, int | None] = {}
    for area_id, class_year, area_type in rows:
        types.setdefault(area_id, None)
        if class_year is not None and class_year <= year:
            types[area_id] = area_type
    return types


def _cell(
    role: str, when: str, survey_round: SurveyRound, pooled: results_service.PooledShareResult
) -> EvaluationCell:
    share = pooled.share
    return EvaluationCell.model_validate(
        {
            "role": role,
            "when": when,
            "survey_round_id": survey_round.id,
            "period": survey_round.period,
            "source": survey_round.source,
            "suppressed": share is None and pooled.unavailable is None,
            "n": None if share is None else share.n,
            "areas_used": pooled.used,
            "p": None if share is None else share.p,
            "low": None if share is None else share.low,
            "high": None if share is None else share.high,
            "weighting": None if share is None else share.weighting,
            "note": pooled.note,
            "unavailable_reason": pooled.unavailable,
        }
    )


def _did(
    shares: dict[tuple[str, int], PooledShare | None], before_id: int, after_id: int
) -> Estimate | None:
    cells = [
        shares.get((role, r)) for role in ("treated", "comparison") for r in (before_id, after_id)
    ]
    if any(c is None for c in cells):
        return None
    tb, ta, cb, ca = cells
    assert tb and ta and cb and ca
    result: DiD = difference_in_differences(tb, ta, cb, ca)
    return Estimate(
        estimate=result.estimate,
        se=result.se,
        low=result.low,
        high=result.high,
        significant=result.significant,
    )


def _interpretation(
    did: Estimate | None, target: Target, unavailable: EvaluationCell | None = None
) -> str:
    if did is None and unavailable is not None and unavailable.when != "earlier":
        return (
            f"No estimate: the share is unavailable in {unavailable.period} "
            f"({unavailable.unavailable_reason})"
        )
    if did is None:
        return "Too few answers in at least one of the four cells: no estimate is shown."
    what = "share" if target.kind == "indicator" else "favourable share"
    direction = "rose" if did.estimate > 0 else "fell"
    points = abs(did.estimate) * 100
    verdict = (
        "The interval excludes 0."
        if did.significant
        else "The interval includes 0: the data are consistent with no difference."
    )
    return (
        f"Relative to the comparison areas, the {what} in the treated areas {direction} by "
        f"{points:.1f} percentage points ({did.low * 100:+.1f} to {did.high * 100:+.1f}). {verdict}"
    )
