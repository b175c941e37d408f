"""The board's results page and the benchmark (issue 13): an area's page shows the column
"Områden av samma typ i andra bolag" (GET /benchmarks' cell of the area's type) only when the
organisation takes part in the benchmark, since anyone holding the link may open the page;
the organisation-wide page has no such column. Both databases."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from survey_api.presentation import formatting
from tests.benchmarks.support import Company, benchmark
from tests.conftest import Org
from tests.helpers import ok
from tests.results.test_own_benchmark import make_world

COLUMN = {
    "sv": "Områden av samma typ i andra bolag",
    "en": "Areas of the same type in other companies",
}


def page(made: Company, anonymous: httpx.Client, round_id: int, **body: object) -> str:
    link = ok(made.org.analyst.post(f"/api/v1/rounds/{round_id}/share-links", json=body), 201)
    response = anonymous.get(httpx.URL(link["url"]).path)
    assert response.status_code == 200, response.text
    return response.text


def test_only_an_opted_in_organisations_page_shows_the_benchmark(
    make_org: Callable[[], Org], anonymous: httpx.Client
) -> None:
    world = make_world(make_org, opt_in_first=False)
    a, round_id = world.companies[0], world.rounds[0]
    # Not opted in: no column on its page, whatever the benchmark holds.
    a1 = a.areas["a1"]
    html = page(a, anonymous, round_id, area_id=a1, language="sv")
    assert COLUMN["sv"] not in html and 'class="num benchmark' not in html
    a.opt(True)
    cells = benchmark(a.org.analyst, world.period)["cells"]
    shown = cells["area_type:1"]
    assert shown["suppressed"] is False and shown["organisations"] == 3
    for lang in ("sv", "en"):
        html = page(a, anonymous, round_id, area_id=a1, language=lang)
        assert f'<th scope="col" class="num">{COLUMN[lang]}</th>' in html
        value = formatting.percent(shown["value"], lang)
        interval = formatting.percent_range(shown["low"], shown["high"], lang)
        assert (
            f'<td class="num benchmark">{value}<span class="interval">({interval})</span></td>'
            in html
        )
    # The type-3 area: one area of one organisation, hidden, "–" and why.
    html = page(a, anonymous, round_id, area_id=a.areas["a3"], language="sv")
    assert '<td class="num benchmark suppressed">–</td>' in html
    assert "– = för få bolag eller områden för att visa" in html
    # The whole organisation: no area type, no column.
    html = page(a, anonymous, round_id, language="sv")
    assert COLUMN["sv"] not in html
    # Opting out again takes the column off the pages already shared.
    a.opt(False)
    html = page(a, anonymous, round_id, area_id=a1, language="sv")
    assert COLUMN["sv"] not in html
