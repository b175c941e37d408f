"""A historical round of imported answer counts on the results pages, over HTTP on both
databases: the console's round, area and comparison pages and the board's share-link page
say where the data came from, show a figure the counts cannot give as unavailable with its
reason (never as "färre än 10"), keep suppressed figures suppressed, and answer a breakdown
request with an explanation instead of an error page."""

import html
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import LiveServer
from tests.helpers import create_area, ok, publish_standard
from tests.imports.test_tallies_equivalence import post_tallies
from tests.staff.conftest import Browser, StaffOrg, csrf_of, make_staff_org
from tests.staff.test_console_results import _api, section, signed_in, texts

NBSP = "\u00a0"

# norr: 40 respondents, trygg_ute_kvall answered by 36 (14 unsafe: codes 3 and 4), anmalt_polis
# by 5 only (suppressed), utsatt_brott_12m with its '*' row. vast: 30 respondents, and no '*'
# row for the multi-choice item, so its victim share is unavailable. syd: 5 respondents.
COUNTS = (
    "area,item,option,count\n"
    "norr,*,,40\n"
    "norr,trygg_ute_kvall,1,10\n"
    "norr,trygg_ute_kvall,2,12\n"
    "norr,trygg_ute_kvall,3,8\n"
    "norr,trygg_ute_kvall,4,6\n"
    "norr,anmalt_polis,1,3\n"
    "norr,anmalt_polis,2,2\n"
    "norr,utsatt_brott_12m,*,36\n"
    "norr,utsatt_brott_12m,1,5\n"
    "norr,utsatt_brott_12m,3,4\n"
    "norr,utsatt_brott_12m,6,28\n"
    "syd,*,,5\n"
    "syd,trygg_ute_kvall,1,3\n"
    "syd,trygg_ute_kvall,2,2\n"
    "vast,*,,30\n"
    "vast,trygg_ute_kvall,1,10\n"
    "vast,trygg_ute_kvall,2,10\n"
    "vast,trygg_ute_kvall,3,5\n"
    "vast,trygg_ute_kvall,4,5\n"
    "vast,utsatt_brott_12m,1,4\n"
    "vast,utsatt_brott_12m,6,20\n"
)

INDEX_SV = (
    "Finns inte: ett index kräver varje svarandes svar, och för denna mätning importerades "
    "bara svarsfördelningar"
)
INDEX_EN = (
    "Not available: an index needs each respondent's answers, and only answer counts were "
    "imported for this round"
)
ANSWERED_SV = "Finns inte: antalet som besvarade frågan importerades inte för denna mätning"
SOURCE_SV = "Historisk mätning, endast svarsfördelningar (importerade antal)"
SOURCE_EN = "Historical round, answer counts only (imported counts)"


@dataclass
class TalliesWorld:
    org: StaffOrg
    api: httpx.Client
    round_id: int
    areas: dict[str, int]


def make_tallies_world(server: LiveServer, db: sessionmaker[Session]) -> TalliesWorld:
    """A staff organisation with a historical round whose answer counts were imported."""
    org = make_staff_org(db)
    api = _api(server, db, org.id)
    version = publish_standard(api)["id"]
    areas = {code: create_area(api, code)["id"] for code in ("norr", "syd", "vast")}
    body = {
        "name": "Trygghetsmätning 2022",
        "questionnaire_version_id": version,
        "period": "2022",
        "area_ids": list(areas.values()),
        "open_date": "2022-03-01",
        "close_date": "2022-04-15",
        "historical": True,
    }
    round_id = ok(api.post("/api/v1/rounds", json=body), 201)["id"]
    # 201 for a new import (200 before the route said so): either stores it.
    imported = post_tallies(api, round_id, COUNTS.encode())
    assert imported.status_code in (200, 201), imported.text
    report = imported.json()
    assert report["problems"] == [] and report["import_id"] is not None
    return TalliesWorld(org, api, round_id, areas)


@pytest.fixture
def tallies(server: LiveServer, db: sessionmaker[Session]) -> Iterator[TalliesWorld]:
    made = make_tallies_world(server, db)
    yield made
    made.api.close()


def _row(fragment: str, label: str) -> str:
    """The text of the table row headed by `label`."""
    found = re.search(
        r"<tr[^>]*>\s*<th scope=\"row\">(?:(?!</th>).)*" + re.escape(label) + r".*?</tr>",
        fragment,
        re.S,
    )
    assert found, (label, texts(fragment)[:2000])
    return flat(found.group(0))


def flat(fragment: str) -> str:
    """The fragment's text on one line (non-breaking spaces kept)."""
    return re.sub(r"[ \t\n]+", " ", texts(fragment)).strip()


def _percent(x: int, n: int) -> str:
    return f"{round(100 * x / n)}{NBSP}%"


def test_the_round_page_says_where_the_data_came_from_and_what_is_unavailable(
    browser: Callable[[], Browser], tallies: TalliesWorld
) -> None:
    client = signed_in(browser, tallies.org, "viewer")
    listed = client.get("/console/results").text
    assert f"/console/results/{tallies.round_id}" in listed and SOURCE_SV in listed

    page = client.get(f"/console/results/{tallies.round_id}").text
    header = page[page.index("<h1") : page.index('<dl class="facts-list">')]
    assert SOURCE_SV in texts(header)
    results = ok(tallies.api.get(f"/api/v1/rounds/{tallies.round_id}/results"))
    assert results["source"] == "imported_tallies"

    norr = section(page, f"area-{tallies.areas['norr']}")
    # A share the counts give, computed by hand: 14 of 36 feel unsafe.
    assert _percent(14, 36) in _row(norr, "Andel otrygga ute")
    assert texts(norr).count(INDEX_SV) == 2  # trygghetsindex and problemindex
    # anmalt_polis answered by 5: suppressed, and said so, not "unavailable".
    assert "färre än 10" in _row(norr, "Andel som anmält till polisen")
    api_norr = next(a for a in results["areas"] if a["code"] == "norr")
    reporting = next(i for i in api_norr["indicators"] if i["key"] == "anmalningsgrad")
    assert reporting["suppressed"] is True and reporting["unavailable_reason"] is None
    assert 'class="unavailable"' in norr

    vast = section(page, f"area-{tallies.areas['vast']}")
    assert ANSWERED_SV in texts(vast)
    api_vast = next(a for a in results["areas"] if a["code"] == "vast")
    victims = next(i for i in api_vast["indicators"] if i["key"] == "andel_utsatta_12m")
    assert victims["suppressed"] is False and victims["unavailable_reason"] is not None

    syd = section(page, f"area-{tallies.areas['syd']}")
    assert "Färre än 10 har svarat" in texts(syd) and "Finns inte" not in texts(syd)

    pooled = section(page, "pooled-title")
    assert INDEX_SV in texts(pooled)
    # The area link does not promise breakdowns.
    assert "uppdelningar för" not in page and "Svarsfördelningar och trender för Norr" in page

    english = client.get(f"/console/results/{tallies.round_id}?lang=en").text
    assert SOURCE_EN in english and INDEX_EN in html.unescape(english)
    assert "fewer than 10" in english


def test_the_area_page_explains_breakdowns_and_marks_trend_points(
    browser: Callable[[], Browser], tallies: TalliesWorld
) -> None:
    client = signed_in(browser, tallies.org, "analyst")
    path = f"/console/results/{tallies.round_id}/areas/{tallies.areas['norr']}"
    # The API refuses the breakdown; the console explains instead of showing an error.
    refused = tallies.api.get(
        f"/api/v1/rounds/{tallies.round_id}/results", params={"by": "aldersgrupp"}
    )
    assert refused.status_code == 409
    for url in (path, f"{path}?by=aldersgrupp"):
        response = client.get(url)
        assert response.status_code == 200, response.text[:500]
        page = response.text
        breakdown = section(page, "breakdown-title")
        assert "Uppdelning efter en bakgrundsfråga finns inte för denna mätning" in texts(breakdown)
        assert 'id="by"' not in page and "<table" not in breakdown
        assert SOURCE_SV in texts(page[page.index("<h1") : page.index('<dl class="facts-list">')])
        figures = section(page, "figures-title")
        assert INDEX_SV in texts(figures) and "färre än 10" in texts(figures)
        trends = section(page, "trends-title")
        # The index's only point is unavailable: said under its chart, with no dot.
        assert f"2022 (finns ej): {INDEX_SV}." in flat(trends)
        assert "† 2022: " + SOURCE_SV in flat(trends)
        assert "2022†: finns ej" in html.unescape(trends)

    english = client.get(f"{path}?by=aldersgrupp&lang=en").text
    assert "Breakdowns by a background question are not available for this round" in (
        html.unescape(english)
    )
    assert "(n/a)" in english


def test_the_comparison_shows_unavailable_areas_apart_from_suppressed_ones(
    browser: Callable[[], Browser], tallies: TalliesWorld
) -> None:
    client = signed_in(browser, tallies.org, "viewer")
    base = f"/console/results/{tallies.round_id}/compare"
    index_page = client.get(f"{base}?target=index:trygghetsindex").text
    table = index_page[index_page.index('id="compare-caption"') :]
    for name in ("Norr", "Syd", "Vast"):
        assert INDEX_SV in _row(table, name), name
    assert "färre än 10" not in table
    assert "<circle" not in index_page[index_page.index('class="intervals"') :].split("</svg>")[0]
    assert SOURCE_SV in index_page

    victims = client.get(f"{base}?target=indicator:andel_utsatta_12m").text
    table = victims[victims.index('id="compare-caption"') :]
    assert ANSWERED_SV in _row(table, "Vast")
    assert "färre än 10" in _row(table, "Syd")
    # norr: 8 of 36 ticked at least one crime (36 answered, 28 ticked "none").
    assert _percent(8, 36) in _row(table, "Norr")


def test_the_board_page_of_a_share_link_says_the_same(
    browser: Callable[[], Browser], tallies: TalliesWorld, console_server: LiveServer
) -> None:
    client = signed_in(browser, tallies.org, "analyst")
    page = client.get(f"/console/results/{tallies.round_id}").text
    path = f"/console/results/{tallies.round_id}/share-links"

    def link(area: str, language: str) -> str:
        made = client.post(
            path,
            data={
                "csrf_token": csrf_of(page),
                "area_id": area,
                "language": language,
                "days": "7",
            },
        )
        assert made.status_code == 200, made.text[:500]
        return html.unescape(re.findall(r"<code>([^<]+)</code>", made.text)[0])

    with httpx.Client(timeout=30) as anonymous:
        whole = anonymous.get(link("", "sv"))
        area = anonymous.get(link(str(tallies.areas["norr"]), "en"))
    assert whole.status_code == 200 and area.status_code == 200
    board = flat(whole.text)
    assert SOURCE_SV in board
    assert f"Trygghetsindex {INDEX_SV}" in board or INDEX_SV in board
    # The areas table: vast's victim share unavailable, syd's figures suppressed.
    areas = whole.text[whole.text.index('id="areas"') :]
    assert "finns ej" in _row(areas, "Vast") and "–" in _row(areas, "Syd")
    assert f"finns ej = {ANSWERED_SV}." in flat(areas)
    assert "† 2022: " + SOURCE_SV in board

    english = flat(area.text)
    assert SOURCE_EN in english and INDEX_EN in english
    assert "Too few responses to show" in english  # anmalt_polis, 5 answers
    assert "2022 (n/a): " + INDEX_EN in english
