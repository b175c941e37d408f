"""The console's area overview over HTTP, on both databases: an area's surveys of a period side
by side, each figure the API's overview (and so the round results') written the Swedish way; a
small area's round shows "färre än 10" and no figures; the period picker; the empty cases."""

import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from survey_api.auth import service as auth_service
from survey_api.organisations import service as organisations_service
from survey_api.presentation import formatting
from tests.conftest import LiveServer
from tests.helpers import STANDARD, create_area, ok, publish_standard, standard_definition
from tests.staff.conftest import Browser, StaffOrg, make_staff_org
from tests.staff.test_console_results import SAFE, UNSAFE, section, signed_in, texts

OTHER_NAME = {"sv": "Kundenkät (prov)", "en": "Customer survey (trial)", "ar": "استبيان"}


@dataclass
class OverviewWorld:
    """Two surveys over a big area (figures) and a small one (3 answers in the standard)."""

    org: StaffOrg
    api: httpx.Client
    big: int
    small: int
    standard: int  # round ids, 2026
    other: int
    earlier: int  # the standard questionnaire, 2025


def _upload(api: httpx.Client, round_id: int, area_id: int, answers: list[dict[str, Any]]) -> None:
    body = {
        "responses": [
            {"area_id": area_id, "language": "sv", "channel": "paper", "answers": a}
            for a in answers
        ]
    }
    headers = {"Idempotency-Key": uuid.uuid4().hex}
    ok(api.post(f"/api/v1/rounds/{round_id}/responses/bulk", json=body, headers=headers), 201)


def _round(api: httpx.Client, name: str, version: int, period: str, areas: list[int]) -> int:
    body = {
        "name": name,
        "questionnaire_version_id": version,
        "period": period,
        "area_ids": areas,
        "open_date": (date.today() - timedelta(days=5)).isoformat(),
        "close_date": (date.today() + timedelta(days=30)).isoformat(),
    }
    return int(ok(api.post("/api/v1/rounds", json=body), 201)["id"])


def make_overview_world(server: LiveServer, db: sessionmaker[Session]) -> OverviewWorld:
    org = make_staff_org(db)
    with db() as session:
        organisation = organisations_service.get_organisation(session, org.id)
        key = auth_service.create_api_key(session, organisation, name="admin", role="admin")[1]
        session.commit()
    api = httpx.Client(
        base_url=server.base_url, headers={"Authorization": f"Bearer {key}"}, timeout=30
    )
    other_definition = standard_definition()
    other_definition["key"] = "kundenkat-prov"
    other_definition["name"] = OTHER_NAME
    standard_version = publish_standard(api)["id"]
    other_version = publish_standard(api, other_definition)["id"]
    big = create_area(api, "storgarden")["id"]
    small = create_area(api, "lillgarden")["id"]
    standard = _round(api, "Trygghetsmätning 2026", standard_version, "2026", [big, small])
    other = _round(api, "Kundenkät 2026", other_version, "2026", [big])
    earlier = _round(api, "Trygghetsmätning 2025", standard_version, "2025", [big])
    _upload(api, standard, big, [SAFE] * 15 + [UNSAFE] * 5)
    _upload(api, standard, small, [UNSAFE] * 3)
    _upload(api, other, big, [SAFE] * 6 + [UNSAFE] * 6)
    _upload(api, earlier, big, [SAFE] * 10 + [UNSAFE] * 2)
    return OverviewWorld(org, api, big, small, standard, other, earlier)


@pytest.fixture
def world(server: LiveServer, db: sessionmaker[Session]) -> Iterator[OverviewWorld]:
    made = make_overview_world(server, db)
    yield made
    made.api.close()


def _round_html(page: str, round_id: int) -> str:
    start = page.index(f'id="round-{round_id}"')
    end = page.find('<div class="survey-round">', start)
    stop = page.find("</section>", start)
    return page[start : min(e for e in (end, stop) if e != -1)]


def test_the_surveys_of_the_newest_period_side_by_side_in_swedish(
    browser: Callable[[], Browser], world: OverviewWorld
) -> None:
    client = signed_in(browser, world.org, "viewer")
    area_page = client.get(f"/console/areas/{world.big}")
    assert f'href="/console/areas/{world.big}/overview"' in area_page.text
    page = client.get(f"/console/areas/{world.big}/overview")
    assert page.status_code == 200, page.text
    assert "Översikt: Storgarden" in page.text
    # The newest period is chosen; both periods can be picked.
    assert '<option value="2026" selected>2026</option>' in page.text
    assert '<option value="2025">2025</option>' in page.text
    # By questionnaire key: kundenkat-prov, then trygghetsmatning-standard.
    assert page.text.index(OTHER_NAME["sv"]) < page.text.index(STANDARD["name"]["sv"])
    api = ok(world.api.get(f"/api/v1/areas/{world.big}/overview", params={"period": "2026"}))
    shown = 0
    for survey in api["surveys"]:
        for entry in survey["rounds"]:
            html = _round_html(page.text, entry["survey_round_id"])
            link = f"/console/results/{entry['survey_round_id']}/areas/{world.big}"
            assert f'href="{link}"' in html
            assert formatting.number(entry["responses"]["responses"], "sv") in texts(html)
            for cell in entry["indicators"]:
                assert cell["label"] in html
                if cell["suppressed"]:
                    continue
                share = cell["share"]
                value = formatting.percent(share["p"], "sv")
                interval = formatting.percent_range(share["low"], share["high"], "sv")
                assert f'<td class="num">{value}' in html, (cell["key"], value)
                assert f'<td class="num">{interval}</td>' in html
                shown += 1
            for cell in entry["indices"]:
                if not cell["suppressed"]:
                    figure = formatting.number(cell["index"]["index"], "sv")
                    assert f'<td class="num">{figure}' in html
    assert shown >= 4
    assert not re.search(r"\d(?:%| %)", texts(page.text))  # Swedish, non-breaking percent


def test_a_small_area_shows_no_figures_and_other_periods(
    browser: Callable[[], Browser], world: OverviewWorld
) -> None:
    client = signed_in(browser, world.org, "analyst")
    page = client.get(f"/console/areas/{world.small}/overview?period=2026")
    assert page.status_code == 200
    html = _round_html(page.text, world.standard)
    assert "färre än 10" in html
    assert "<table" not in html and "%" not in texts(html)
    assert '<option value="2026" selected>2026</option>' in page.text
    assert "2025" not in page.text  # the small area has no round in 2025

    earlier = client.get(f"/console/areas/{world.big}/overview?period=2025")
    assert f'id="round-{world.earlier}"' in earlier.text
    assert f'id="round-{world.standard}"' not in earlier.text
    assert OTHER_NAME["sv"] not in earlier.text
    none_then = client.get(f"/console/areas/{world.big}/overview?period=2024")
    assert none_then.status_code == 200
    assert "Ingen mätomgång under 2024 omfattar området." in none_then.text
    # A hand-edited address with no period in it: the newest period, as without one.
    bad = client.get(f"/console/areas/{world.big}/overview?period=tjugo")
    assert bad.status_code == 200 and '<option value="2026" selected>2026</option>' in bad.text
    assert "tjugo" not in bad.text
    lonely = create_area(world.api, "ensamgarden")["id"]
    empty = client.get(f"/console/areas/{lonely}/overview")
    assert empty.status_code == 200
    assert "Ingen mätomgång omfattar området ännu." in empty.text
    assert "<select" not in empty.text


def test_english_labels_and_page(browser: Callable[[], Browser], world: OverviewWorld) -> None:
    client = signed_in(browser, world.org, "viewer")
    page = client.get(f"/console/areas/{world.big}/overview?lang=en")
    assert page.status_code == 200
    assert "Overview: Storgarden" in page.text
    assert OTHER_NAME["en"] in page.text and STANDARD["name"]["en"] in page.text
    html = section(page.text, f"survey-{_questionnaire_id(world, 'trygghetsmatning-standard')}")
    for indicator in STANDARD["indicators"]:
        assert indicator["label"]["en"] in html
    assert 'name="lang" value="en"' in page.text  # the period picker keeps the language


def _questionnaire_id(world: OverviewWorld, key: str) -> int:
    listed = ok(world.api.get("/api/v1/questionnaires"))
    return int(next(q["id"] for q in listed["items"] if q["key"] == key))
