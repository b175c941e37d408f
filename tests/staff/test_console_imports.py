"""The console's history flows over HTTP, on both databases: an admin creates a historical
round (nobody else may), its pages show where its data came from and nothing that only a round
open to tenants has; answers and answer counts are imported in two steps (a dry-run report as
a table, then the import of exactly the previewed file); imports are listed and taken back.
Roles, CSRF, and another organisation's round is exactly as absent as a missing one."""

import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.api.support import today as swedish_today
from tests.conftest import LiveServer
from tests.helpers import ok
from tests.staff.conftest import Browser, csrf_of
from tests.staff.test_console_rounds import World, make_world, signed_in, wizard_fields

_ROUND_ID = re.compile(r"/console/rounds/(\d+)")
LAST_YEAR = swedish_today().year - 1


@pytest.fixture
def world(server: LiveServer, db: sessionmaker[Session]) -> Iterator[World]:
    made = make_world(server, db)
    yield made
    made.api.close()


def historical_fields(world: World, **overrides: Any) -> dict[str, Any]:
    past = {
        "name": f"Trygghetsmätning {LAST_YEAR}",
        "period": str(LAST_YEAR),
        "open_date": f"{LAST_YEAR}-03-01",
        "close_date": f"{LAST_YEAR}-03-29",
        "historical": "on",
    }
    return wizard_fields(world, **(past | overrides))


def create_historical(client: Browser, world: World, **overrides: Any) -> int:
    page = client.get("/console/rounds/new?kind=historical")
    assert page.status_code == 200, page.text
    data = {"csrf_token": csrf_of(page.text), **historical_fields(world, **overrides)}
    created = client.post("/console/rounds/new", data=data)
    assert created.status_code == 303, created.text
    found = _ROUND_ID.search(created.headers["location"])
    assert found
    return int(found.group(1))


def test_an_admin_creates_a_historical_round_and_its_page_shows_only_what_fits(
    browser: Callable[[], Browser], world: World
) -> None:
    admin = signed_in(browser, world, "admin")
    listing = admin.get("/console/rounds")
    assert "/console/rounds/new?kind=historical" in listing.text
    wizard = admin.get("/console/rounds/new?kind=historical")
    assert "Skapa en historisk mätomgång" in wizard.text
    assert 'name="historical" value="on"' in wizard.text
    assert "Steg 4 av 4" in wizard.text and "Steg 5" not in wizard.text
    round_id = create_historical(admin, world)
    stored = ok(world.api.get(f"/api/v1/rounds/{round_id}"))
    assert stored["status"] == "historical" and stored["source"] == "imported"
    assert stored["period"] == str(LAST_YEAR) and stored["area_links_enabled"] is False
    assert stored["open_date"] == f"{LAST_YEAR}-03-01"
    page = admin.get(f"/console/rounds/{round_id}")
    assert page.status_code == 200
    facts = page.text.split('class="facts-list"')[1].split("</dl>")[0]
    assert "historisk" in facts and "importerade svar" in facts
    assert "Områdeslänkar" not in facts and "Kodsvar som väntar" not in facts
    for absent in (
        f"/console/rounds/{round_id}/invitations",
        f"/console/rounds/{round_id}/posters",
        f"/console/rounds/{round_id}/area-links",
        f"/console/rounds/{round_id}/close",
        "/r/",
    ):
        assert absent not in page.text, absent
    assert "Hjällbo" in page.text and "Hammarkullen" in page.text
    listing = admin.get("/console/rounds").text
    row = listing.split(f'href="/console/rounds/{round_id}"')[1].split("</tr>")[0]
    assert "historisk" in row and "importerade svar" in row
    # What only a round open to tenants has is refused even when asked for directly.
    posters = admin.get(f"/console/rounds/{round_id}/posters")
    assert posters.status_code == 409
    token = csrf_of(page.text)
    closed = admin.post(f"/console/rounds/{round_id}/close", data={"csrf_token": token})
    assert closed.status_code == 409 and "historical" in closed.text
    codes = admin.post(
        f"/console/rounds/{round_id}/invitations",
        data={"csrf_token": token, "area_id": str(world.area_ids[0]), "count": "2"},
    )
    assert codes.status_code == 409
    assert ok(world.api.get(f"/api/v1/rounds/{round_id}/invitations"))["total"]["issued"] == 0


def test_a_historical_round_must_lie_in_the_past(
    browser: Callable[[], Browser], world: World
) -> None:
    admin = signed_in(browser, world, "admin")
    page = admin.get("/console/rounds/new?kind=historical")
    today = swedish_today()
    data = historical_fields(world, close_date=(today + timedelta(days=3)).isoformat())
    answer = admin.post("/console/rounds/new", data={"csrf_token": csrf_of(page.text), **data})
    assert answer.status_code == 422
    assert 'id="close_date-error"' in answer.text and 'href="#close_date"' in answer.text
    assert "före i dag" in answer.text
    assert 'name="historical" value="on"' in answer.text  # still the historical wizard
    assert ok(world.api.get("/api/v1/rounds"))["total"] == 0


def test_only_an_admin_may_create_a_historical_round(
    browser: Callable[[], Browser], world: World
) -> None:
    analyst = signed_in(browser, world, "analyst")
    listing = analyst.get("/console/rounds")
    assert "kind=historical" not in listing.text and "Skapa en mätomgång" in listing.text
    offered = analyst.get("/console/rounds/new?kind=historical")
    assert offered.status_code == 403 and "Din roll tillåter inte detta" in offered.text
    token = csrf_of(analyst.get("/console/rounds/new").text)
    posted = analyst.post(
        "/console/rounds/new", data={"csrf_token": token, **historical_fields(world)}
    )
    assert posted.status_code == 403 and "Din roll tillåter inte detta" in posted.text
    viewer = signed_in(browser, world, "viewer")
    viewer_token = csrf_of(viewer.get("/console/rounds").text)
    for method, data in (("GET", None), ("POST", historical_fields(world))):
        answer = viewer.request(
            method,
            "/console/rounds/new?kind=historical",
            data={"csrf_token": viewer_token, **data} if data else None,
        )
        assert answer.status_code == 403 and "Din roll tillåter inte detta" in answer.text
    # An admin's post without the session's CSRF token creates nothing either.
    admin = signed_in(browser, world, "admin")
    forged = admin.post(
        "/console/rounds/new", data={"csrf_token": "wrong", **historical_fields(world)}
    )
    assert forged.status_code == 403
    assert ok(world.api.get("/api/v1/rounds"))["total"] == 0
