"""Trends: a target's series across rounds, its changes and where the series breaks."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy.orm import Session

from survey_api.areas import service as areas_service
from survey_api.exceptions import NotFound, ValidationFailed
from survey_api.models import utcnow
from survey_api.questionnaires import comparability
from survey_api.questionnaires import service as questionnaires_service
from survey_api.questionnaires.definition import QuestionnaireDefinition
from survey_api.results import queries
from survey_api.results.cells import _index_map, _map_change, _map_interval, area_mean, area_share
from survey_api.results.loading import RoundData, load_round, min_cell_of
from survey_api.results.pooled import (
    GroupKind,
    group_area_ids,
    parse_group,
    pooled_mean_of,
    pooled_share_of,
)
from survey_api.results.schemas import (
    ChangeFigure,
    Statistic,
    TrendBreak,
    TrendPoint,
    TrendSeries,
)
from survey_api.results.statistics import (
    Change,
    MeanEstimate,
    PooledMean,
    PooledShare,
    ShareEstimate,
    Z,
    change_from_pooled,
    newcombe,
    t_quantile,
)
from survey_api.results.targets import Target, statistic_of, target_signature
from survey_api.rounds import service as rounds_service

TREND_METHOD = (
    "Shares: the change against the previous point uses Newcombe's hybrid score interval (an "
    "area, or a group pooled unweighted); a household-weighted group uses Δ ± z·√(Var₁ + Var₂). "
    "Means and indices: Welch's difference (t quantile with Welch–Satterthwaite degrees of "
    "freedom) for an area, Δ ± z·√(Var₁ + Var₂) for a group; an index's change is the mean's "
    "change on the index scale. Rounds join a series only while the questionnaire versions "
    "agree on the item (kind, option codes, scores, favourable codes), an indicator's codes or "
    "an index's components; otherwise the series breaks and a new segment starts. Without "
    "`questionnaire`, the series spans every survey (questionnaire) whose rounds carry the "
    "target, in time order: by period, then the round's open date, close date and id, so two "
    "surveys' points are interleaved and can be read side by side. Every change is against "
    "the previous point of the same survey (a change between two periods of one survey, never "
    "between two surveys: their figures are independent samples taken in other seasons and "
    "survey contexts), and breaks are per survey too: each survey's first point starts a "
    "segment of its own, and a segment holds the points of one survey only. "
    "`questionnaire=<key>` keeps the series to one survey."
)


def welch_change(before: MeanEstimate, after: MeanEstimate) -> Change:
    """Δ = mean₂ − mean₁ with Welch's interval: Δ ± t(0.975, ν)·√(s₁²/n₁ + s₂²/n₂), where ν is
    the Welch–Satterthwaite degrees of freedom (fractional). Needs n ≥ 2 on both sides."""
    if before.sd is None or after.sd is None:
        raise ValueError("Welch's interval needs n >= 2 in both periods")
    va = before.sd**2 / before.n
    vb = after.sd**2 / after.n
    delta = after.mean - before.mean
    se = math.sqrt(va + vb)
    if se == 0.0:
        return Change(delta=delta, low=delta, high=delta, significant=delta != 0.0)
    df = (va + vb) ** 2 / (va**2 / (before.n - 1) + vb**2 / (after.n - 1))
    half = t_quantile(df) * se
    low, high = delta - half, delta + half
    return Change(delta=delta, low=low, high=high, significant=low > 0.0 or high < 0.0)


def _normal_change(before: PooledMean, after: PooledMean) -> Change:
    # Independent pooled estimates: Δ ± z·√(Var₁ + Var₂), as for weighted pooled shares.
    delta = after.mean - before.mean
    half = Z * math.sqrt((before.variance or 0.0) + (after.variance or 0.0))
    low, high = delta - half, delta + half
    return Change(delta=delta, low=low, high=high, significant=low > 0.0 or high < 0.0)


def _change_figure(change: Change, method: Literal["newcombe", "normal", "welch"]) -> ChangeFigure:
    return ChangeFigure(
        delta=change.delta,
        low=change.low,
        high=change.high,
        significant=change.significant,
        method=method,
    )


@dataclass
class _PointState:
    """What the next point's change is computed against."""

    share: ShareEstimate | None = None
    pooled_share: PooledShare | None = None
    mean: MeanEstimate | None = None
    pooled_mean: PooledMean | None = None


@dataclass
class _SurveyState:
    """One survey's place in a series: its last definition and target signature (where it
    breaks), its current segment and what its next point's change is against."""

    definition: QuestionnaireDefinition
    signature: tuple[Any, ...]
    segment: int
    previous: _PointState | None = None


def _suppressed_point(base: dict[str, Any], unavailable: str | None = None) -> TrendPoint:
    """A point without figures: suppressed, or (with a reason) unavailable in its round."""
    return TrendPoint(
        **base,
        unavailable_reason=unavailable,
        suppressed=unavailable is None,
        n=None,
        estimate=None,
        low=None,
        high=None,
        low_precision=None,
        areas=None,
        weighting=None,
        note=None,
        change=None,
    )


def _trend_point(
    data: RoundData,
    target: Target,
    statistic: Statistic,
    members: list[int] | None,
    area_id: int | None,
    previous: _PointState | None,
    base: dict[str, Any],
) -> tuple[TrendPoint, _PointState | None]:
    definition = data.definition
    where = members if members is not None else ([] if area_id is None else [area_id])
    reason = data.unavailable(target, where)
    if reason is not None:
        # The series goes on, but no change is computed across a point without figures.
        return _suppressed_point(base, reason), None
    if statistic in ("favourable_share", "indicator_share"):
        if members is None:
            assert area_id is not None
            share = area_share(definition, target, data.cell(area_id), data.min_cell)
            if share is None:
                return _suppressed_point(base), None
            change = None
            if previous is not None and previous.share is not None:
                old = previous.share
                change = _change_figure(newcombe(old.x, old.n, share.x, share.n), "newcombe")
            point = TrendPoint(
                **base,
                suppressed=False,
                n=share.n,
                estimate=share.p,
                low=share.low,
                high=share.high,
                low_precision=share.low_precision,
                areas=None,
                weighting=None,
                note=None,
                change=change,
            )
            return point, _PointState(share=share)
        pooled = pooled_share_of(data, members, target)
        if pooled.share is None:
            return _suppressed_point(base), None
        current = pooled.share
        change = None
        if previous is not None and previous.pooled_share is not None:
            method: Literal["newcombe", "normal"] = (
                "newcombe"
                if previous.pooled_share.weighting == current.weighting == "unweighted"
                else "normal"
            )
            change = _change_figure(change_from_pooled(previous.pooled_share, current), method)
        point = TrendPoint(
            **base,
            suppressed=False,
            n=current.n,
            estimate=current.p,
            low=current.low,
            high=current.high,
            low_precision=current.low_precision,
            areas=len(pooled.used),
            weighting=current.weighting,
            note=pooled.note,
            change=change,
        )
        return point, _PointState(pooled_share=current)

    linear = _index_map(definition, target) if statistic != "mean" else (1.0, 0.0)
    assert linear is not None
    if members is None:
        assert area_id is not None
        mean = area_mean(definition, target, data.cell(area_id), data.min_cell)
        if mean is None:
            return _suppressed_point(base), None
        change = None
        if previous is not None and previous.mean is not None:
            change = _change_figure(_map_change(linear, welch_change(previous.mean, mean)), "welch")
        value, low, high = _map_interval(linear, mean.mean, mean.low, mean.high)
        point = TrendPoint(
            **base,
            suppressed=False,
            n=mean.n,
            estimate=value,
            low=low,
            high=high,
            low_precision=None,
            areas=None,
            weighting=None,
            note=None,
            change=change,
        )
        return point, _PointState(mean=mean)
    pooled_m = pooled_mean_of(data, members, target)
    if pooled_m.mean is None:
        return _suppressed_point(base), None
    current_m = pooled_m.mean
    change = None
    if previous is not None and previous.pooled_mean is not None:
        change = _change_figure(
            _map_change(linear, _normal_change(previous.pooled_mean, current_m)), "normal"
        )
    value, low, high = _map_interval(linear, current_m.mean, current_m.low, current_m.high)
    point = TrendPoint(
        **base,
        suppressed=False,
        n=current_m.n,
        estimate=value,
        low=low,
        high=high,
        low_precision=None,
        areas=len(pooled_m.used),
        weighting=current_m.weighting,
        note=pooled_m.note,
        change=change,
    )
    return point, _PointState(pooled_mean=current_m)


def trend(
    session: Session,
    organisation_id: int,
    target: Target,
    *,
    area_id: int | None = None,
    group: str | None = None,
    questionnaire: str | None = None,
) -> TrendSeries:
    """The series of an area or a group across the organisation's rounds in time order (period,
    then open date, close date, round id), with each point's change against the previous point
    of the same survey and where each survey's series breaks; ``questionnaire`` (a key) keeps
    it to that survey's rounds."""
    if (area_id is None) == (group is None):
        raise ValidationFailed(
            "give exactly one of area_id and group",
            errors=[{"loc": ["query", "area_id"], "msg": "area_id or group", "type": "subject"}],
        )
    group_kind: GroupKind | None = None
    group_value: str | None = None
    if area_id is not None:
        areas_service.get_area(session, organisation_id, area_id)
    else:
        assert group is not None
        group_kind, group_value = parse_group(group)
    questionnaire_id = (
        None
        if questionnaire is None
        else rounds_service.questionnaire_by_key(session, organisation_id, questionnaire).id
    )
    min_cell = min_cell_of(session, organisation_id)
    rounds = queries.rounds_of_organisation(session, organisation_id, area_id=area_id)
    surveys = rounds_service.questionnaires_of_versions(
        session, {r.questionnaire_version_id for r in rounds}
    )
    if questionnaire_id is not None:
        rounds = [r for r in rounds if surveys[r.questionnaire_version_id].id == questionnaire_id]
    # Two surveys can share a period (a trygghetsmätning in spring, a kundenkät in autumn):
    # within a period, points come in time order (open date, close date, then id).
    rounds.sort(key=lambda r: (r.period, r.open_date, r.close_date, r.id))
    definitions = [
        (r, questionnaires_service.published_definition(session, r.questionnaire_version_id))
        for r in rounds
    ]
    if target.kind == "item" and any(
        (item := d.items_by_key.get(target.key)) is not None and item.kind == "text"
        for _, d in definitions
    ):
        raise ValidationFailed(
            f"item '{target.key}' is a free-text item; free text has no figures",
            errors=[{"loc": ["query", "item"], "msg": "text item", "type": "item"}],
        )
    relevant = [(r, d) for r, d in definitions if target.present_in(d)]
    if not relevant:
        raise NotFound(
            f"no survey round of yours has {target.kind} '{target.key}'"
            + ("" if area_id is None else f" for area {area_id}")
            + ("" if questionnaire is None else f" in questionnaire {questionnaire!r}")
        )
    # Refuse statistics a target cannot have before folding anything.
    if statistic_of(relevant[-1][1], target) is None:
        raise ValidationFailed(
            f"item '{target.key}' has no favourable codes and no scores, so it has no trend",
            errors=[{"loc": ["query", "item"], "msg": "no trend statistic", "type": "item"}],
        )

    points: list[TrendPoint] = []
    breaks: list[TrendBreak] = []
    as_of: datetime | None = None
    # Each survey is its own series: changes and breaks are within it (DESIGN.md: a change is
    # between two periods of the same item); segments are numbered across the whole series,
    # so points share a segment only when they are of one survey and comparable.
    states: dict[str, _SurveyState] = {}
    segments = 0
    for survey_round, definition in relevant:
        survey_key = surveys[survey_round.questionnaire_version_id].key
        statistic = statistic_of(definition, target)
        signature = target_signature(definition, target)
        state = states.get(survey_key)
        if state is None:
            state = states[survey_key] = _SurveyState(definition, signature, segments)
            segments += 1
        elif signature != state.signature:
            breaks.append(
                TrendBreak(
                    survey_round_id=survey_round.id,
                    period=survey_round.period,
                    reason=comparability.break_reason(
                        state.definition, definition, target.kind, target.key
                    ),
                )
            )
            state.segment, state.previous = segments, None
            segments += 1
        state.definition, state.signature = definition, signature
        if statistic is None:
            state.previous = None
            continue
        data = load_round(
            session, organisation_id, survey_round.id, targets=[target], min_cell=min_cell
        )
        members = None
        if group_kind is not None:
            members = group_area_ids(data.areas, group_kind, group_value)
            if not members:
                continue  # the group has no areas in this round: not part of the series
        as_of = data.as_of if as_of is None else min(as_of, data.as_of)
        base = {
            "survey_round_id": survey_round.id,
            "period": survey_round.period,
            "questionnaire_version_id": survey_round.questionnaire_version_id,
            "questionnaire_key": survey_key,
            "questionnaire_name": surveys[survey_round.questionnaire_version_id].name,
            "segment": state.segment,
            "source": survey_round.source,
            "statistic": statistic,
        }
        point, state.previous = _trend_point(
            data, target, statistic, members, area_id, state.previous, base
        )
        points.append(point)
    return TrendSeries(
        area_id=area_id,
        group=group,
        questionnaire=questionnaire,
        target=target.kind,
        key=target.key,
        as_of=as_of or utcnow(),
        min_cell_size=min_cell,
        points=points,
        breaks=breaks,
        method=TREND_METHOD,
    )
