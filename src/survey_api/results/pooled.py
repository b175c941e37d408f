"""Pooled groups: suppression-aware pooling of areas, group membership and pooled figures."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from survey_api.exceptions import ValidationFailed
from survey_api.models import POLICE_CLASSIFICATIONS
from survey_api.questionnaires.definition import (
    Index,
    Indicator,
    Item,
)
from survey_api.results.cells import Json, _index_map, _map_interval
from survey_api.results.loading import RoundData, _AreaStats
from survey_api.results.queries import AreaInfo
from survey_api.results.schemas import (
    Weighting,
)
from survey_api.results.statistics import (
    AreaCell,
    AreaMeanCell,
    PooledMean,
    PooledShare,
    pooled_mean,
    pooled_share,
)
from survey_api.results.suppression import (
    primary_suppressed,
)
from survey_api.results.targets import Target, _has_mean, _meta

GroupKind = Literal["organisation", "area_type", "police"]


@dataclass(frozen=True, slots=True)
class PooledShareResult:
    """A pooled share, or None when no pooled area has a shown cell (suppressed)."""

    share: PooledShare | None
    used: list[int]
    left_out: list[int]
    note: str | None
    #: Why the share cannot be computed (a round of answer counts only); share is then None.
    unavailable: str | None = None


@dataclass(frozen=True, slots=True)
class PooledMeanResult:
    """A pooled mean (of scores or composite values), or None when suppressed."""

    mean: PooledMean | None
    used: list[int]
    left_out: list[int]
    note: str | None
    #: Why the mean cannot be computed (a round of answer counts only); mean is then None.
    unavailable: str | None = None


def _pool_split(
    data: RoundData, area_ids: Sequence[int], target: Target
) -> tuple[list[_AreaStats], list[int], list[int]]:
    # Only areas whose own cell is shown take part: with a single hidden area in the pool,
    # pool − shown areas would reveal it, so hidden areas never contribute (DESIGN.md, Privacy).
    stats = data.area_stats(target)
    missing = [area_id for area_id in area_ids if area_id not in stats]
    if missing:
        raise ValueError(f"areas {missing} do not take part in round {data.survey_round.id}")
    minimum = data.min_cell
    cells: list[_AreaStats] = []
    used: list[int] = []
    left_out: list[int] = []
    for area_id in area_ids:
        area = stats[area_id]
        if primary_suppressed(area.n, minimum):
            left_out.append(area_id)
        else:
            used.append(area_id)
            cells.append(area)
    return cells, used, left_out


def _pool_note(note: str | None, left_out: int, total: int, min_cell: int) -> str | None:
    notes = [note] if note else []
    if left_out:
        notes.append(
            f"{left_out} of {total} areas left out: fewer than {min_cell} valid answers, "
            "so suppressed on their own."
        )
    return " ".join(notes) or None


def pooled_share_of(data: RoundData, area_ids: Sequence[int], target: Target) -> PooledShareResult:
    """A share pooled over areas (DESIGN.md, Pooled groups), from shown areas only."""
    reason = data.unavailable(target, area_ids)
    if reason is not None:
        return PooledShareResult(share=None, used=[], left_out=[], note=None, unavailable=reason)
    stats, used, left_out = _pool_split(data, area_ids, target)
    if not used:
        return PooledShareResult(share=None, used=[], left_out=left_out, note=None)
    share = pooled_share([AreaCell(households=a.households, x=a.x, n=a.n) for a in stats])
    return PooledShareResult(
        share=share,
        used=used,
        left_out=left_out,
        note=_pool_note(share.note, len(left_out), len(area_ids), data.min_cell),
    )


def pooled_mean_of(data: RoundData, area_ids: Sequence[int], target: Target) -> PooledMeanResult:
    """A mean pooled over areas (item scores or composite values in 0..1), shown areas only."""
    reason = data.unavailable(target, area_ids)
    if reason is not None:
        return PooledMeanResult(mean=None, used=[], left_out=[], note=None, unavailable=reason)
    stats, used, left_out = _pool_split(data, area_ids, target)
    if not used:
        return PooledMeanResult(mean=None, used=[], left_out=left_out, note=None)
    cells = []
    for area in stats:
        assert area.sums is not None
        cells.append(
            AreaMeanCell(
                households=area.households,
                n=area.sums.count,
                total=area.sums.total,
                total_sq=area.sums.total_sq,
            )
        )
    mean = pooled_mean(cells)
    return PooledMeanResult(
        mean=mean,
        used=used,
        left_out=left_out,
        note=_pool_note(mean.note, len(left_out), len(area_ids), data.min_cell),
    )


def _pooled_share_figure(share: PooledShare) -> Json:
    return dict(
        p=share.p,
        low=share.low,
        high=share.high,
        low_precision=share.low_precision,
    )


def _suppressed_pool(unavailable: str | None = None) -> dict[str, Any]:
    return {
        "suppressed": unavailable is None,
        "n": None,
        "areas": None,
        "weighting": None,
        "note": None,
        "unavailable_reason": unavailable,
    }


def _pool_fields(n: int, used: int, weighting: Weighting, note: str | None) -> dict[str, Any]:
    return {
        "suppressed": False,
        "n": n,
        "areas": used,
        "weighting": weighting,
        "note": note,
        "unavailable_reason": None,
    }


def _pooled_item(data: RoundData, item: Item, area_ids: Sequence[int]) -> Json:
    target = Target("item", item.key)
    favourable = mean = index = None
    base: dict[str, Any] = _suppressed_pool()
    if _has_mean(item):
        pooled = pooled_mean_of(data, area_ids, target)
        if pooled.mean is not None:
            m = pooled.mean
            mean = dict(mean=m.mean, low=m.low, high=m.high)
            linear = _index_map(data.definition, target)
            if linear is not None:
                value, low, high = _map_interval(linear, m.mean, m.low, m.high)
                index = dict(index=value, low=low, high=high)
            base = _pool_fields(m.n, len(pooled.used), m.weighting, pooled.note)
    if _meta(item).has_favourable:
        shared = pooled_share_of(data, area_ids, target)
        if shared.unavailable is not None:
            base = _suppressed_pool(shared.unavailable)
        elif shared.share is not None:
            favourable = _pooled_share_figure(shared.share)
            s = shared.share
            base = _pool_fields(s.n, len(shared.used), s.weighting, shared.note)
    return dict(key=item.key, kind=item.kind, favourable=favourable, mean=mean, index=index, **base)


def _pooled_indicator(data: RoundData, indicator: Indicator, area_ids: Sequence[int]) -> Json:
    pooled = pooled_share_of(data, area_ids, Target("indicator", indicator.key))
    if pooled.share is None:
        return dict(
            key=indicator.key,
            item=indicator.item,
            share=None,
            **_suppressed_pool(pooled.unavailable),
        )
    s = pooled.share
    return dict(
        key=indicator.key,
        item=indicator.item,
        share=_pooled_share_figure(s),
        **_pool_fields(s.n, len(pooled.used), s.weighting, pooled.note),
    )


def _pooled_composite(data: RoundData, index: Index, area_ids: Sequence[int]) -> Json:
    target = Target("index", index.key)
    pooled = pooled_mean_of(data, area_ids, target)
    if pooled.mean is None:
        return dict(
            key=index.key,
            orientation=index.orientation,
            index=None,
            **_suppressed_pool(pooled.unavailable),
        )
    m = pooled.mean
    linear = _index_map(data.definition, target)
    assert linear is not None
    value, low, high = _map_interval(linear, m.mean, m.low, m.high)
    return dict(
        key=index.key,
        orientation=index.orientation,
        index=dict(index=value, low=low, high=high),
        **_pool_fields(m.n, len(pooled.used), m.weighting, pooled.note),
    )


def parse_group(group: str) -> tuple[GroupKind, str | None]:
    """'organisation', 'area_type:<1-5>' or 'police:<classification>' -> (kind, value)."""
    if group == "organisation":
        return "organisation", None
    kind, _, value = group.partition(":")
    if kind == "area_type" and value in {"1", "2", "3", "4", "5"}:
        return "area_type", value
    if kind == "police" and value in POLICE_CLASSIFICATIONS:
        return "police", value
    raise ValidationFailed(
        f"group {group!r} is not 'organisation', 'area_type:<1-5>' or 'police:<"
        + "|".join(POLICE_CLASSIFICATIONS)
        + ">'",
        errors=[{"loc": ["query", "group"], "msg": "unknown group", "type": "group"}],
    )


def group_area_ids(areas: Sequence[AreaInfo], kind: GroupKind, value: str | None) -> list[int]:
    """The areas of a round in a group, by their classification for the round's year."""
    if kind == "organisation":
        return [area.id for area in areas]
    if kind == "area_type":
        return [area.id for area in areas if str(area.area_type) == value]
    return [area.id for area in areas if area.police_classification == value]


def _groups(areas: Sequence[AreaInfo]) -> list[tuple[str, GroupKind, str | None]]:
    groups: list[tuple[str, GroupKind, str | None]] = [("organisation", "organisation", None)]
    for area_type in sorted({a.area_type for a in areas if a.area_type is not None}):
        groups.append((f"area_type:{area_type}", "area_type", str(area_type)))
    present = {a.police_classification for a in areas}
    for police in POLICE_CLASSIFICATIONS:
        if police in present:
            groups.append((f"police:{police}", "police", police))
    return groups
