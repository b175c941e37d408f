"""The benchmark opt-in on the console's settings page, over HTTP on both databases: off by
default, the exact text GET /organisation returns shown beside the box in the page's language,
saved through the same schema and service as PATCH /organisation, admins only."""

from collections.abc import Callable, Iterator

import httpx
import pytest
from markupsafe import escape
from sqlalchemy.orm import Session, sessionmaker

from survey_api.benchmarks.sharing import BENCHMARK_SHARING_TEXT
from survey_api.organisations import service as organisations_service
from tests.conftest import LiveServer
from tests.staff.conftest import Browser, StaffOrg, csrf_of
from tests.staff.test_console_settings import SETTINGS_FORM, api_key

_BOX = 'id="benchmark_opt_in" name="benchmark_opt_in" value="1"'


@pytest.fixture
def admin_api(
    console_server: LiveServer, db: sessionmaker[Session], staff_org: StaffOrg
) -> Iterator[httpx.Client]:
    client = httpx.Client(
        base_url=console_server.base_url,
        headers={"Authorization": f"Bearer {api_key(db, staff_org.id)}"},
        timeout=30,
    )
    yield client
    client.close()


def admin_of(browser: Callable[[], Browser], org: StaffOrg) -> Browser:
    client = browser()
    assert client.log_in(org.emails["admin"]).status_code == 303
    return client


def ticked(html: str) -> bool:
    start = html.index(_BOX)
    return " checked" in html[start : html.index(">", start)]


def test_the_opt_in_is_off_by_default_with_the_apis_exact_text_beside_it(
    browser: Callable[[], Browser], staff_org: StaffOrg, admin_api: httpx.Client
) -> None:
    admin = admin_of(browser, staff_org)
    body = admin_api.get("/api/v1/organisation").json()
    assert body["benchmark_opt_in"] is False
    for lang, accept in (("sv", None), ("en", None), ("ar", "ar")):
        headers = {"Accept-Language": accept} if accept else {}
        query = "" if accept else f"?lang={lang}"
        page = admin.get(f"/console/settings{query}", headers=headers)
        assert page.status_code == 200
        assert not ticked(page.text)
        # Arabic is not a console language: the page and the text fall back to Swedish.
        shown = "sv" if lang == "ar" else lang
        text = body["benchmark_sharing_text"][shown]
        assert text == BENCHMARK_SHARING_TEXT[shown]
        assert f'id="benchmark_sharing_text" lang="{shown}">{escape(text)}</p>' in page.text
        assert 'aria-describedby="benchmark_opt_in-hint benchmark_sharing_text"' in page.text
    assert "Delta i jämförelsen mellan bostadsbolag" in admin.get("/console/settings").text


def test_ticking_and_unticking_saves_what_patch_organisation_saves(
    browser: Callable[[], Browser], staff_org: StaffOrg, admin_api: httpx.Client
) -> None:
    admin = admin_of(browser, staff_org)
    page = admin.get("/console/settings")
    data = {**SETTINGS_FORM, "csrf_token": csrf_of(page.text), "benchmark_opt_in": "1"}
    saved = admin.post("/console/settings", data=data)
    assert saved.status_code == 303
    read = admin_api.get("/api/v1/organisation").json()
    assert read["benchmark_opt_in"] is True and read["min_cell_size"] == 12
    assert ticked(admin.get(saved.headers["location"]).text)
    # A refused field elsewhere saves nothing, the box keeps what was ticked.
    refused = admin.post("/console/settings", data={**data, "min_cell_size": "4"})
    assert refused.status_code == 422 and ticked(refused.text)
    # Unticked: the box sends nothing, which is off (PATCH {"benchmark_opt_in": false}).
    off = {k: v for k, v in data.items() if k != "benchmark_opt_in"}
    assert admin.post("/console/settings", data=off).status_code == 303
    assert admin_api.get("/api/v1/organisation").json()["benchmark_opt_in"] is False
    assert not ticked(admin.get("/console/settings").text)
    # Set through the API, the console shows it ticked.
    assert (
        admin_api.patch("/api/v1/organisation", json={"benchmark_opt_in": True}).status_code == 200
    )
    assert ticked(admin.get("/console/settings").text)


@pytest.mark.parametrize("role", ["analyst", "viewer"])
def test_only_an_admin_changes_it(
    browser: Callable[[], Browser], staff_org: StaffOrg, db: sessionmaker[Session], role: str
) -> None:
    client = browser()
    client.log_in(staff_org.emails[role])
    token = csrf_of(client.get("/console/").text)
    assert client.get("/console/settings").status_code == 403
    data = {**SETTINGS_FORM, "csrf_token": token, "benchmark_opt_in": "1"}
    response = client.post("/console/settings", data=data)
    assert response.status_code == 403 and "Din roll tillåter inte detta" in response.text
    with db() as session:
        organisation = organisations_service.get_organisation(session, staff_org.id)
        assert organisation.benchmark_opt_in is False


def test_without_the_csrf_token_nothing_changes(
    browser: Callable[[], Browser], staff_org: StaffOrg, admin_api: httpx.Client
) -> None:
    admin = admin_of(browser, staff_org)
    response = admin.post("/console/settings", data={**SETTINGS_FORM, "benchmark_opt_in": "1"})
    assert response.status_code == 403 and "Inget har ändrats" in response.text
    assert admin_api.get("/api/v1/organisation").json()["benchmark_opt_in"] is False
