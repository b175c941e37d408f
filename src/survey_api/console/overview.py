"""The overview page's figures, taken from the services the API uses (nothing recounted here).

Open rounds come from the rounds service (the API's GET /rounds?status=open); responses and
response rates per area from the results service (GET /rounds/{id}/results): a suppressed area
has no number there, and the page shows "fewer than N" for it, the same whatever its true count.
Responses per day for the whole round come from reports/activity.py, suppressed day by day like
a breakdown (see there), and are drawn by presentation/charts.sparkline.
"""

from dataclasses import dataclass
from datetime import date

from markupsafe import Markup
from sqlalchemy.orm import Session

from survey_api.paging import MAX_LIMIT, PageRequest
from survey_api.presentation import charts
from survey_api.reports import activity
from survey_api.results import service as results_service
from survey_api.rounds import service as rounds_service


@dataclass(frozen=True)
class AreaFigures:
    """One area's line in an open round: its responses and rate, unless suppressed."""

    name: str
    suppressed: bool
    responses: int | None
    response_rate: float | None
    rate_base: str | None


@dataclass(frozen=True)
class OpenRound:
    """An open round as the overview shows it."""

    id: int
    name: str
    period: str
    close_date: date
    days_left: int  # calendar days after today until it closes (0: closes today)
    pending: int | None  # code answers waiting to join a batch; None below k (a small cell)
    min_cell_size: int
    areas: list[AreaFigures]
    days: list[activity.Day]  # responses per day, None where hidden

    def sparkline(self, label: str) -> Markup:
        """The days as an inline SVG with `label` as its accessible name."""
        return Markup(charts.sparkline([d.responses for d in self.days], label=label))

    @property
    def peak(self) -> activity.Day | None:
        """The day with the most responses among those shown (the latest of equals)."""
        shown = [d for d in self.days if d.responses]
        return max(reversed(shown), key=lambda d: d.responses or 0) if shown else None


def open_rounds(session: Session, organisation_id: int) -> list[OpenRound]:
    """The organisation's open rounds with their figures per area."""
    page = rounds_service.list_rounds(
        session,
        organisation_id,
        PageRequest(limit=MAX_LIMIT, offset=0, path="/console/"),
        status="open",
    )
    today = rounds_service.today()
    shown = []
    for survey_round in sorted(page.items, key=lambda r: (r.close_date, r.id)):
        results = results_service.round_results(
            session, organisation_id, survey_round.id, items=[], indicators=[], indices=[]
        )
        shown.append(
            OpenRound(
                id=survey_round.id,
                name=survey_round.name,
                period=survey_round.period,
                close_date=survey_round.close_date,
                days_left=(survey_round.close_date - today).days,
                pending=results.pending,  # None when suppressed (below k), as in the API
                min_cell_size=results.min_cell_size,
                days=activity.round_activity(session, organisation_id, survey_round.id).days,
                areas=[
                    AreaFigures(
                        name=area.name,
                        suppressed=area.responses.suppressed,
                        responses=area.responses.responses,
                        response_rate=area.responses.response_rate,
                        rate_base=area.responses.rate_base,
                    )
                    for area in results.areas
                ],
            )
        )
    return shown
