"""(admin) The console's Staff users page: add a user (the link shown once), change a role,
switch an account off and on, a new password link, sign out everywhere — on the service the
API's /staff-users routes use, so both store the same thing (both databases)."""

import re
from collections.abc import Callable, Iterator

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from survey_api.auth import service as auth_service
from survey_api.organisations import service as organisations_service
from tests.conftest import LiveServer
from tests.staff.conftest import PASSWORD, Browser, StaffOrg, csrf_of, make_staff_org

_LINK = re.compile(r"<code>(http://[^<]+/console/set-password/[A-Za-z0-9_-]+)</code>")

# Walked with another organisation's user id below (see WALKED_CONSOLE_ROUTES).
USER_ROUTES = {
    ("POST", "/console/users/{staff_user_id}/reset"),
    ("POST", "/console/users/{staff_user_id}/role"),
    ("POST", "/console/users/{staff_user_id}/active"),
    ("POST", "/console/users/{staff_user_id}/sign-out"),
}


@pytest.fixture
def admin_api(
    console_server: LiveServer, db: sessionmaker[Session], staff_org: StaffOrg
) -> Iterator[httpx.Client]:
    """An admin API key of the staff organisation, to read back what the console stored."""
    with db() as session:
        organisation = organisations_service.get_organisation(session, staff_org.id)
        _key, secret = auth_service.create_api_key(session, organisation, name="t", role="admin")
        session.commit()
    with httpx.Client(
        base_url=console_server.base_url, headers={"Authorization": f"Bearer {secret}"}, timeout=30
    ) as client:
        yield client


def admin_of(browser: Callable[[], Browser], org: StaffOrg) -> Browser:
    client = browser()
    assert client.log_in(org.emails["admin"]).status_code == 303
    return client


def api_users(admin_api: httpx.Client) -> dict[str, dict[str, object]]:
    response = admin_api.get("/api/v1/staff-users")
    assert response.status_code == 200, response.text
    return {user["email"]: user for user in response.json()["items"]}


def test_an_admin_adds_a_user_who_then_signs_in(
    browser: Callable[[], Browser], staff_org: StaffOrg, admin_api: httpx.Client
) -> None:
    admin = admin_of(browser, staff_org)
    email = f"ny.samordnare.{staff_org.slug}@x.example"
    added = admin.form("/console/users", email=f" {email.upper()} ", role="analyst")
    assert added.status_code == 200
    assert "kan nu välja ett lösenord" in added.text
    (link,) = _LINK.findall(added.text)
    assert added.headers["cache-control"].startswith("no-store")
    # Shown once: the list afterwards has no link.
    assert "/console/set-password/" not in admin.get("/console/users").text
    stored = api_users(admin_api)[email]
    assert stored["role"] == "analyst" and stored["has_password"] is False
    person = browser()
    path = link.split("://", 1)[1].split("/", 1)[1]
    assert person.form(f"/{path}", password=PASSWORD, password_again=PASSWORD).status_code == 303
    assert person.log_in(email).status_code == 303
    assert person.get("/console/").status_code == 200
    assert api_users(admin_api)[email]["has_password"] is True


@pytest.mark.parametrize(
    ("email", "role", "message"),
    [
        ("inte-en-adress", "analyst", "Skriv personens e-postadress"),
        ("", "viewer", "Skriv personens e-postadress"),
        ("ok@x.example", "owner", "Välj en roll."),
        ("ok@x.example", "", "Välj en roll."),
    ],
)
def test_a_bad_new_user_reshows_the_form_and_stores_nothing(
    browser: Callable[[], Browser],
    staff_org: StaffOrg,
    admin_api: httpx.Client,
    email: str,
    role: str,
    message: str,
) -> None:
    admin = admin_of(browser, staff_org)
    before = api_users(admin_api)
    answer = admin.form("/console/users", email=email, role=role)
    assert answer.status_code == 422
    assert message in answer.text and 'role="alert"' in answer.text
    assert "<title>Fel: " in answer.text
    assert api_users(admin_api) == before


def test_an_address_with_an_account_is_refused(
    browser: Callable[[], Browser], staff_org: StaffOrg, admin_api: httpx.Client
) -> None:
    admin = admin_of(browser, staff_org)
    answer = admin.form("/console/users", email=staff_org.emails["viewer"], role="admin")
    assert answer.status_code == 422
    assert "Den e-postadressen har redan ett konto." in answer.text
    assert api_users(admin_api)[staff_org.emails["viewer"]]["role"] == "viewer"


def test_role_changes_switching_off_and_sign_out_act_on_the_person(
    browser: Callable[[], Browser], staff_org: StaffOrg, admin_api: httpx.Client
) -> None:
    admin = admin_of(browser, staff_org)
    viewer_id = staff_org.user_ids["viewer"]
    person = browser()
    assert person.log_in(staff_org.emails["viewer"]).status_code == 303
    assert person.get("/console/settings").status_code == 403

    changed = admin.form(f"/console/users/{viewer_id}/role", "/console/users", role="admin")
    assert changed.status_code == 303
    notice = admin.get(changed.headers["location"]).text
    assert f"{staff_org.emails['viewer']} är nu administratör." in notice
    assert api_users(admin_api)[staff_org.emails["viewer"]]["role"] == "admin"
    assert person.get("/console/settings").status_code == 200  # from the next request

    out = admin.form(f"/console/users/{viewer_id}/sign-out", "/console/users")
    assert out.status_code == 303
    assert person.get("/console/").status_code == 303  # to the login page
    assert person.log_in(staff_org.emails["viewer"]).status_code == 303  # password kept

    off = admin.form(f"/console/users/{viewer_id}/active", "/console/users", active="0")
    assert "är avstängd" in admin.get(off.headers["location"]).text
    assert person.get("/console/").status_code == 303
    assert browser().log_in(staff_org.emails["viewer"]).status_code == 401
    assert api_users(admin_api)[staff_org.emails["viewer"]]["active"] is False

    admin.form(f"/console/users/{viewer_id}/active", "/console/users", active="1")
    assert browser().log_in(staff_org.emails["viewer"]).status_code == 303


def test_the_last_active_admin_stays(
    browser: Callable[[], Browser], staff_org: StaffOrg, admin_api: httpx.Client
) -> None:
    admin = admin_of(browser, staff_org)
    admin_id = staff_org.user_ids["admin"]
    page = admin.get("/console/users").text
    # No "switch off" button for oneself; the role change is refused by the service's rule.
    assert f'action="/console/users/{admin_id}/active"' not in page
    refused = admin.form(f"/console/users/{admin_id}/role", "/console/users", role="viewer")
    assert refused.status_code == 409
    assert "enda aktiva administratör" in refused.text
    assert api_users(admin_api)[staff_org.emails["admin"]]["role"] == "admin"


def test_analysts_and_viewers_cannot_manage_users(
    browser: Callable[[], Browser], staff_org: StaffOrg, admin_api: httpx.Client
) -> None:
    token = csrf_of(admin_of(browser, staff_org).get("/console/users").text)
    for role in ("analyst", "viewer"):
        client = browser()
        client.log_in(staff_org.emails[role])
        assert client.get("/console/users").status_code == 403
        home = client.get("/console/").text
        for method, path, data in [
            ("POST", "/console/users", {"email": "x@y.example", "role": "admin"}),
            ("POST", f"/console/users/{staff_org.user_ids['viewer']}/role", {"role": "admin"}),
            ("POST", f"/console/users/{staff_org.user_ids['admin']}/active", {"active": "0"}),
        ]:
            answer = client.request(method, path, data={"csrf_token": csrf_of(home), **data})
            assert answer.status_code == 403, (role, path)
    assert token  # the admin's page did have a form
    stored = api_users(admin_api)
    assert "x@y.example" not in stored
    assert stored[staff_org.emails["viewer"]]["role"] == "viewer"
    assert stored[staff_org.emails["admin"]]["active"] is True


def test_another_organisations_user_answers_like_a_missing_one(
    browser: Callable[[], Browser], staff_org: StaffOrg, db: sessionmaker[Session]
) -> None:
    other = make_staff_org(db)
    theirs = other.user_ids["viewer"]
    admin = admin_of(browser, staff_org)
    assert other.emails["viewer"] not in admin.get("/console/users").text
    token = csrf_of(admin.get("/console/users").text)
    fields = {"role": "admin", "active": "0"}
    for _method, template in sorted(USER_ROUTES):
        mine = admin.post(
            template.replace("{staff_user_id}", str(theirs)), data={"csrf_token": token, **fields}
        )
        missing = admin.post(
            template.replace("{staff_user_id}", "999999999"), data={"csrf_token": token, **fields}
        )
        assert mine.status_code == missing.status_code == 404, template
        assert mine.text.replace(f"/users/{theirs}/", "/users/N/") == missing.text.replace(
            "/users/999999999/", "/users/N/"
        )
    # Their viewer is untouched: still a viewer, still able to sign in.
    person = browser()
    assert person.log_in(other.emails["viewer"]).status_code == 303
    assert person.get("/console/settings").status_code == 403
