"""The benchmark beside the console's own figures, in Chromium under the server's own CSP: the
area overview, a round's results and an area's results show the column "Områden av samma typ
i andra bolag" with GET /benchmarks' figure of the area's type (and of each pooled group), "–"
with one explanation where the cell is hidden; right-aligned figures, no console error, no axe
violation in Swedish and English at 360 and 1280 px."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from survey_api.auth import service as auth_service
from survey_api.organisations import service as organisations_service
from survey_api.presentation import formatting
from tests.benchmarks.support import (
    INDICATOR,
    Company,
    answers,
    benchmark,
    company,
    fresh_period,
    upload,
)
from tests.conftest import LiveServer, Org
from tests.console.test_console_browser import log_in
from tests.helpers import ok, publish_standard, standard_definition
from tests.staff.conftest import StaffOrg, make_staff_org
from tests.web.browser.checks import DESKTOP, PHONE, check_at_both_widths, watched_page

pytestmark = pytest.mark.browser

COLUMN = {
    "sv": "Områden av samma typ i andra bolag",
    "en": "Areas of the same type in other companies",
}
HIDDEN = {
    "sv": "–: för få bolag eller områden för att visa.",
    "en": "–: too few companies or areas to show.",
}


@dataclass
class BenchmarkWorld:
    """A console organisation (opted in) with two type-1 areas and a type-3 one, beside two
    other organisations' type-1 areas: area type 1 is shown, area type 3 hidden."""

    staff: StaffOrg
    own: Company
    period: str
    round_id: int
    diverging_round: int  # a survey of its own that defines the indicator differently
    api: httpx.Client


def staff_company(server: LiveServer, db: sessionmaker[Session]) -> tuple[StaffOrg, Company]:
    """A staff organisation and an admin API key that plays every API role for it."""
    staff = make_staff_org(db)
    with db() as session:
        organisation = organisations_service.get_organisation(session, staff.id)
        key = auth_service.create_api_key(session, organisation, name="admin", role="admin")[1]
        session.commit()
    api = httpx.Client(
        base_url=server.base_url, headers={"Authorization": f"Bearer {key}"}, timeout=30
    )
    as_org = Org(
        id=staff.id,
        slug=staff.slug,
        keys={"admin": key},
        clients={"admin": api, "analyst": api, "integrator": api},
    )
    return staff, company(as_org)


def make_benchmark_world(
    server: LiveServer, db: sessionmaker[Session], make_org: Callable[[], Org]
) -> BenchmarkWorld:
    period = fresh_period()
    staff, own = staff_company(server, db)
    own.area("norra", 1, "utsatt", 600)
    own.area("sodra", 1, "utsatt", 400)
    own.area("vastra", 3, "none", 500)
    round_id = own.round(period, {"norra": (12, 30), "sodra": (5, 20), "vastra": (4, 25)})
    # A survey of its own whose "unsafe" indicator counts other codes: not comparable.
    diverging = standard_definition()
    diverging["key"] = "egen-trygghet"
    diverging["name"] = {"sv": "Egen trygghetsenkät", "en": "Own safety survey", "ar": "استبيان"}
    indicator = next(i for i in diverging["indicators"] if i["key"] == INDICATOR)
    indicator["codes"] = [4, 5]
    version = publish_standard(own.org.analyst, diverging)
    today = date.today()
    body = {
        "name": f"Egen trygghetsenkät {period}",  # a name of its own: captions stay unique
        "questionnaire_version_id": version["id"],
        "period": period,
        "area_ids": [own.areas["norra"]],
        "open_date": (today - timedelta(days=10)).isoformat(),
        "close_date": (today + timedelta(days=30)).isoformat(),
    }
    diverging_round = int(ok(own.org.analyst.post("/api/v1/rounds", json=body), 201)["id"])
    upload(own.org.integrator, diverging_round, own.areas["norra"], answers(6, 20))
    for i in range(2):
        other = company(make_org())
        other.area(f"x{i}", 1, "utsatt", 700 - 100 * i)
        other.area(f"y{i}", 1, "utsatt", 300 + 100 * i)
        other.round(period, {f"x{i}": (20 - 5 * i, 40), f"y{i}": (3 + i, 15)})
    return BenchmarkWorld(staff, own, period, round_id, diverging_round, own.org.admin)


def shown_text(cell: dict[str, Any], lang: str) -> tuple[str, str]:
    return (
        formatting.percent(cell["value"], lang),
        formatting.percent_range(cell["low"], cell["high"], lang),
    )


def table_texts(page: Any, caption_id: str) -> dict[str, str]:
    """A figures table's benchmark column by row label."""
    rows = page.locator(f"table:has(caption#{caption_id}) tbody tr")
    found = {}
    for i in range(rows.count()):
        row = rows.nth(i)
        found[row.locator("th").inner_text().strip()] = row.locator("td.benchmark").inner_text()
    return found


def test_benchmark_column_beside_own_figures(
    chromium: Any,
    axe: Any,
    console_server: LiveServer,
    server: LiveServer,
    db: sessionmaker[Session],
    make_org: Callable[[], Org],
    artifacts: Path,
) -> None:
    world = make_benchmark_world(server, db, make_org)
    cells = benchmark(world.api, world.period)["cells"]
    assert cells["area_type:1"]["suppressed"] is False
    assert cells["area_type:3"] == {"suppressed": True}
    norra, vastra = world.own.areas["norra"], world.own.areas["vastra"]
    label = "Andel otrygga ute sent på kvällen (inkl. avstår från att gå ut)"
    value, interval = shown_text(cells["area_type:1"], "sv")
    overview = f"/console/areas/{norra}/overview?period={world.period}"
    results = f"/console/results/{world.round_id}"
    area_page = f"/console/results/{world.round_id}/areas/{norra}"
    with watched_page(chromium, base_url=console_server.base_url, locale="sv-SE") as page:
        log_in(page, world.staff.emails["viewer"])
        # The area overview: the area's type 1 beside its own figure.
        response = page.goto(overview)
        assert response is not None and response.status == 200
        header = page.locator(f"#round-{world.round_id} ~ div table.figures thead th").last
        assert header.inner_text() == COLUMN["sv"]
        column = table_texts(page, f"round-{world.round_id}-caption")
        assert column[label] == f"{value}\n({interval})"
        # Nobody answered enough of the indices' items: hidden, "–" and why.
        assert column["Trygghetsindex (0–100)"].startswith("–")
        assert page.locator("text=" + HIDDEN["sv"]).count() >= 1
        align = page.eval_on_selector("td.benchmark.num", "td => getComputedStyle(td).textAlign")
        assert align in ("end", "right")
        # Its own survey defines the indicator differently: "ej jämförbar", and why.
        theirs = table_texts(page, f"round-{world.diverging_round}-caption")
        assert theirs[label] == "ej jämförbar"
        assert (
            page.locator(
                "text=Ej jämförbar: standardenkäten ställer inte frågan på samma sätt."
            ).count()
            == 1
        )
        assert page.locator("text=Er organisation deltar inte").count() == 0
        # The round's results: each area's type, and each pooled group of a type or a class.
        response = page.goto(results)
        assert response is not None and response.status == 200
        assert table_texts(page, f"area-{norra}-caption")[label] == f"{value}\n({interval})"
        assert table_texts(page, f"area-{vastra}-caption")[label].startswith("–")
        captions = page.locator("#pooled-title ~ div table.figures caption").all_inner_texts()
        assert [c.split(" – ")[0] for c in captions] == [
            "Alla områden",
            "Områdestyp 1",
            "Områdestyp 3",
            "Områden utan polisens klassning",
            "Utsatta områden (polisen)",
        ]
        # The organisation as a whole has no benchmark: its table has no such column.
        assert page.locator("table:has(caption#pooled-1-caption) td.benchmark").count() == 0
        expected = {2: "area_type:1", 3: "area_type:3", 4: "police:none", 5: "police:utsatt"}
        for number, key in expected.items():
            shown = table_texts(page, f"pooled-{number}-caption")[label]
            if cells[key]["suppressed"]:
                assert shown.startswith("–"), key
            else:
                assert shown == "{}\n({})".format(*shown_text(cells[key], "sv")), key
        assert cells["police:utsatt"]["suppressed"] is False  # the same six areas as type 1
        # An area's results.
        response = page.goto(area_page)
        assert response is not None and response.status == 200
        assert table_texts(page, "figures-caption")[label] == f"{value}\n({interval})"
        # An organisation that does not take part still sees the benchmark, and is told that
        # its own areas are not in it.
        world.own.opt(False)
        page.goto(overview)
        assert page.locator("text=Er organisation deltar inte i jämförelsen").count() == 1
        for lang in ("sv", "en"):
            for path, name in ((overview, "overview"), (results, "round"), (area_page, "area")):
                response = page.goto(f"{path}{'&' if '?' in path else '?'}lang={lang}")
                assert response is not None and response.status == 200
                assert "script-src" not in response.headers["content-security-policy"]
                assert COLUMN[lang] in page.content()
                check_at_both_widths(page, axe, f"{name} with the benchmark ({lang})")
                if lang == "sv":
                    for size in (PHONE, DESKTOP):
                        page.set_viewport_size(size)
                        shot = artifacts / f"console-benchmark-{name}-{size['width']}.png"
                        page.screenshot(path=str(shot), full_page=True)
