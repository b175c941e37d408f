"""A round's results as flat rows for CSV and Excel: one row per figure, suppression kept.

Every row says which cell it belongs to (area or pooled group, optional breakdown group) and
what it measures; a suppressed cell's row has `suppressed` = 1 and every figure empty, the same
whatever its true n, exactly as in the API. `source` is the round's (collected, imported or
imported_tallies); `unavailable_reason` says why figures a round of answer counts cannot give
(composite indices, some multi-choice shares) are empty.
"""

from collections.abc import Iterator
from typing import Any

from survey_api.results.schemas import (
    CompositeCell,
    IndexFigure,
    IndicatorCell,
    ItemCell,
    MeanFigure,
    PooledMeanFigure,
    PooledShareFigure,
    RoundResults,
    ShareFigure,
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
    "source",
    "unavailable_reason",
]


Row = dict[str, Any]


def _share(figure: ShareFigure | PooledShareFigure | None) -> Row:
    if figure is None:
        return {}
    return dict(
        share=figure.p,
        share_low=figure.low,
        share_high=figure.high,
        low_precision=figure.low_precision,
    )


def _mean(figure: MeanFigure | PooledMeanFigure | None) -> Row:
    return (
        {} if figure is None else dict(mean=figure.mean, mean_low=figure.low, mean_high=figure.high)
    )


def _index(figure: IndexFigure | None) -> Row:
    return (
        {}
        if figure is None
        else dict(index=figure.index, index_low=figure.low, index_high=figure.high)
    )


def _row(
    base: Row,
    measure: str,
    key: str,
    suppressed: bool,
    figures: Row,
    unavailable: str | None = None,
) -> list[Any]:
    """A row in HEADER order; a suppressed cell's figures stay empty (an unavailable one's are
    null already)."""
    row = {
        **base,
        "measure": measure,
        "key": key,
        "suppressed": suppressed,
        "unavailable_reason": unavailable,
    }
    if not suppressed:
        row.update(figures)
    # Flags as 1/0, so every format and dialect writes them the same way.
    return [int(v) if isinstance(v, bool) else v for v in (row.get(c) for c in HEADER)]


def _item_rows(base: Row, key: str, cell: ItemCell) -> Iterator[list[Any]]:
    figures = dict(n=cell.n, non_substantive=cell.non_substantive)
    figures |= _share(cell.favourable) | _mean(cell.mean) | _index(cell.index)
    yield _row(base, "item", key, cell.suppressed, figures, cell.unavailable_reason)
    for option in cell.distribution or []:
        yield _row(
            {**base, "option_code": option.code},
            "option",
            key,
            False,
            dict(n=cell.n, count=option.count, share=option.share),
        )


def _indicator_row(base: Row, key: str, cell: IndicatorCell) -> list[Any]:
    count = None if cell.share is None else cell.share.x
    figures = dict(n=cell.n, count=count) | _share(cell.share)
    return _row(base, "indicator", key, cell.suppressed, figures, cell.unavailable_reason)


def _composite_row(base: Row, key: str, cell: CompositeCell) -> list[Any]:
    return _row(
        base,
        "index",
        key,
        cell.suppressed,
        dict(n=cell.n) | _index(cell.index),
        cell.unavailable_reason,
    )


def result_rows(results: RoundResults) -> Iterator[list[Any]]:
    """Rows in HEADER order: each area (and breakdown group), then each pooled group."""
    common = {
        **dict.fromkeys(HEADER),
        "period": results.period,
        "as_of": results.as_of.isoformat(),
        "source": results.source,
    }

    def grouped(base: Row, code: int) -> Row:
        return {**base, "breakdown_item": results.by, "breakdown_code": code}

    for area in results.areas:
        base = {**common, "level": "area", "area_code": area.code, "area_name": area.name}
        for item in area.items:
            yield from _item_rows(base, item.key, item)
            for item_group in item.breakdown or []:
                yield from _item_rows(grouped(base, item_group.code), item.key, item_group)
        for indicator in area.indicators:
            yield _indicator_row(base, indicator.key, indicator)
            for indicator_group in indicator.breakdown or []:
                yield _indicator_row(
                    grouped(base, indicator_group.code), indicator.key, indicator_group
                )
        for index in area.indices:
            yield _composite_row(base, index.key, index)
            for index_group in index.breakdown or []:
                yield _composite_row(grouped(base, index_group.code), index.key, index_group)
    for pool in results.pooled:
        base = {**common, "level": "pooled", "group": pool.group}
        for pooled_item in pool.items:
            figures = dict(n=pooled_item.n) | _share(pooled_item.favourable)
            figures |= _mean(pooled_item.mean) | _index(pooled_item.index)
            yield _row(
                {**base, "weighting": pooled_item.weighting},
                "item",
                pooled_item.key,
                pooled_item.suppressed,
                figures,
                pooled_item.unavailable_reason,
            )
        for pooled_indicator in pool.indicators:
            yield _row(
                {**base, "weighting": pooled_indicator.weighting},
                "indicator",
                pooled_indicator.key,
                pooled_indicator.suppressed,
                dict(n=pooled_indicator.n) | _share(pooled_indicator.share),
                pooled_indicator.unavailable_reason,
            )
        for pooled_index in pool.indices:
            yield _row(
                {**base, "weighting": pooled_index.weighting},
                "index",
                pooled_index.key,
                pooled_index.suppressed,
                dict(n=pooled_index.n) | _index(pooled_index.index),
                pooled_index.unavailable_reason,
            )
