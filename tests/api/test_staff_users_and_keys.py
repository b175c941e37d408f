"""(admin) Staff users and API keys through the API: what the console's Staff users and Keys
pages do, on the same services (both databases).

A staff user made here sets a password through the link the answer holds and signs in to the
console; role changes, switching off, password links and sign-outs take effect on that real
console session. An API key made here works until it is revoked here.
"""

import re
from collections.abc import Iterator

import httpx
import pytest

from tests.api.support import error_locs, problem
from tests.conftest import LiveServer, Org
from tests.helpers import ok
from tests.staff.conftest import PASSWORD, console_server, csrf_of

__all__ = ["console_server"]

_TOKEN = re.compile(r"/console/set-password/([A-Za-z0-9_-]{20,})$")


@pytest.fixture
def console(console_server: LiveServer) -> Iterator[httpx.Client]:
    """A browser-like client of the console, on a server of the same database whose public
    address is its own (so its cookies are not Secure-only, as on any http://localhost)."""
    with httpx.Client(
        base_url=console_server.base_url, timeout=30, follow_redirects=False
    ) as client:
        yield client


def set_password(client: httpx.Client, link: str, password: str = PASSWORD) -> httpx.Response:
    """Open a set-password link (whatever its host) and choose a password on its form."""
    match = _TOKEN.search(link)
    assert match, link
    path = f"/console/set-password/{match.group(1)}"
    page = client.get(path)
    if 'name="csrf_token"' not in page.text:
        return page  # the link's "does not work" page
    return client.post(
        path,
        data={"csrf_token": csrf_of(page.text), "password": password, "password_again": password},
    )


def log_in(client: httpx.Client, email: str, password: str = PASSWORD) -> httpx.Response:
    page = client.get("/console/login")
    return client.post(
        "/console/login",
        data={"csrf_token": csrf_of(page.text), "email": email, "password": password},
    )


def new_user(org: Org, email: str, role: str = "analyst") -> dict[str, object]:
    return ok(org.admin.post("/api/v1/staff-users", json={"email": email, "role": role}), 201)


def test_a_user_made_through_the_api_chooses_a_password_and_signs_in(
    org: Org, console: httpx.Client
) -> None:
    created = new_user(org, f"  Anna.Berg.{org.slug}@Bolaget.example ")
    email = f"anna.berg.{org.slug}@bolaget.example"
    assert created["email"] == email and created["role"] == "analyst"
    assert created["active"] is True and created["has_password"] is False
    link = created["password_link"]
    assert isinstance(link, dict) and link["url"].startswith("http://testserver.invalid/console/")
    assert "password_hash" not in str(created)
    assert set_password(console, link["url"]).status_code == 303
    assert set_password(console, link["url"]).status_code == 410  # once only
    assert log_in(console, email).status_code == 303
    assert console.get("/console/").status_code == 200
    read = ok(org.admin.get(f"/api/v1/staff-users/{created['id']}"))
    assert read["has_password"] is True and read["password_changed_at"] is not None
    listed = ok(org.admin.get("/api/v1/staff-users"))
    assert [u["email"] for u in listed["items"]] == [email] and listed["total"] == 1


def test_bad_new_users_are_refused_and_nothing_is_stored(org: Org, make_org: object) -> None:
    new_user(org, f"taken.{org.slug}@x.example")
    assert (
        problem(
            org.admin.post(
                "/api/v1/staff-users",
                json={"email": f"TAKEN.{org.slug}@x.example", "role": "viewer"},
            ),
            409,
        )["detail"]
        == f"a staff user with the e-mail taken.{org.slug}@x.example exists already"
    )
    assert (
        "not an e-mail address"
        in problem(
            org.admin.post("/api/v1/staff-users", json={"email": "no-at-sign", "role": "viewer"}),
            400,
        )["detail"]
    )
    cases = [
        ({"email": "a@b.example", "role": "owner"}, ["body", "role"]),
        ({"email": "a@b.example"}, ["body", "role"]),
        ({"email": "a@b.example", "role": "viewer", "password": "x"}, ["body", "password"]),
        ({"email": "a\x00@b.example", "role": "viewer"}, ["body", "email"]),
        ({"email": 12, "role": "viewer"}, ["body", "email"]),
    ]
    for body, loc in cases:
        assert loc in error_locs(problem(org.admin.post("/api/v1/staff-users", json=body), 422))
    assert ok(org.admin.get("/api/v1/staff-users"))["total"] == 1


@pytest.mark.parametrize("role", ["analyst", "integrator"])
def test_only_admin_keys_manage_users_and_keys(org: Org, role: str) -> None:
    client = org.clients[role]
    for method, path, body in [
        ("GET", "/api/v1/staff-users", None),
        ("POST", "/api/v1/staff-users", {"email": "x@y.example", "role": "admin"}),
        ("GET", "/api/v1/api-keys", None),
        ("POST", "/api/v1/api-keys", {"name": "mine", "role": "admin"}),
    ]:
        problem(client.request(method, path, json=body), 403)
    assert ok(org.admin.get("/api/v1/staff-users"))["total"] == 0
    assert ok(org.admin.get("/api/v1/api-keys"))["total"] == 3


def test_the_organisation_keeps_an_active_admin(org: Org) -> None:
    first = new_user(org, f"first.{org.slug}@x.example", "admin")
    for change in ({"role": "analyst"}, {"active": False}):
        body = problem(org.admin.patch(f"/api/v1/staff-users/{first['id']}", json=change), 409)
        assert "only active admin" in body["detail"]
    second = new_user(org, f"second.{org.slug}@x.example", "admin")
    demoted = ok(org.admin.patch(f"/api/v1/staff-users/{first['id']}", json={"role": "viewer"}))
    assert demoted["role"] == "viewer"
    problem(org.admin.patch(f"/api/v1/staff-users/{second['id']}", json={"active": False}), 409)
    problem(org.admin.patch(f"/api/v1/staff-users/{second['id']}", json={"role": "boss"}), 422)
    problem(org.admin.patch(f"/api/v1/staff-users/{second['id']}", json={"active": "no"}), 422)
    assert ok(org.admin.get(f"/api/v1/staff-users/{second['id']}"))["role"] == "admin"


def test_switching_off_a_new_role_a_reset_and_a_sign_out_reach_the_console_session(
    org: Org, console_server: LiveServer
) -> None:
    email = f"coordinator.{org.slug}@x.example"
    created = new_user(org, email, "admin")
    new_user(org, f"boss.{org.slug}@x.example", "admin")
    uid = created["id"]
    with httpx.Client(base_url=console_server.base_url, timeout=30) as person:
        assert set_password(person, created["password_link"]["url"]).status_code == 303  # type: ignore[index]
        assert log_in(person, email).status_code == 303
        assert person.get("/console/users").status_code == 200
        # A new role applies from the next request.
        ok(org.admin.patch(f"/api/v1/staff-users/{uid}", json={"role": "viewer"}))
        assert person.get("/console/users").status_code == 403
        assert person.get("/console/").status_code == 200
        # Signed out everywhere: the session stops, the password stays.
        assert org.admin.delete(f"/api/v1/staff-users/{uid}/sessions").status_code == 204
        assert person.get("/console/").status_code == 303
        assert log_in(person, email).status_code == 303
        # Switched off: signed out, and no sign-in until switched on.
        ok(org.admin.patch(f"/api/v1/staff-users/{uid}", json={"active": False}))
        assert person.get("/console/").status_code == 303
        assert log_in(person, email).status_code == 401
        ok(org.admin.patch(f"/api/v1/staff-users/{uid}", json={"active": True}))
        assert log_in(person, email).status_code == 303
        # A new password link: the old password and the session stop working.
        link = ok(org.admin.post(f"/api/v1/staff-users/{uid}/password-link"), 201)
        assert person.get("/console/").status_code == 303
        assert log_in(person, email).status_code == 401
        assert set_password(person, link["url"], "ett helt nytt lösenord").status_code == 303
        assert log_in(person, email, "ett helt nytt lösenord").status_code == 303


def test_an_api_key_made_through_the_api_works_until_revoked(org: Org, server: LiveServer) -> None:
    created = ok(
        org.admin.post(
            "/api/v1/api-keys", json={"name": "Fastighetssystemet", "role": "integrator"}
        ),
        201,
    )
    secret = created["secret"]
    assert secret.startswith(created["prefix"]) and created["revoked_at"] is None
    listed = ok(org.admin.get("/api/v1/api-keys"))
    assert listed["total"] == 4 and secret not in str(listed)
    assert {k["name"] for k in listed["items"]} >= {"Fastighetssystemet"}
    with httpx.Client(
        base_url=server.base_url, headers={"Authorization": f"Bearer {secret}"}, timeout=30
    ) as integrator:
        assert integrator.get("/api/v1/organisation").status_code == 200
        problem(integrator.get("/api/v1/api-keys"), 403)
        assert org.admin.delete(f"/api/v1/api-keys/{created['id']}").status_code == 204
        problem(integrator.get("/api/v1/organisation"), 401)
    assert org.admin.delete(f"/api/v1/api-keys/{created['id']}").status_code == 204  # again
    (revoked,) = [
        k for k in ok(org.admin.get("/api/v1/api-keys"))["items"] if k["id"] == created["id"]
    ]
    assert revoked["revoked_at"] is not None


def test_bad_api_keys_are_refused_and_nothing_is_stored(org: Org) -> None:
    cases = [
        ({"name": "x", "role": "owner"}, ["body", "role"]),
        ({"name": "", "role": "admin"}, ["body", "name"]),
        ({"name": "   ", "role": "admin"}, ["body", "name"]),
        ({"name": "x" * 201, "role": "admin"}, ["body", "name"]),
        ({"name": "a\x00b", "role": "admin"}, ["body", "name"]),
        ({"name": "x", "role": "admin", "secret": "sak_mine"}, ["body", "secret"]),
        ({"role": "admin"}, ["body", "name"]),
    ]
    for body, loc in cases:
        assert loc in error_locs(problem(org.admin.post("/api/v1/api-keys", json=body), 422))
    assert ok(org.admin.get("/api/v1/api-keys"))["total"] == 3


def test_no_password_link_for_a_switched_off_account(org: Org) -> None:
    user = new_user(org, f"avstangd.{org.slug}@x.example")
    new_user(org, f"chef.{org.slug}@x.example", "admin")
    ok(org.admin.patch(f"/api/v1/staff-users/{user['id']}", json={"active": False}))
    body = problem(org.admin.post(f"/api/v1/staff-users/{user['id']}/password-link"), 409)
    assert "switch the account on first" in body["detail"]
    ok(org.admin.patch(f"/api/v1/staff-users/{user['id']}", json={"active": True}))
    assert org.admin.post(f"/api/v1/staff-users/{user['id']}/password-link").status_code == 201


def test_timestamps_carry_their_offset(org: Org) -> None:
    new_user(org, f"tid.{org.slug}@x.example")
    for path in ("/api/v1/staff-users", "/api/v1/api-keys"):
        (first, *_rest) = ok(org.admin.get(path))["items"]
        assert first["created_at"].endswith(("Z", "+00:00")), (path, first["created_at"])
