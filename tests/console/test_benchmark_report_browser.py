"""The board's results page with the benchmark column, in Chromium under the page's own CSP:
an opted-in organisation's area page shows "Områden av samma typ i andra bolag" beside its key
figures, right-aligned, its table scrolling inside its region on a phone; no console error and
no axe violation in Swedish and English at 360 and 1280 px."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.benchmarks.support import benchmark
from tests.conftest import LiveServer, Org
from tests.helpers import ok
from tests.results.test_own_benchmark import make_world
from tests.web.browser.checks import DESKTOP, PHONE, check_at_both_widths, watched_page

pytestmark = pytest.mark.browser

COLUMN = {
    "sv": "Områden av samma typ i andra bolag",
    "en": "Areas of the same type in other companies",
}


def test_report_page_shows_the_benchmark_beside_the_areas_figures(
    chromium: Any, axe: Any, server: LiveServer, make_org: Callable[[], Org], artifacts: Path
) -> None:
    world = make_world(make_org)
    a, round_id = world.companies[0], world.rounds[0]
    assert benchmark(a.org.analyst, world.period)["cells"]["area_type:1"]["suppressed"] is False
    with watched_page(chromium, base_url=server.base_url) as page:
        for lang in ("sv", "en"):
            for code in ("a1", "a3"):
                link = ok(
                    a.org.analyst.post(
                        f"/api/v1/rounds/{round_id}/share-links",
                        json={"area_id": a.areas[code], "language": lang},
                    ),
                    201,
                )
                response = page.goto(httpx.URL(link["url"]).path)
                assert response is not None and response.status == 200
                header = page.locator("table.figures thead th").last
                assert header.inner_text() == COLUMN[lang]
                cell = page.locator("td.benchmark").first
                if code == "a1":
                    assert "(" in cell.inner_text()
                    align = cell.evaluate("td => getComputedStyle(td).textAlign")
                    assert align in ("end", "right")
                else:
                    assert cell.inner_text() == "–"
                check_at_both_widths(page, axe, f"results page {code} with the benchmark ({lang})")
                if lang == "sv" and code == "a1":
                    for size in (PHONE, DESKTOP):
                        page.set_viewport_size(size)
                        shot = artifacts / f"report-benchmark-{size['width']}.png"
                        page.locator("h2#key-figures ~ *").first.screenshot(path=str(shot))
