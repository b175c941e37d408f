"""Signing in to the staff console: login, logout, session fixation, CSRF, passwords, set-password
links, throttling, roles and organisation scoping, the CLI, and no secrets in logs."""

import logging
import os
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from survey_api.config import Settings
from survey_api.console.auth import SESSION_COOKIE, cookie_secure
from survey_api.log_redaction import RedactInvitationCodes
from survey_api.models import StaffPasswordToken, StaffSession, StaffUser, utcnow
from survey_api.organisations import service as organisations_service
from survey_api.staff import service as staff_service
from survey_api.staff.throttle import LoginThrottle
from tests.conftest import LiveServer
from tests.staff.conftest import (
    PASSWORD,
    Browser,
    Collect,
    StaffOrg,
    csrf_of,
    make_staff_org,
    serve_console,
)
from tests.staff.test_console_areas import AREA_ROUTES
from tests.staff.test_console_imports import IMPORT_ROUTES
from tests.staff.test_console_interventions import INTERVENTION_ROUTES
from tests.staff.test_console_questionnaires import QUESTIONNAIRE_ROUTES
from tests.staff.test_console_results import RESULTS_ROUTES
from tests.staff.test_console_rounds import ROUND_ROUTES
from tests.staff.test_console_settings import KEY_ROUTES
from tests.staff.test_console_users import USER_ROUTES
from tests.staff.test_console_webhooks import WEBHOOK_ROUTES

NEW_PASSWORD = "ett helt annat lösenord"


def session_cookie(response: httpx.Response) -> str:
    """The Set-Cookie header of the session cookie."""
    headers = [h for h in response.headers.get_list("set-cookie") if h.startswith(SESSION_COOKIE)]
    assert len(headers) == 1, response.headers
    return headers[0]


def test_login_sets_a_safe_cookie_and_opens_the_overview(
    browser: Callable[[], Browser], staff_org: StaffOrg
) -> None:
    client = browser()
    response = client.log_in(staff_org.emails["admin"])
    assert response.status_code == 303 and response.headers["location"] == "/console/"
    cookie = session_cookie(response).lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "path=/console" in cookie
    assert "secure" not in cookie  # http on 127.0.0.1: a browser would drop a Secure cookie
    page = client.get("/console/")
    assert page.status_code == 200 and "<h1>Översikt</h1>" in page.text
    assert staff_org.emails["admin"] in page.text
    assert "script" not in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"


def test_cookies_are_secure_except_plain_http_on_this_machine() -> None:
    def secure(url: str) -> bool:
        return cookie_secure(Settings(public_base_url=url))

    assert not secure("http://127.0.0.1:8000") and not secure("http://localhost:8000")
    assert secure("https://enkat.example.se") and secure("http://enkat.example.se")
    assert secure("https://127.0.0.1:8443")


def test_wrong_password_or_unknown_account_answers_alike(
    browser: Callable[[], Browser], staff_org: StaffOrg
) -> None:
    client = browser()
    wrong = client.log_in(staff_org.emails["admin"], "inte rätt lösenord")
    unknown = client.log_in("nobody@x.example")
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert "Fel e-postadress eller lösenord." in response.text
        assert not [h for h in response.headers.get_list("set-cookie") if "console_session" in h]
    assert client.get("/console/").status_code == 303


def test_without_a_session_the_console_sends_to_login(browser: Callable[[], Browser]) -> None:
    client = browser()
    response = client.get("/console/password?lang=en")
    assert response.status_code == 303
    assert response.headers["location"] == "/console/login?next=%2Fconsole%2Fpassword&lang=en"
    client.cookies.set(SESSION_COOKIE, "made-up", path="/console")
    assert client.get("/console/").headers["location"] == "/console/login"


def test_login_goes_on_to_next_but_never_off_site(
    browser: Callable[[], Browser], staff_org: StaffOrg
) -> None:
    client = browser()
    page = client.get("/console/login?next=/console/password").text
    response = client.post(
        "/console/login",
        data={
            "csrf_token": csrf_of(page),
            "email": staff_org.emails["admin"],
            "password": PASSWORD,
            "next": "//evil.example/console/",
        },
    )
    assert response.headers["location"] == "/console/"


def test_login_gives_a_new_session_and_revokes_the_one_before(
    browser: Callable[[], Browser], staff_org: StaffOrg, db: sessionmaker[Session]
) -> None:
    client = browser()
    planted = "planted-by-an-attacker"
    client.cookies.set(SESSION_COOKIE, planted, domain="127.0.0.1", path="/console")
    first = client.log_in(staff_org.emails["admin"])
    first_token = client.cookies[SESSION_COOKIE]
    assert first_token != planted and planted not in session_cookie(first)
    # A browser carrying a live session (say, a colleague's, left signed in) that logs in
    # again gets a new session, and the one it carried is revoked.
    again = browser()
    page = again.get("/console/login").text
    again.cookies.set(SESSION_COOKIE, first_token, domain="127.0.0.1", path="/console")
    second = again.post(
        "/console/login",
        data={
            "csrf_token": csrf_of(page),
            "email": staff_org.emails["admin"],
            "password": PASSWORD,
        },
    )
    assert second.status_code == 303
    second_token = again.cookies[SESSION_COOKIE]
    assert second_token != first_token
    assert client.get("/console/").status_code == 303
    with db() as session:
        rows = {
            s.token_hash: s
            for s in session.scalars(
                select(StaffSession).where(
                    StaffSession.staff_user_id == staff_org.user_ids["admin"]
                )
            )
        }
        assert rows[staff_service.hash_token(first_token)].revoked_at is not None
        assert rows[staff_service.hash_token(second_token)].revoked_at is None
        # Only hashes are stored.
        assert first_token not in rows and second_token not in rows


def test_logout_revokes_the_session(
    browser: Callable[[], Browser], staff_org: StaffOrg, console_server: LiveServer
) -> None:
    client = browser()
    client.log_in(staff_org.emails["analyst"])
    token = client.cookies[SESSION_COOKIE]
    response = client.form("/console/logout", page="/console/")
    assert response.status_code == 303
    assert response.headers["location"] == "/console/login?notice=logged_out"
    assert 'console_session=""' in session_cookie(response)
    # The old cookie, replayed by someone who kept it, no longer works.
    with httpx.Client(base_url=console_server.base_url, follow_redirects=False) as replay:
        replay.cookies.set(SESSION_COOKIE, token, path="/console")
        assert replay.get("/console/").status_code == 303


@pytest.mark.parametrize("token", [None, "wrong"])
def test_a_post_without_the_csrf_token_changes_nothing(
    browser: Callable[[], Browser], staff_org: StaffOrg, token: str | None
) -> None:
    client = browser()
    client.log_in(staff_org.emails["admin"])
    fields = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    fields["new_password_again"] = NEW_PASSWORD
    if token is not None:
        fields["csrf_token"] = token
    response = client.post("/console/password", data=fields)
    assert response.status_code == 403 and "Inget har ändrats" in response.text
    logout = client.post("/console/logout", data={} if token is None else {"csrf_token": token})
    assert logout.status_code == 403
    reset = client.post(f"/console/users/{staff_org.user_ids['viewer']}/reset", data=fields)
    assert reset.status_code == 403
    # Still signed in, the password unchanged, the viewer's password still works.
    assert client.get("/console/").status_code == 200
    assert browser().log_in(staff_org.emails["admin"]).status_code == 303
    assert browser().log_in(staff_org.emails["viewer"]).status_code == 303


def test_a_login_post_from_elsewhere_is_refused(
    browser: Callable[[], Browser], staff_org: StaffOrg
) -> None:
    client = browser()
    data = {"email": staff_org.emails["admin"], "password": PASSWORD, "csrf_token": "guess"}
    response = client.post("/console/login", data=data)
    assert response.status_code == 403
    assert not [h for h in response.headers.get_list("set-cookie") if "console_session" in h]


def test_password_change_needs_the_current_password(
    browser: Callable[[], Browser], staff_org: StaffOrg
) -> None:
    email = staff_org.emails["analyst"]
    client, other = browser(), browser()
    client.log_in(email)
    other.log_in(email)
    wrong = client.form(
        "/console/password",
        current_password="fel",
        new_password=NEW_PASSWORD,
        new_password_again=NEW_PASSWORD,
    )
    assert wrong.status_code == 422 and "Ditt nuvarande lösenord stämmer inte." in wrong.text
    short = client.form(
        "/console/password",
        current_password=PASSWORD,
        new_password="kort",
        new_password_again="kort",
    )
    assert short.status_code == 422 and "minst 10 tecken" in short.text
    done = client.form(
        "/console/password",
        current_password=PASSWORD,
        new_password=NEW_PASSWORD,
        new_password_again=NEW_PASSWORD,
    )
    assert done.status_code == 303 and done.headers["location"] == "/console/password?changed=1"
    assert "Ditt lösenord är bytt" in client.get("/console/password?changed=1").text
    assert other.get("/console/").status_code == 303  # the other session is signed out
    assert browser().log_in(email).status_code == 401
    assert browser().log_in(email, NEW_PASSWORD).status_code == 303


def test_a_set_password_link_works_once_and_expires(
    browser: Callable[[], Browser], db: sessionmaker[Session], console_server: LiveServer
) -> None:
    org = make_staff_org(db)
    with db() as session:
        organisation = organisations_service.get_organisation(session, org.id)
        user, token = staff_service.create_user(
            session, organisation, f"ny.{org.slug}@x.example", "analyst"
        )
        _, expired = staff_service.create_user(
            session, organisation, f"sen.{org.slug}@x.example", "viewer"
        )
        session.flush()
        for row in session.scalars(
            select(StaffPasswordToken).where(
                StaffPasswordToken.token_hash == staff_service.hash_token(expired)
            )
        ):
            row.expires_at = utcnow() - timedelta(minutes=1)
        session.commit()
    link = staff_service.set_password_link(console_server.base_url, token)
    path = link.removeprefix(console_server.base_url)
    client = browser()
    page = client.get(path)
    assert page.status_code == 200 and user.email in page.text
    mismatch = client.form(path, password=NEW_PASSWORD, password_again=NEW_PASSWORD + "x")
    assert mismatch.status_code == 422 and "inte likadana" in mismatch.text
    done = client.form(path, password=NEW_PASSWORD, password_again=NEW_PASSWORD)
    assert done.headers["location"] == "/console/login?notice=password_set"
    assert client.get(path).status_code == 410
    replay = client.post(path, data={"csrf_token": "x", "password": "a" * 12})
    assert replay.status_code in (403, 410)
    assert browser().log_in(user.email, NEW_PASSWORD).status_code == 303
    stale = client.get(f"/console/set-password/{expired}")
    assert stale.status_code == 410 and "Länken fungerar inte" in stale.text


def test_an_admin_reset_signs_the_user_out_and_gives_a_new_link(
    browser: Callable[[], Browser], staff_org: StaffOrg, console_server: LiveServer
) -> None:
    viewer = browser()
    viewer.log_in(staff_org.emails["viewer"])
    admin = browser()
    admin.log_in(staff_org.emails["admin"])
    users = admin.get("/console/users")
    assert users.status_code == 200 and staff_org.emails["viewer"] in users.text
    reset = admin.post(
        f"/console/users/{staff_org.user_ids['viewer']}/reset",
        data={"csrf_token": csrf_of(users.text)},
    )
    assert reset.status_code == 200
    link = reset.text.split("/console/set-password/")[1].split("<")[0]
    assert viewer.get("/console/").status_code == 303
    assert browser().log_in(staff_org.emails["viewer"]).status_code == 401
    fresh = browser()
    assert (
        fresh.form(
            f"/console/set-password/{link}", password=NEW_PASSWORD, password_again=NEW_PASSWORD
        ).status_code
        == 303
    )
    assert fresh.log_in(staff_org.emails["viewer"], NEW_PASSWORD).status_code == 303


def test_roles_follow_the_api(browser: Callable[[], Browser], staff_org: StaffOrg) -> None:
    for role, users_status in (("admin", 200), ("analyst", 403), ("viewer", 403)):
        client = browser()
        client.log_in(staff_org.emails[role])
        assert client.get("/console/").status_code == 200
        page = client.get("/console/users")
        assert page.status_code == users_status, role
        if users_status == 403:
            assert "Din roll tillåter inte detta" in page.text
    assert staff_service.permits("viewer", ("admin", "analyst", "integrator"))
    assert not staff_service.permits("viewer", ("admin", "integrator"))  # uploads
    assert not staff_service.permits("analyst", ("admin",))


def test_another_organisations_staff_is_never_visible(
    browser: Callable[[], Browser], staff_org: StaffOrg, db: sessionmaker[Session]
) -> None:
    other = make_staff_org(db)
    admin = browser()
    admin.log_in(staff_org.emails["admin"])
    users = admin.get("/console/users")
    assert other.emails["viewer"] not in users.text and other.slug not in users.text
    token = csrf_of(users.text)
    theirs = admin.post(
        f"/console/users/{other.user_ids['viewer']}/reset", data={"csrf_token": token}
    )
    missing = admin.post("/console/users/999999999/reset", data={"csrf_token": token})
    assert theirs.status_code == missing.status_code == 404
    assert theirs.text == missing.text
    assert browser().log_in(other.emails["viewer"]).status_code == 303  # untouched


def test_throttling_per_account_then_allowed_after_the_window(
    database_url: str, db: sessionmaker[Session]
) -> None:
    org = make_staff_org(db)
    throttle = LoginThrottle(account="3 per 2 seconds", client="6 per 2 seconds")
    with serve_console(database_url, throttle) as live, httpx.Client(base_url=live.base_url) as c:
        client = Browser(base_url=live.base_url, follow_redirects=False)
        for _ in range(3):
            assert client.log_in(org.emails["admin"], "fel lösenord").status_code == 401
        blocked = client.log_in(org.emails["admin"])  # even the right password waits
        assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) >= 1
        assert "För många misslyckade inloggningsförsök. Vänta 1 minut och" in blocked.text
        english = client.form(
            "/console/login",
            page="/console/login?lang=en",
            email=org.emails["admin"],
            password=PASSWORD,
            _lang="en",
        )
        assert english.status_code == 429 and "Too many failed login attempts" in english.text
        # Another account from the same client is not held up by this one.
        assert client.log_in(org.emails["analyst"]).status_code == 303
        time.sleep(2.2)
        later = Browser(base_url=live.base_url, follow_redirects=False)
        assert later.log_in(org.emails["admin"]).status_code == 303
        later.close()
        client.close()
        assert c.get("/console/login").status_code == 200


def test_throttling_per_client(database_url: str, db: sessionmaker[Session]) -> None:
    org = make_staff_org(db)
    throttle = LoginThrottle(account="100 per minute", client="4 per minute")
    with serve_console(database_url, throttle) as live:
        client = Browser(base_url=live.base_url, follow_redirects=False)
        for n in range(4):
            assert client.log_in(f"guess{n}.{org.slug}@x.example", "x").status_code == 401
        assert client.log_in(org.emails["viewer"]).status_code == 429
        client.close()


def test_cli_users_create_prints_a_working_link(
    database_url: str, console_server: LiveServer, db: sessionmaker[Session]
) -> None:
    org = make_staff_org(db)
    email = f"cli.{org.slug}@x.example"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SURVEY_API_PUBLIC_BASE_URL": console_server.base_url,
    }

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "survey_api.cli", "users", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    created = cli("create", org.slug, email, "--role", "analyst")
    assert created.returncode == 0, created.stderr
    link = created.stdout.strip().splitlines()[-1]
    assert link.startswith(f"{console_server.base_url}/console/set-password/")
    client = Browser(base_url=console_server.base_url, follow_redirects=False)
    path = link.removeprefix(console_server.base_url)
    assert client.form(path, password=NEW_PASSWORD, password_again=NEW_PASSWORD).status_code == 303
    assert client.log_in(email, NEW_PASSWORD).status_code == 303
    client.close()
    listed = cli("list", org.slug)
    assert f"{email}\tanalyst\tactive\tpassword set" in listed.stdout
    assert cli("create", org.slug, email, "--role", "viewer").returncode == 1  # taken
    assert cli("create", "no-such-org", "a@b.example", "--role", "viewer").returncode == 1


def test_no_password_session_or_link_token_in_logs(
    database_url: str, db: sessionmaker[Session]
) -> None:
    org = make_staff_org(db)
    with db() as session:
        user = session.get(StaffUser, org.user_ids["viewer"])
        assert user is not None
        token = staff_service.reset_password(session, org.id, user.id)
        session.commit()
    collect = Collect()
    # The production access log runs through this filter (log_redaction.uvicorn_log_config).
    collect.addFilter(RedactInvitationCodes())
    loggers = [logging.getLogger(n) for n in ("uvicorn.access", "uvicorn.error", "survey_api")]
    for logger in loggers:
        logger.addHandler(collect)
    try:
        with serve_console(database_url, access_log=True) as live:
            client = Browser(base_url=live.base_url, follow_redirects=False)
            client.form(
                f"/console/set-password/{token}", password=NEW_PASSWORD, password_again=NEW_PASSWORD
            )
            client.log_in(org.emails["viewer"], "fel lösenord")
            client.log_in(org.emails["viewer"], NEW_PASSWORD)
            session_token = client.cookies[SESSION_COOKIE]
            client.form(
                "/console/password",
                current_password=NEW_PASSWORD,
                new_password=PASSWORD,
                new_password_again=PASSWORD,
            )
            client.form("/console/logout", page="/console/")
            client.close()
    finally:
        for logger in loggers:
            logger.removeHandler(collect)
    text = "\n".join(collect.lines)
    assert "/console/set-password/[redacted]" in text  # the access log did run
    for secret in (token, NEW_PASSWORD, PASSWORD, "fel lösenord", session_token):
        assert secret not in text


# Console routes with an organisation's id in the path, each probed with another organisation's
# id in test_another_organisations_staff_is_never_visible (and later sections' tests).
WALKED_CONSOLE_ROUTES = (
    set(USER_ROUTES)
    | set(ROUND_ROUTES)
    | KEY_ROUTES
    | set(RESULTS_ROUTES)
    | set(INTERVENTION_ROUTES)
    | set(QUESTIONNAIRE_ROUTES)
    | set(AREA_ROUTES)
    | set(IMPORT_ROUTES)
    | WEBHOOK_ROUTES
)


def test_every_console_route_with_an_id_is_walked() -> None:
    from fastapi import routing

    from survey_api.main import create_app

    app = create_app(Settings(database_url="sqlite://"))
    found = set()
    for route in routing.iter_route_contexts(app.routes):
        path = getattr(route, "path", "") or ""
        # A set-password token is not an id: it is the secret itself.
        if path.startswith("/console/") and "{" in path and "{token}" not in path:
            found |= {(m, path) for m in (route.methods or set()) if m != "HEAD"}
    assert found == WALKED_CONSOLE_ROUTES, f"walk these with another organisation's ids: {found}"
