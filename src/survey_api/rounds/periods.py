"""Periods of survey rounds (YYYY, YYYY-H1/H2, YYYY-Qn, YYYY-MM): their kind and first and last
day, so that periods of different kinds can be put in time order.

As text they do not sort in time order across kinds (``2026-Q1`` > ``2026-H2`` > ``2026-12``),
so anything that picks "the newest period" orders by :func:`newest_first` instead.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any, Literal

from sqlalchemy import ColumnElement, Integer, case, cast, func

__all__ = ["PeriodKind", "bounds", "kind", "newest_first", "newest_first_order"]

PeriodKind = Literal["year", "half", "quarter", "month"]


def kind(period: str) -> PeriodKind:
    """YYYY, YYYY-H1/H2, YYYY-Qn or YYYY-MM (rounds.schemas.PERIOD_PATTERN)."""
    rest = period[5:]
    if not rest:
        return "year"
    return "half" if rest[0] == "H" else "quarter" if rest[0] == "Q" else "month"


def bounds(period: str) -> tuple[date, date]:
    """A period's first and last day, so periods of different kinds can be ordered."""
    year, period_kind, rest = int(period[:4]), kind(period), period[5:]
    if period_kind == "year":
        first_month, months = 1, 12
    elif period_kind == "half":
        first_month, months = (1 if rest == "H1" else 7), 6
    elif period_kind == "quarter":
        first_month, months = 3 * int(rest[1:]) - 2, 3
    else:
        first_month, months = int(rest), 1
    end_month = first_month + months
    end = date(year + 1, 1, 1) if end_month > 12 else date(year, end_month, 1)
    return date(year, first_month, 1), end - timedelta(days=1)


def newest_first(periods: Iterable[str]) -> list[str]:
    """The periods newest first: by last day, then by first day (of two periods ending on the
    same day, the shorter, later-starting one is newer), then as text for a stable order."""
    return sorted(periods, key=lambda p: (bounds(p)[1], bounds(p)[0], p), reverse=True)


def newest_first_order(period: ColumnElement[str] | Any) -> list[ColumnElement[Any]]:
    """ORDER BY terms that put a period column newest first as :func:`newest_first` does: by
    the last month (year × 12 + month), then the first month, both descending, then the text.

    Plain substr/length/CASE, so SQLite and PostgreSQL order alike; periods are always written
    as rounds.schemas.PERIOD_PATTERN allows (checked on the way in).
    """
    year = cast(func.substr(period, 1, 4), Integer)
    marker = func.substr(period, 6, 1)
    number = cast(func.substr(period, 7, 1), Integer)  # H1/H2, Q1..Q4
    month = cast(func.substr(period, 6, 2), Integer)  # YYYY-MM
    last = case(
        (func.length(period) == 4, 12),
        (marker == "H", number * 6),
        (marker == "Q", number * 3),
        else_=month,
    )
    first = case(
        (func.length(period) == 4, 1),
        (marker == "H", number * 6 - 5),
        (marker == "Q", number * 3 - 2),
        else_=month,
    )
    return [(year * 12 + last).desc(), (year * 12 + first).desc(), period.desc()]
