"""A round's results as flat rows for CSV and Excel: one row per figure, suppression kept.

Every row says which cell it belongs to (area or pooled group, optional breakdown group) and
what it measures; a suppressed cell's row has `suppressed` = 1 and every figure empty, the same
whatever its true n, exactly as in the API.
"""

from collections.abc import Iterator
from typing import Any

from survey_api.results.schemas import (
    CompositeCell,
    IndicatorCell,
    ItemCell,
    RoundResults,
)

HEADER = [
    "period",
    "level",
    "area_code",
    "area_name",
    "group",
    "breakdown_item",
    "breakdown_code",
    "measure",
    "key",
    "option_code",
    "suppressed",
    "n",
    "non_substantive",
    "count",
    "share",
    "share_low",
    "share_high",
    "low_precision",
    "mean",
    "mean_low",
    "mean_high",
    "index",
    "index_low",
    "index_high",
    "weighting",
    "as_of",
]


def _blank() -> dict[str, Any]:
    return dict.fromkeys(HEADER)


def _item_rows(base: dict[str, Any], key: str, cell: ItemCell) -> Iterator[dict[str, Any]]:
    row: dict[str, Any] = {**base, "measure": "item", "key": key, "suppressed": cell.suppressed}
    if not cell.suppressed:
        row.update(n=cell.n, non_substantive=cell.non_substantive)
        if cell.favourable is not None:
            row.update(
                share=cell.favourable.p,
                share_low=cell.favourable.low,
                share_high=cell.favourable.high,
                low_precision=cell.favourable.low_precision,
            )
        if cell.mean is not None:
            row.update(mean=cell.mean.mean, mean_low=cell.mean.low, mean_high=cell.mean.high)
        if cell.index is not None:
            row.update(index=cell.index.index, index_low=cell.index.low, index_high=cell.index.high)
    yield row
    for option in cell.distribution or []:
        yield {
            **base,
            "measure": "option",
            "key": key,
            "option_code": option.code,
            "suppressed": False,
            "n": cell.n,
            "count": option.count,
            "share": option.share,
        }


def _indicator_row(base: dict[str, Any], key: str, cell: IndicatorCell) -> dict[str, Any]:
    row = {**base, "measure": "indicator", "key": key, "suppressed": cell.suppressed}
    if not cell.suppressed and cell.share is not None:
        row.update(
            n=cell.n,
            count=cell.share.x,
            share=cell.share.p,
            share_low=cell.share.low,
            share_high=cell.share.high,
            low_precision=cell.share.low_precision,
        )
    return row


def _composite_row(base: dict[str, Any], key: str, cell: CompositeCell) -> dict[str, Any]:
    row = {**base, "measure": "index", "key": key, "suppressed": cell.suppressed}
    if not cell.suppressed and cell.index is not None:
        row.update(
            n=cell.n, index=cell.index.index, index_low=cell.index.low, index_high=cell.index.high
        )
    return row


def result_rows(results: RoundResults) -> Iterator[list[Any]]:
    """Rows in HEADER order: each area (and breakdown group), then each pooled group."""
    common: dict[str, Any] = {"period": results.period, "as_of": results.as_of.isoformat()}
    row: dict[str, Any]
    for area in results.areas:
        base = {
            **_blank(),
            **common,
            "level": "area",
            "area_code": area.code,
            "area_name": area.name,
        }
        for item in area.items:
            yield from _as_lists(_item_rows(base, item.key, item))
            for item_group in item.breakdown or []:
                grouped = {**base, "breakdown_item": results.by, "breakdown_code": item_group.code}
                yield from _as_lists(_item_rows(grouped, item.key, item_group))
        for indicator in area.indicators:
            yield _as_list(_indicator_row(base, indicator.key, indicator))
            for indicator_group in indicator.breakdown or []:
                grouped = {
                    **base,
                    "breakdown_item": results.by,
                    "breakdown_code": indicator_group.code,
                }
                yield _as_list(_indicator_row(grouped, indicator.key, indicator_group))
        for index in area.indices:
            yield _as_list(_composite_row(base, index.key, index))
            for index_group in index.breakdown or []:
                grouped = {**base, "breakdown_item": results.by, "breakdown_code": index_group.code}
                yield _as_list(_composite_row(grouped, index.key, index_group))
    for pool in results.pooled:
        base = {**_blank(), **common, "level": "pooled", "group": pool.group}
        for pooled_item in pool.items:
            row = {
                **base,
                "measure": "item",
                "key": pooled_item.key,
                "suppressed": pooled_item.suppressed,
                "weighting": pooled_item.weighting,
            }
            if not pooled_item.suppressed:
                row["n"] = pooled_item.n
                if pooled_item.favourable is not None:
                    row.update(
                        share=pooled_item.favourable.p,
                        share_low=pooled_item.favourable.low,
                        share_high=pooled_item.favourable.high,
                        low_precision=pooled_item.favourable.low_precision,
                    )
                if pooled_item.mean is not None:
                    row.update(
                        mean=pooled_item.mean.mean,
                        mean_low=pooled_item.mean.low,
                        mean_high=pooled_item.mean.high,
                    )
                if pooled_item.index is not None:
                    row.update(
                        index=pooled_item.index.index,
                        index_low=pooled_item.index.low,
                        index_high=pooled_item.index.high,
                    )
            yield _as_list(row)
        for pooled_indicator in pool.indicators:
            row = {
                **base,
                "measure": "indicator",
                "key": pooled_indicator.key,
                "suppressed": pooled_indicator.suppressed,
                "weighting": pooled_indicator.weighting,
            }
            if not pooled_indicator.suppressed and pooled_indicator.share is not None:
                row.update(
                    n=pooled_indicator.n,
                    share=pooled_indicator.share.p,
                    share_low=pooled_indicator.share.low,
                    share_high=pooled_indicator.share.high,
                    low_precision=pooled_indicator.share.low_precision,
                )
            yield _as_list(row)
        for pooled_index in pool.indices:
            row = {
                **base,
                "measure": "index",
                "key": pooled_index.key,
                "suppressed": pooled_index.suppressed,
                "weighting": pooled_index.weighting,
            }
            if not pooled_index.suppressed and pooled_index.index is not None:
                row.update(
                    n=pooled_index.n,
                    index=pooled_index.index.index,
                    index_low=pooled_index.index.low,
                    index_high=pooled_index.index.high,
                )
            yield _as_list(row)


def _as_list(row: dict[str, Any]) -> list[Any]:
    # Flags as 1/0, so every format and dialect writes them the same way.
    return [int(v) if isinstance(v, bool) else v for v in (row.get(c) for c in HEADER)]


def _as_lists(rows: Iterator[dict[str, Any]]) -> Iterator[list[Any]]:
    return (_as_list(row) for row in rows)
