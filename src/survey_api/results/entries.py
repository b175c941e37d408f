"""How a round's answers came in (invitation code, area link, API), and days of link bursts.

Area links (posters) can be answered more than once, and the tenant form only slows a single
client down (web/throttle.py). So the admin gets two things to judge link answers by: the
answers per way in for each area, to compare link answers with code answers, and a flag on
each day an area received an unusual burst of link answers.

Every count follows the small-cell rule (DESIGN.md, Privacy: "Every count that is shown per
area follows the same rule"): the three ways in of an area are a breakdown of its responses,
suppressed with the same primary and secondary rule as a results breakdown. A burst day is a
flag, never a count: it says only that the day's link answers reached the threshold below.
"""

import statistics
from collections import defaultdict
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from survey_api.models import Response
from survey_api.responses import pending
from survey_api.results.loading import min_cell_of
from survey_api.results.schemas import AreaEntries, RoundEntries
from survey_api.results.suppression import primary_suppressed, shown_count, suppress_breakdown
from survey_api.rounds import service as rounds_service

ENTRIES = ("code", "link", "api")
#: A day is a burst when an area's link answers that day reach this many times the area's
#: median per day over the round so far (days without any included) ...
BURST_FACTOR = 3
#: ... and at least this many (never fewer than the minimum cell size).
BURST_FLOOR = 10

BURST_RULE = (
    f"A day is flagged when an area's link answers that day reach {BURST_FACTOR} × the area's "
    f"median link answers per day over the round so far (days without answers included) and "
    f"at least max({BURST_FLOOR}, the minimum cell size). Counts per way in are suppressed like "
    "a breakdown of the area's responses."
)


def round_entries(session: Session, organisation_id: int, round_id: int) -> RoundEntries:
    """Answers per way in for each area of a round, and the days with link bursts."""
    survey_round = rounds_service.get_round(session, organisation_id, round_id)
    k = min_cell_of(session, organisation_id)
    counts: dict[int, dict[str, int]] = defaultdict(lambda: dict.fromkeys(ENTRIES, 0))
    link_days: dict[int, dict[date, int]] = defaultdict(dict)
    for area_id, entry, day, n in session.execute(
        select(Response.area_id, Response.entry, Response.submitted_date, func.count())
        .where(Response.survey_round_id == round_id)
        .group_by(Response.area_id, Response.entry, Response.submitted_date)
    ):
        counts[area_id][entry] += n
        if entry == "link":
            link_days[area_id][day] = n
    last_day = min(rounds_service.today(), survey_round.close_date)
    if survey_round.closed_at is not None:
        last_day = min(last_day, survey_round.closed_at.date())
    days = max(1, (last_day - survey_round.open_date).days + 1)
    threshold_floor = max(BURST_FLOOR, k)
    areas = []
    for area_id in rounds_service.area_ids_of(session, round_id):
        by_entry = counts[area_id]
        total = sum(by_entry.values())
        hidden = suppress_breakdown(total, by_entry, k)
        per_day = link_days[area_id]
        series = [per_day.get(survey_round.open_date + timedelta(days=d), 0) for d in range(days)]
        threshold = max(threshold_floor, BURST_FACTOR * statistics.median(series))
        areas.append(
            AreaEntries(
                area_id=area_id,
                suppressed=primary_suppressed(total, k),
                code=None if "code" in hidden else by_entry["code"],
                link=None if "link" in hidden else by_entry["link"],
                api=None if "api" in hidden else by_entry["api"],
                link_burst_days=sorted(day for day, n in per_day.items() if n >= threshold),
            )
        )
    return RoundEntries(
        survey_round_id=round_id,
        min_cell_size=k,
        pending=shown_count(pending.waiting_count(session, round_id), k),
        burst_rule=BURST_RULE,
        areas=areas,
    )
