"""An intervention's evaluation page over rounds brought in from history, over HTTP on both
databases: each round says where its data came from (answer counts only, imported answers),
a share the answer counts cannot give is shown as unavailable with its reason in the table,
in the estimate and in the pre-trend (never as "färre än 10"), and a suppressed cell stays
suppressed. The shares and estimates are computed here from the counts written into the files."""

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import LiveServer
from tests.helpers import create_area, ok, publish_standard
from tests.imports.response_files import limesurvey_csv, random_answers
from tests.imports.test_tallies_equivalence import post_tallies
from tests.staff.conftest import Browser, StaffOrg, make_staff_org
from tests.staff.test_console_results import _api
from tests.staff.test_console_results_history import flat

NBSP = "\u00a0"
HOUSEHOLDS = {"norr": 1000, "syd": 800, "vast": 1200}
TREATED = "norr"
# trygg_ute_kvall per area and year: (answers 1 or 2, answers 3 or 4); 3-5 count as unsafe.
SAFE_UNSAFE = {
    2021: {"norr": (20, 20), "syd": (24, 16), "vast": (26, 14)},
    2022: {"norr": (22, 18), "syd": (26, 14), "vast": (28, 12)},
    2023: {"norr": (24, 6), "syd": (21, 9), "vast": (21, 9)},
}
SOURCE_TALLIES_SV = "Historisk mätning, endast svarsfördelningar (importerade antal)"
SOURCE_IMPORTED_SV = "Historisk mätning, importerade svar"
SOURCE_TALLIES_EN = "Historical round, answer counts only (imported counts)"
ANSWERED_SV = "Finns inte: antalet som besvarade frågan importerades inte för denna mätning"


def _counts(year: int) -> bytes:
    """A vendor's answer counts for one year. anmalt_polis has 5 answers in norr (too few to
    show); in 2022 vast has no '*' row for the multi-choice utsatt_brott_12m (how many answered
    it), so its share of victims cannot be told from the counts."""
    lines = ["area,item,option,count"]
    for area, (safe, unsafe) in SAFE_UNSAFE[year].items():
        lines += [
            f"{area},*,,{safe + unsafe}",
            f"{area},trygg_ute_kvall,1,{safe // 2}",
            f"{area},trygg_ute_kvall,2,{safe - safe // 2}",
            f"{area},trygg_ute_kvall,3,{unsafe // 2}",
            f"{area},trygg_ute_kvall,4,{unsafe - unsafe // 2}",
            f"{area},anmalt_polis,1,3",
            f"{area},anmalt_polis,2,2",
            f"{area},utsatt_brott_12m,1,6",
            f"{area},utsatt_brott_12m,6,30",
        ]
        if not (year == 2022 and area == "vast"):
            lines.append(f"{area},utsatt_brott_12m,*,36")
    return ("\n".join(lines) + "\n").encode()


def _share(year: int, area: str) -> float:
    safe, unsafe = SAFE_UNSAFE[year][area]
    return unsafe / (safe + unsafe)


def _pooled(year: int, areas: list[str]) -> float:
    total = sum(HOUSEHOLDS[a] for a in areas)
    return sum(HOUSEHOLDS[a] / total * _share(year, a) for a in areas)


def _did(before: int, after: int) -> float:
    comparison = [a for a in HOUSEHOLDS if a != TREATED]
    treated = _share(after, TREATED) - _share(before, TREATED)
    return treated - (_pooled(after, comparison) - _pooled(before, comparison))


def _points(value: float) -> str:
    """Percentage points as the Swedish page writes them: one decimal, a comma, a real minus."""
    shown = f"{abs(value) * 100:.1f}".replace(".", ",")
    if shown == "0,0":
        return shown
    return ("+" if value > 0 else "\u2212") + shown


@dataclass
class HistoryWorld:
    org: StaffOrg
    api: httpx.Client
    intervention_id: int


def make_history_world(server: LiveServer, db: sessionmaker[Session]) -> HistoryWorld:
    """2021 and 2022 as answer counts, 2023 as a LimeSurvey export, all historical rounds;
    trygghetsvärdar in norr from September 2022; syd and vast (same area type) compare."""
    org = make_staff_org(db)
    api = _api(server, db, org.id)
    version = publish_standard(api)["id"]
    classes = [{"year": y, "area_type": 1} for y in range(2020, 2025)]
    areas = {
        code: create_area(api, code, households, classifications=classes)["id"]
        for code, households in HOUSEHOLDS.items()
    }
    rounds = {}
    for year in (2021, 2022, 2023):
        body = {
            "name": f"Trygghetsmätning {year}",
            "questionnaire_version_id": version,
            "period": str(year),
            "area_ids": list(areas.values()),
            "open_date": f"{year}-03-01",
            "close_date": f"{year}-04-15",
            "historical": True,
        }
        rounds[year] = ok(api.post("/api/v1/rounds", json=body), 201)["id"]
    for year in (2021, 2022):
        stored = post_tallies(api, rounds[year], _counts(year))
        assert stored.status_code == 201, stored.text
    rng = random.Random(2023)
    rows: list[tuple[str, dict[str, Any]]] = []
    for area, (safe, unsafe) in SAFE_UNSAFE[2023].items():
        for code in [1] * safe + [4] * unsafe:
            answers = random_answers(rng)
            answers["trygg_ute_kvall"] = code
            rows.append((area, answers))
    sent = {
        "file": ("limesurvey.csv", limesurvey_csv(rows, languages=["sv"]), "text/csv"),
        "mapping": (None, json.dumps({"preset": "limesurvey_standard"})),
    }
    imported = ok(api.post(f"/api/v1/rounds/{rounds[2023]}/imports", files=sent), 201)
    assert imported["rows_stored"] == len(rows)
    intervention = ok(
        api.post(
            "/api/v1/interventions",
            json={
                "name": "Trygghetsvärdar i norr",
                "category": "trygghetsvardar",
                "area_ids": [areas[TREATED]],
                "start_date": "2022-09-01",
            },
        ),
        201,
    )
    return HistoryWorld(org, api, intervention["id"])


@pytest.fixture
def history(server: LiveServer, db: sessionmaker[Session]) -> Iterator[HistoryWorld]:
    made = make_history_world(server, db)
    yield made
    made.api.close()


def _cells(page: str) -> str:
    start = page.index('<table class="cells">')
    return page[start : page.index("</table>", start)]


def _row(table: str, label: str) -> str:
    start = table.index(f'<th scope="row">{label}</th>')
    return table[start : table.index("</tr>", start)]


def _td(row: str, column: int) -> str:
    """The text of a row's data cell (0: before, 1: after)."""
    return flat("<td" + row.split("<td")[column + 1])


def _pre_trend(page: str) -> str:
    start = page.index("<h2>Trend före starten (placebotest)</h2>")
    return flat(page[start : page.index("</ul>", start)])


def _page(client: Browser, world: HistoryWorld, measure: str, lang: str = "") -> str:
    params = {"measure": measure} | ({"lang": lang} if lang else {})
    answer = client.get(f"/console/interventions/{world.intervention_id}/evaluation", params=params)
    assert answer.status_code == 200, answer.text
    return str(answer.text)


def _signed_in(browser: Any, org: StaffOrg) -> Browser:
    client: Browser = browser()
    assert client.log_in(org.emails["viewer"]).status_code == 303
    return client


def test_the_evaluation_says_where_each_round_came_from_and_shows_its_figures(
    browser: Any, history: HistoryWorld
) -> None:
    client = _signed_in(browser, history.org)
    page = _page(client, history, "indicator:andel_otrygga_kvall")
    table = _cells(page)
    assert "Före (2022 †)" in flat(table) and "Efter (2023 †)" in flat(table)
    comparison = [a for a in HOUSEHOLDS if a != TREATED]
    treated, compared = _row(table, "Insatsområden"), _row(table, "Jämförelseområden")
    for year, column in ((2022, 0), (2023, 1)):
        treated_cell, compared_cell = _td(treated, column), _td(compared, column)
        assert treated_cell.startswith(f"{round(_share(year, TREATED) * 100)}{NBSP}%")
        assert compared_cell.startswith(f"{round(_pooled(year, comparison) * 100)}{NBSP}%")
        assert f"n = {sum(SAFE_UNSAFE[year][TREATED])}" in treated_cell
    assert 'class="unavailable"' not in table and "färre än" not in table
    did = flat(page[page.index('<p class="did">') :].split("</p>")[0])
    assert f"{_points(_did(2022, 2023))} procentenheter" in did
    note = flat(page[page.index('<p class="note history">') :].split("</p>")[0])
    assert note == (
        f"† 2021: {SOURCE_TALLIES_SV}. † 2022: {SOURCE_TALLIES_SV}. † 2023: {SOURCE_IMPORTED_SV}."
    )
    pre = _pre_trend(page)
    assert f"2021 † → 2022 †: {_points(_did(2021, 2022))} procentenheter" in pre

    english = _page(client, history, "indicator:andel_otrygga_kvall", "en")
    assert f"† 2021: {SOURCE_TALLIES_EN}." in flat(english)
    assert "Historical round, imported answers" in flat(english)


def test_a_share_the_counts_cannot_give_is_unavailable_with_its_reason_not_suppressed(
    browser: Any, history: HistoryWorld
) -> None:
    client = _signed_in(browser, history.org)
    page = _page(client, history, "indicator:andel_utsatta_12m")
    table = _cells(page)
    compared = _row(table, "Jämförelseområden")
    before = compared.split("<td")[1]
    assert before.startswith(' class="unavailable">')
    assert flat("<td" + before) == ANSWERED_SV
    assert "färre än" not in table
    # The treated area's counts have the '*' row: its share is shown.
    assert f"{NBSP}%" in _td(_row(table, "Insatsområden"), 0)
    did = flat(page[page.index('<p class="did">') :].split("</p>")[0])
    assert did == "Ingen skattning: andelen finns inte för 2022 (se tabellen)."
    assert _pre_trend(page).endswith(f"2021 † → 2022 †: ingen skattning, 2022: {ANSWERED_SV}")

    # English: the same reason in English, never "fewer than".
    english = _page(client, history, "indicator:andel_utsatta_12m", "en")
    assert "the number who answered this question was not imported" in flat(_cells(english))
    assert "fewer than" not in _cells(english)


def test_a_suppressed_cell_of_an_imported_round_stays_suppressed(
    browser: Any, history: HistoryWorld
) -> None:
    client = _signed_in(browser, history.org)
    page = _page(client, history, "indicator:anmalningsgrad")
    table = _cells(page)
    treated_before = _td(_row(table, "Insatsområden"), 0)
    assert treated_before == "färre än 10"
    assert 'class="unavailable"' not in table
    did = flat(page[page.index('<p class="did">') :].split("</p>")[0])
    assert did == "Ingen skattning: minst en av de fyra cellerna har för få svar."
    assert "visas inte: en cell har färre än 10 svar" in _pre_trend(page)
