"""The console's Rounds section over HTTP, on both databases: what a coordinator does in the
console is what the API then reads (same round, same fields, same counts), roles and CSRF
guard every change, and another organisation's round is exactly as absent as a missing one."""

import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from survey_api.auth import service as auth_service
from survey_api.organisations import service as organisations_service
from tests.api.support import today as swedish_today
from tests.conftest import LiveServer
from tests.helpers import create_area, ok, publish_standard, standard_definition
from tests.staff.conftest import Browser, StaffOrg, csrf_of, make_staff_org

_ROUND_ID = re.compile(r"/console/rounds/(\d+)")
_CODE = re.compile(r"<code>([A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4})</code>")


@dataclass
class World:
    """A staff organisation with an API key, a published version and three areas."""

    org: StaffOrg
    api: httpx.Client
    version_id: int
    area_ids: list[int]


def api_client(server: LiveServer, db: sessionmaker[Session], org_id: int) -> httpx.Client:
    with db() as session:
        organisation = organisations_service.get_organisation(session, org_id)
        key = auth_service.create_api_key(session, organisation, name="analyst", role="analyst")[1]
        session.commit()
    return httpx.Client(
        base_url=server.base_url, headers={"Authorization": f"Bearer {key}"}, timeout=30
    )


def make_world(server: LiveServer, db: sessionmaker[Session]) -> World:
    org = make_staff_org(db)
    api = api_client(server, db, org.id)
    version = publish_standard(api)
    areas = [
        create_area(api, f"a{uuid.uuid4().hex[:6]}", 400 + i, name=name)
        for i, name in enumerate(("Hjällbo", "Hammarkullen", "Kortedala"))
    ]
    return World(org, api, version["id"], [a["id"] for a in areas])


@pytest.fixture
def world(server: LiveServer, db: sessionmaker[Session]) -> Iterator[World]:
    made = make_world(server, db)
    yield made
    made.api.close()


def signed_in(browser: Callable[[], Browser], world: World, role: str = "analyst") -> Browser:
    client = browser()
    assert client.log_in(world.org.emails[role]).status_code == 303
    return client


def wizard_fields(world: World, **overrides: Any) -> dict[str, Any]:
    today = swedish_today()
    return {
        "questionnaire_version_id": str(world.version_id),
        "name": "Trygghetsmätning 2026",
        "period": "2026",
        "area_ids": [str(a) for a in world.area_ids[:2]],
        "open_date": (today - timedelta(days=1)).isoformat(),
        "close_date": (today + timedelta(days=20)).isoformat(),
        "area_links_enabled": "off",
        **overrides,
    }


def create_via_console(client: Browser, world: World, **overrides: Any) -> int:
    page = client.get("/console/rounds/new")
    assert page.status_code == 200
    data = {"csrf_token": csrf_of(page.text), **wizard_fields(world, **overrides)}
    created = client.post("/console/rounds/new", data=data)
    assert created.status_code == 303, created.text
    found = _ROUND_ID.search(created.headers["location"])
    assert found
    return int(found.group(1))


def test_a_round_created_in_the_console_is_the_api_s_round(
    browser: Callable[[], Browser], world: World
) -> None:
    client = signed_in(browser, world)
    round_id = create_via_console(client, world)
    fields = wizard_fields(world)
    stored = ok(world.api.get(f"/api/v1/rounds/{round_id}"))
    assert stored["name"] == fields["name"]
    assert stored["questionnaire_version_id"] == world.version_id
    assert stored["period"] == "2026"
    assert stored["area_ids"] == sorted(world.area_ids[:2])
    assert stored["open_date"] == fields["open_date"]
    assert stored["close_date"] == fields["close_date"]
    assert stored["area_links_enabled"] is False
    assert stored["status"] == "open"
    page = client.get(f"/console/rounds/{round_id}?lang=sv")
    assert page.status_code == 200
    assert "Trygghetsmätning 2026" in page.text and "Hjällbo" in page.text
    assert "Kortedala" not in page.text.split("Utfärda inbjudningskoder")[0]
    listing = client.get("/console/rounds")
    assert listing.status_code == 200
    assert f'href="/console/rounds/{round_id}"' in listing.text
    assert "öppen" in listing.text and "av" in listing.text


def test_the_wizard_shows_the_services_errors_beside_the_fields(
    browser: Callable[[], Browser], world: World
) -> None:
    client = signed_in(browser, world)
    today = swedish_today()
    page = client.get("/console/rounds/new")
    bad = wizard_fields(
        world,
        name="",
        period="2026-X",
        area_ids=[],
        open_date=today.isoformat(),
        close_date=(today - timedelta(days=3)).isoformat(),
    )
    answer = client.post("/console/rounds/new", data={"csrf_token": csrf_of(page.text), **bad})
    assert answer.status_code == 422
    text = answer.text
    assert 'class="error-summary"' in text and "Det finns ett problem" in text
    for anchor in ("#name", "#period", "#area-"):
        assert f'href="{anchor}' in text, anchor
    assert 'id="period-error"' in text and "String should match pattern" in text
    assert 'id="name-error"' in text and 'id="area_ids-error"' in text
    assert 'value="2026-X"' in text  # what was typed is kept
    # A draft version (not offered, but posted anyway): the service's own conflict.
    definition = standard_definition()
    definition["key"] = "utkast"
    draft = ok(world.api.post("/api/v1/questionnaires", json=definition), 201)
    posted = wizard_fields(world, questionnaire_version_id=str(draft["version"]["id"]))
    answer = client.post("/console/rounds/new", data={"csrf_token": csrf_of(page.text), **posted})
    assert answer.status_code == 422 and "is a draft" in answer.text
    assert 'id="questionnaire_version_id-error"' in answer.text
    missing = wizard_fields(world, area_ids=["999999999"])
    answer = client.post("/console/rounds/new", data={"csrf_token": csrf_of(page.text), **missing})
    assert answer.status_code == 422
    assert "no areas with ids 999999999" in answer.text and 'id="area_ids-error"' in answer.text
    assert ok(world.api.get("/api/v1/rounds"))["total"] == 0


def test_issuing_codes_shows_them_once_and_the_api_counts_them(
    browser: Callable[[], Browser], world: World
) -> None:
    client = signed_in(browser, world)
    round_id = create_via_console(client, world, area_links_enabled="on")
    area_id = world.area_ids[0]
    page = client.get(f"/console/rounds/{round_id}")
    issued = client.post(
        f"/console/rounds/{round_id}/invitations",
        data={"csrf_token": csrf_of(page.text), "area_id": str(area_id), "count": "7"},
    )
    assert issued.status_code == 200, issued.text
    codes = _CODE.findall(issued.text)
    assert len(codes) == 7 and len(set(codes)) == 7
    assert "no-store" in issued.headers["cache-control"]
    counts = ok(world.api.get(f"/api/v1/rounds/{round_id}/invitations"))
    by_area = {a["area_id"]: a for a in counts["areas"]}
    assert by_area[area_id]["issued"] == 7 and by_area[world.area_ids[1]]["issued"] == 0
    # The round page shows the count, and "fewer than N" for used codes, like the API.
    again = client.get(f"/console/rounds/{round_id}")
    assert by_area[area_id]["suppressed"] is True
    assert "färre än 10" in again.text
    assert not _CODE.findall(again.text)  # never shown again
    # The print button posts exactly those codes; the letters are web/letters' own.
    form = re.search(r'name="codes" value="([^"]+)"', issued.text)
    assert form and form.group(1).split() == codes
    letters = client.post(
        f"/console/rounds/{round_id}/letters",
        data={"csrf_token": csrf_of(issued.text), "codes": form.group(1)},
    )
    assert letters.status_code == 200, letters.text
    assert letters.headers["content-security-policy"].startswith("default-src 'none'")
    for code in codes:
        assert code in letters.text
    assert letters.text.count('class="qr"') == 7
    # Wrong input: the service's messages beside the fields, nothing issued.
    bad = client.post(
        f"/console/rounds/{round_id}/invitations",
        data={"csrf_token": csrf_of(page.text), "area_id": "", "count": "0"},
    )
    assert bad.status_code == 422 and 'id="count-error"' in bad.text
    assert 'id="area_id-error"' in bad.text
    outside = client.post(
        f"/console/rounds/{round_id}/invitations",
        data={
            "csrf_token": csrf_of(page.text),
            "area_id": str(world.area_ids[2]),
            "count": "3",
        },
    )
    assert outside.status_code == 422 and "does not take part" in outside.text
    assert ok(world.api.get(f"/api/v1/rounds/{round_id}/invitations"))["total"]["issued"] == 7


def test_area_links_off_and_on_posters_and_closing(
    browser: Callable[[], Browser], world: World
) -> None:
    client = signed_in(browser, world)
    round_id = create_via_console(client, world, area_links_enabled="on")
    posters = client.get(f"/console/rounds/{round_id}/posters")
    assert posters.status_code == 200
    links = ok(world.api.get(f"/api/v1/rounds/{round_id}/area-links"))["areas"]
    for link in links:
        path = link["url"].split("/r/")[1]
        assert f"/r/{path}" in posters.text
    assert posters.text.count('class="qr"') == 2
    page = client.get(f"/console/rounds/{round_id}")
    token = csrf_of(page.text)
    off = client.post(
        f"/console/rounds/{round_id}/area-links",
        data={"csrf_token": token, "area_links_enabled": "off"},
    )
    assert off.status_code == 303
    assert ok(world.api.get(f"/api/v1/rounds/{round_id}"))["area_links_enabled"] is False
    assert "Områdeslänkarna är avstängda" in client.get(off.headers["location"]).text
    on = client.post(
        f"/console/rounds/{round_id}/area-links",
        data={"csrf_token": token, "area_links_enabled": "on"},
    )
    assert on.status_code == 303
    assert ok(world.api.get(f"/api/v1/rounds/{round_id}"))["area_links_enabled"] is True
    confirm = client.get(f"/console/rounds/{round_id}/close")
    assert confirm.status_code == 200 and "Ja, stäng mätomgången" in confirm.text
    closed = client.post(f"/console/rounds/{round_id}/close", data={"csrf_token": token})
    assert closed.status_code == 303
    stored = ok(world.api.get(f"/api/v1/rounds/{round_id}"))
    assert stored["status"] == "closed" and stored["closed_at"]
    again = client.post(f"/console/rounds/{round_id}/close", data={"csrf_token": token})
    assert again.status_code == 409 and "already closed" in again.text
    # A closed round offers no code issuing, and the service refuses it anyway.
    page = client.get(f"/console/rounds/{round_id}")
    assert "Utfärda koder" not in page.text
    refused = client.post(
        f"/console/rounds/{round_id}/invitations",
        data={"csrf_token": token, "area_id": str(world.area_ids[0]), "count": "2"},
    )
    assert refused.status_code == 409 and "is closed" in refused.text


def test_a_viewer_reads_but_changes_nothing(browser: Callable[[], Browser], world: World) -> None:
    analyst = signed_in(browser, world)
    round_id = create_via_console(analyst, world, area_links_enabled="on")
    viewer = signed_in(browser, world, "viewer")
    listing = viewer.get("/console/rounds")
    assert listing.status_code == 200 and "Skapa en mätomgång" not in listing.text
    page = viewer.get(f"/console/rounds/{round_id}")
    assert page.status_code == 200
    assert "Utfärda koder" not in page.text and "Stäng mätomgången" not in page.text
    token = csrf_of(page.text)  # the logout form's, a valid token of the viewer's session
    for method, path, data in (
        ("GET", "/console/rounds/new", {}),
        ("POST", "/console/rounds/new", wizard_fields(world)),
        ("POST", f"/console/rounds/{round_id}/invitations", {"area_id": "1", "count": "2"}),
        ("POST", f"/console/rounds/{round_id}/letters", {"codes": "AAAA-AAAA-AAAA"}),
        ("GET", f"/console/rounds/{round_id}/posters", {}),
        ("POST", f"/console/rounds/{round_id}/area-links", {"area_links_enabled": "off"}),
        ("GET", f"/console/rounds/{round_id}/close", {}),
        ("POST", f"/console/rounds/{round_id}/close", {}),
    ):
        answer = viewer.request(method, path, data={"csrf_token": token, **data})
        assert answer.status_code == 403, (method, path)
        assert "Din roll tillåter inte detta" in answer.text
    stored = ok(world.api.get(f"/api/v1/rounds/{round_id}"))
    assert stored["status"] == "open" and stored["area_links_enabled"] is True
    assert ok(world.api.get("/api/v1/rounds"))["total"] == 1
    assert ok(world.api.get(f"/api/v1/rounds/{round_id}/invitations"))["total"]["issued"] == 0


@pytest.mark.parametrize("token", [None, "wrong"])
def test_a_post_without_the_csrf_token_changes_nothing(
    browser: Callable[[], Browser], world: World, token: str | None
) -> None:
    client = signed_in(browser, world)
    round_id = create_via_console(client, world, area_links_enabled="on")
    extra = {} if token is None else {"csrf_token": token}
    for path, data in (
        ("/console/rounds/new", wizard_fields(world, name="Forged")),
        (f"/console/rounds/{round_id}/invitations", {"area_id": str(world.area_ids[0])}),
        (f"/console/rounds/{round_id}/area-links", {"area_links_enabled": "off"}),
        (f"/console/rounds/{round_id}/close", {}),
    ):
        answer = client.post(path, data={**data, **extra, "count": "3"})
        assert answer.status_code == 403, path
        assert "Inget har ändrats" in answer.text
    stored = ok(world.api.get(f"/api/v1/rounds/{round_id}"))
    assert stored["status"] == "open" and stored["area_links_enabled"] is True
    assert ok(world.api.get("/api/v1/rounds"))["total"] == 1
    assert ok(world.api.get(f"/api/v1/rounds/{round_id}/invitations"))["total"]["issued"] == 0


# Every console rounds route with an id, walked with another organisation's round id.
ROUND_ROUTES = (
    ("GET", "/console/rounds/{round_id}"),
    ("POST", "/console/rounds/{round_id}/invitations"),
    ("POST", "/console/rounds/{round_id}/letters"),
    ("GET", "/console/rounds/{round_id}/posters"),
    ("POST", "/console/rounds/{round_id}/area-links"),
    ("GET", "/console/rounds/{round_id}/close"),
    ("POST", "/console/rounds/{round_id}/close"),
)


def test_another_organisations_round_is_exactly_like_a_missing_one(
    browser: Callable[[], Browser], world: World, server: LiveServer, db: sessionmaker[Session]
) -> None:
    theirs_world = make_world(server, db)
    try:
        owner = signed_in(browser, theirs_world)
        theirs = create_via_console(owner, theirs_world, area_links_enabled="on")
        client = signed_in(browser, world, "admin")
        token = csrf_of(client.get("/console/rounds").text)
        data = {
            "csrf_token": token,
            "area_id": str(theirs_world.area_ids[0]),
            "count": "2",
            "codes": "AAAA-AAAA-AAAA",
            "area_links_enabled": "off",
        }
        missing = 2_000_000_000
        for method, template in ROUND_ROUTES:
            answers = [
                client.request(
                    method,
                    template.format(round_id=round_id),
                    data=data if method == "POST" else None,
                )
                for round_id in (theirs, missing, "abc")
            ]
            assert [a.status_code for a in answers] == [404, 404, 404], (method, template)
            texts = {
                a.text.replace(str(missing), "ID").replace(str(theirs), "ID").replace("abc", "ID")
                for a in answers
            }
            assert len(texts) == 1, (method, template)
            assert "Här finns ingenting" in answers[0].text
        stored = ok(theirs_world.api.get(f"/api/v1/rounds/{theirs}"))
        assert stored["status"] == "open" and stored["area_links_enabled"] is True
        counts = ok(theirs_world.api.get(f"/api/v1/rounds/{theirs}/invitations"))
        assert counts["total"]["issued"] == 0
    finally:
        theirs_world.api.close()


def test_the_list_pages_newest_first(browser: Callable[[], Browser], world: World) -> None:
    client = signed_in(browser, world)
    today = swedish_today()
    for month in range(1, 23):
        body = {
            "name": f"Månad {month}",
            "questionnaire_version_id": world.version_id,
            "period": f"{2000 + (month - 1) // 12}-{(month - 1) % 12 + 1:02d}",
            "area_ids": world.area_ids[:1],
            "open_date": today.isoformat(),
            "close_date": today.isoformat(),
        }
        ok(world.api.post("/api/v1/rounds", json=body), 201)
    first = client.get("/console/rounds?lang=en")
    assert first.status_code == 200 and "page 1 of 2" in first.text
    names = re.findall(r'rounds/\d+\?lang=en">([^<]+)</a>', first.text)
    assert names[0] == "Månad 22" and len(names) == 20
    assert 'rel="next"' in first.text and 'rel="prev"' not in first.text
    second = client.get("/console/rounds?page=2&lang=en")
    assert re.findall(r'rounds/\d+\?lang=en">([^<]+)</a>', second.text) == ["Månad 2", "Månad 1"]
    assert client.get("/console/rounds?page=x").status_code == 200
