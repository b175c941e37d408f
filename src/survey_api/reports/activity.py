"""Responses per day for a whole round (all areas), for the console overview's sparkline.

Privacy (DESIGN.md: "Every count that is shown per area follows the same rule, wherever it
appears: ... per-day activity"). A day is a cell of the round's responses: the days are a
breakdown of the round's total, suppressed with the same primary and secondary rule as a
results breakdown and as the answers per way in (results/entries.py): a day with fewer than the
minimum cell size k (0 included) shows only "fewer than k", and when one hidden day could be
derived from the total minus the shown ones, the next smallest day is hidden too. A day that
was hidden therefore looks the same whatever its true count.

Code answers wait in pending_response and join `response` in batches dated by the day the
batch was counted, not the day they were given (responses/pending.py), so the series counts
them on that day, and those still waiting are on no day yet: the page says both.
"""

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from survey_api.models import Response
from survey_api.responses import pending
from survey_api.results.loading import min_cell_of
from survey_api.results.suppression import suppress_breakdown
from survey_api.rounds import service as rounds_service

#: The sparkline shows at most this many days (the latest); longer rounds are rare.
MAX_DAYS = 120


@dataclass(frozen=True)
class Day:
    day: date
    responses: int | None  # None: suppressed ("fewer than k")


@dataclass(frozen=True)
class RoundActivity:
    survey_round_id: int
    min_cell_size: int
    days: list[Day]
    pending: int  # code answers on no day yet


def round_activity(session: Session, organisation_id: int, round_id: int) -> RoundActivity:
    """Responses per day from the round's opening to today (or its close), suppressed."""
    survey_round = rounds_service.get_round(session, organisation_id, round_id)
    k = min_cell_of(session, organisation_id)
    counts: dict[date, int] = {
        day: n
        for day, n in session.execute(
            select(Response.submitted_date, func.count())
            .where(Response.survey_round_id == round_id)
            .group_by(Response.submitted_date)
        )
    }
    last = min(rounds_service.today(), survey_round.close_date)
    if survey_round.closed_at is not None:
        last = min(last, survey_round.closed_at.date())
    first = max(survey_round.open_date, last - timedelta(days=MAX_DAYS - 1))
    span = [first + timedelta(days=d) for d in range(max(0, (last - first).days + 1))]
    by_day = {day: counts.get(day, 0) for day in span}
    # Answers dated outside the shown days (before a long round's window) still count in the
    # total, so that hiding works against the round's whole total.
    total = sum(counts.values())
    hidden = suppress_breakdown(total, by_day, k)
    return RoundActivity(
        survey_round_id=round_id,
        min_cell_size=k,
        days=[Day(day, None if day in hidden else n) for day, n in by_day.items()],
        pending=pending.waiting_count(session, round_id),
    )
