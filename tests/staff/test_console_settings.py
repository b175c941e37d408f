"""The console's settings and API keys (admin): what the console saves reads back identically
through the API, the API's validation refuses the same values, a key created in the console works
against the API until it is revoked there, and no secret reaches a log (both databases)."""

import logging
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from survey_api.auth import service as auth_service
from survey_api.log_redaction import RedactInvitationCodes
from survey_api.organisations import service as organisations_service
from tests.conftest import LiveServer
from tests.staff.conftest import Browser, Collect, StaffOrg, csrf_of, serve_console

_SECRET = re.compile(r"sak_[A-Za-z0-9_-]{20,}")
_REVOKE_LINK = re.compile(r'href="/console/keys/([0-9]+)/revoke')


def api_key(db: sessionmaker[Session], org_id: int, role: str = "admin") -> str:
    """A fresh API key of the organisation, made with the CLI's service."""
    with db() as session:
        organisation = organisations_service.get_organisation(session, org_id)
        _key, secret = auth_service.create_api_key(session, organisation, name="test", role=role)
        session.commit()
    return secret


@pytest.fixture
def api(console_server: LiveServer) -> Iterator[Callable[[str], httpx.Client]]:
    """API clients of the console's own server, one per bearer key."""
    made: list[httpx.Client] = []

    def factory(secret: str) -> httpx.Client:
        client = httpx.Client(
            base_url=console_server.base_url,
            headers={"Authorization": f"Bearer {secret}"},
            timeout=30,
        )
        made.append(client)
        return client

    yield factory
    for client in made:
        client.close()


def admin_of(browser: Callable[[], Browser], org: StaffOrg) -> Browser:
    client = browser()
    assert client.log_in(org.emails["admin"]).status_code == 303
    return client


SETTINGS_FORM = {
    "min_cell_size": "12",
    "languages_mode": "chosen",
    "languages": ["sv", "ar"],
    "letter_sv_sender": "Demobostäder AB, områdeskontoret i Hjällbo",
    "letter_sv_contact": "Ring 031-123 45 67",
    "letter_sv_privacy": "",
    "letter_en_sender": "",
    "letter_en_contact": "",
    "letter_en_privacy": "",
    "letter_ar_sender": "شركة ديمو للسكن",
    "letter_ar_contact": "",
    "letter_ar_privacy": "إجاباتك مجهولة.",
}


def post_settings(client: Browser, **changes: object) -> httpx.Response:
    page = client.get("/console/settings")
    assert page.status_code == 200, page.text[:500]
    data = {**SETTINGS_FORM, "csrf_token": csrf_of(page.text), **changes}
    return client.post("/console/settings", data=data)


def test_settings_saved_in_the_console_read_back_through_the_api(
    browser: Callable[[], Browser],
    staff_org: StaffOrg,
    db: sessionmaker[Session],
    api: Callable[[str], httpx.Client],
) -> None:
    admin = admin_of(browser, staff_org)
    page = admin.get("/console/settings")
    assert "<h1>Inställningar</h1>" in page.text and 'value="10"' in page.text
    saved = post_settings(admin)
    assert saved.status_code == 303 and saved.headers["location"] == "/console/settings?saved=1"
    after = admin.get(saved.headers["location"])
    assert "Inställningarna är sparade" in after.text and 'value="12"' in after.text
    read = api(api_key(db, staff_org.id, "integrator")).get("/api/v1/organisation")
    assert read.status_code == 200
    body = read.json()
    assert body["min_cell_size"] == 12
    assert body["languages"] == ["sv", "ar"]
    assert body["letter_texts"] == {
        "sv": {
            "sender": "Demobostäder AB, områdeskontoret i Hjällbo",
            "contact": "Ring 031-123 45 67",
            "privacy": None,
        },
        "ar": {"sender": "شركة ديمو للسكن", "contact": None, "privacy": "إجاباتك مجهولة."},
    }
    # The same values sent through the API store the same thing; the console keeps a letter
    # text of a language it does not show, and "all languages" is the API's null.
    admin_api = api(api_key(db, staff_org.id))
    patched = admin_api.patch(
        "/api/v1/organisation",
        json={"letter_texts": {**body["letter_texts"], "fi": {"sender": "Demo Oy"}}},
    )
    assert patched.status_code == 200 and patched.json() == {
        **body,
        "letter_texts": {**body["letter_texts"], "fi": patched.json()["letter_texts"]["fi"]},
    }
    assert post_settings(admin, languages_mode="all").status_code == 303
    again = admin_api.get("/api/v1/organisation").json()
    assert again["languages"] is None
    assert again["letter_texts"]["fi"]["sender"] == "Demo Oy"
    assert again["letter_texts"] == patched.json()["letter_texts"]


def test_the_apis_validation_refuses_in_the_console_and_nothing_changes(
    browser: Callable[[], Browser],
    staff_org: StaffOrg,
    db: sessionmaker[Session],
    api: Callable[[str], httpx.Client],
) -> None:
    admin = admin_of(browser, staff_org)
    refused = post_settings(admin, min_cell_size="4")
    assert refused.status_code == 422
    assert "Minsta gruppstorlek kan inte vara lägre än 5." in refused.text
    assert 'aria-invalid="true" aria-describedby="min_cell_size-hint min_cell_size-error"' in (
        refused.text
    )
    assert 'class="error-summary"' in refused.text and 'href="#min_cell_size"' in refused.text
    assert 'value="4"' in refused.text  # the form keeps what was typed
    # The API says the same about the same value.
    admin_api = api(api_key(db, staff_org.id))
    assert admin_api.patch("/api/v1/organisation", json={"min_cell_size": 4}).status_code == 422
    english = admin.post(
        "/console/settings",
        data={
            **SETTINGS_FORM,
            "csrf_token": csrf_of(refused.text),
            "_lang": "en",
            "min_cell_size": "tio",
            "languages": [],
            "letter_en_contact": "Call us",
        },
    )
    assert english.status_code == 422
    assert "Write a whole number, for example 10." in english.text
    assert "Choose at least one language" in english.text
    assert "Write who sends the letter" in english.text
    assert 'id="letter_en_sender-error"' in english.text
    unchanged = admin_api.get("/api/v1/organisation").json()
    assert unchanged["min_cell_size"] == 10
    assert unchanged["languages"] is None and unchanged["letter_texts"] == {}


def test_a_key_created_in_the_console_works_until_revoked(
    browser: Callable[[], Browser],
    staff_org: StaffOrg,
    database_url: str,
    api: Callable[[str], httpx.Client],
) -> None:
    admin = admin_of(browser, staff_org)
    keys = admin.get("/console/keys")
    assert keys.status_code == 200 and "Organisationen har inga API-nycklar" in keys.text
    created = admin.post(
        "/console/keys",
        data={"csrf_token": csrf_of(keys.text), "name": "Pappersenkäter", "role": "integrator"},
    )
    assert created.status_code == 200 and created.headers["cache-control"] == "no-store"
    secrets_shown = _SECRET.findall(created.text)
    assert len(secrets_shown) == 1, "the secret is shown exactly once"
    secret = secrets_shown[0]
    assert "visas bara den här gången" in created.text
    client = api(secret)
    assert client.get("/api/v1/organisation").json()["id"] == staff_org.id
    # An integrator key may not change settings: the role chosen in the console holds.
    assert client.patch("/api/v1/organisation", json={"min_cell_size": 20}).status_code == 403
    listed = admin.get("/console/keys")
    assert secret not in listed.text and "Pappersenkäter" in listed.text
    assert f"<code>{secret[:10]}…</code>" in listed.text and "integratör" in listed.text
    cli = subprocess.run(
        [sys.executable, "-m", "survey_api.cli", "keys", "list", staff_org.slug],
        env={**os.environ, "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert cli.returncode == 0, cli.stderr
    assert f"integrator\t{secret[:10]}…\tPappersenkäter\tactive" in cli.stdout
    (key_id,) = _REVOKE_LINK.findall(listed.text)
    confirm = admin.get(f"/console/keys/{key_id}/revoke")
    assert confirm.status_code == 200 and "Återkalla nyckeln" in confirm.text
    assert client.get("/api/v1/organisation").status_code == 200  # asking revokes nothing
    revoked = admin.post(
        f"/console/keys/{key_id}/revoke", data={"csrf_token": csrf_of(confirm.text)}
    )
    assert revoked.status_code == 303
    assert revoked.headers["location"] == f"/console/keys?revoked={key_id}"
    after = admin.get(revoked.headers["location"])
    assert "är återkallad" in after.text and f"/console/keys/{key_id}/revoke" not in after.text
    assert client.get("/api/v1/organisation").status_code == 401
    # Creating with no name is refused beside the field, and makes no key.
    empty = admin.post(
        "/console/keys", data={"csrf_token": csrf_of(after.text), "name": " ", "role": "analyst"}
    )
    assert empty.status_code == 422 and 'id="key_name-error"' in empty.text
    assert len(_REVOKE_LINK.findall(empty.text)) == 0 and empty.text.count("<tr>") == 2


@pytest.mark.parametrize("role", ["analyst", "viewer"])
def test_settings_and_keys_are_for_admins_only(
    browser: Callable[[], Browser], staff_org: StaffOrg, db: sessionmaker[Session], role: str
) -> None:
    with db() as session:
        organisation = organisations_service.get_organisation(session, staff_org.id)
        key, _secret = auth_service.create_api_key(session, organisation, name="k", role="admin")
        session.commit()
        key_id = key.id
    client = browser()
    client.log_in(staff_org.emails[role])
    token = csrf_of(client.get("/console/").text)
    overview = client.get("/console/")
    assert "/console/settings" not in overview.text and "/console/keys" not in overview.text
    for method, path in (
        ("GET", "/console/settings"),
        ("POST", "/console/settings"),
        ("GET", "/console/keys"),
        ("POST", "/console/keys"),
        ("GET", f"/console/keys/{key_id}/revoke"),
        ("POST", f"/console/keys/{key_id}/revoke"),
    ):
        data = {"csrf_token": token, "name": "x", "role": "admin", "min_cell_size": "5"}
        response = client.request(method, path, data=data if method == "POST" else None)
        assert response.status_code == 403, (method, path)
        assert "Din roll tillåter inte detta" in response.text
    with db() as session:
        assert [k.revoked_at for k in auth_service.list_api_keys(session, staff_org.id)] == [None]
        assert organisations_service.get_organisation(session, staff_org.id).min_cell_size == 10


@pytest.mark.parametrize("token", [None, "wrong"])
def test_a_post_without_the_csrf_token_changes_nothing(
    browser: Callable[[], Browser],
    staff_org: StaffOrg,
    db: sessionmaker[Session],
    api: Callable[[str], httpx.Client],
    token: str | None,
) -> None:
    secret = api_key(db, staff_org.id, "analyst")
    admin = admin_of(browser, staff_org)
    (key_id,) = _REVOKE_LINK.findall(admin.get("/console/keys").text)
    extra = {} if token is None else {"csrf_token": token}
    settings = admin.post("/console/settings", data={**SETTINGS_FORM, **extra})
    create = admin.post("/console/keys", data={"name": "x", "role": "admin", **extra})
    revoke = admin.post(f"/console/keys/{key_id}/revoke", data=extra)
    for response in (settings, create, revoke):
        assert response.status_code == 403 and "Inget har ändrats" in response.text
        assert not _SECRET.search(response.text)
    assert api(secret).get("/api/v1/organisation").json()["min_cell_size"] == 10
    with db() as session:
        keys = auth_service.list_api_keys(session, staff_org.id)
        assert [(k.name, k.revoked_at) for k in keys] == [("test", None)]


# Walked with another organisation's key id below (see WALKED_CONSOLE_ROUTES).
KEY_ROUTES = {
    ("GET", "/console/keys/{api_key_id}/revoke"),
    ("POST", "/console/keys/{api_key_id}/revoke"),
}


def test_another_organisations_key_answers_like_a_missing_one(
    browser: Callable[[], Browser],
    staff_org: StaffOrg,
    db: sessionmaker[Session],
    api: Callable[[str], httpx.Client],
) -> None:
    from tests.staff.conftest import make_staff_org

    other = make_staff_org(db)
    theirs = api_key(db, other.id, "integrator")
    with db() as session:
        (their_key,) = auth_service.list_api_keys(session, other.id)
        their_id = their_key.id
    admin = admin_of(browser, staff_org)
    listed = admin.get("/console/keys")
    assert theirs[:10] not in listed.text
    token = csrf_of(listed.text)
    for method in ("GET", "POST"):
        data = {"csrf_token": token} if method == "POST" else None
        mine = admin.request(method, f"/console/keys/{their_id}/revoke", data=data)
        missing = admin.request(method, "/console/keys/999999999/revoke", data=data)
        assert mine.status_code == missing.status_code == 404, method
        assert mine.text.replace(f"/keys/{their_id}/", "/keys/N/") == missing.text.replace(
            "/keys/999999999/", "/keys/N/"
        )
    assert api(theirs).get("/api/v1/organisation").status_code == 200  # untouched


def test_no_key_secret_in_logs(database_url: str, db: sessionmaker[Session]) -> None:
    from tests.staff.conftest import make_staff_org

    org = make_staff_org(db)
    collect = Collect()
    collect.addFilter(RedactInvitationCodes())
    loggers = [logging.getLogger(n) for n in ("uvicorn.access", "uvicorn.error", "survey_api")]
    for logger in loggers:
        logger.addHandler(collect)
    try:
        with serve_console(database_url, access_log=True) as live:
            client = Browser(base_url=live.base_url, follow_redirects=False)
            client.log_in(org.emails["admin"])
            created = client.form("/console/keys", name="Loggtest", role="admin")
            (secret,) = _SECRET.findall(created.text)
            with httpx.Client(base_url=live.base_url) as bearer:
                bearer.get("/api/v1/organisation", headers={"Authorization": f"Bearer {secret}"})
            (key_id,) = _REVOKE_LINK.findall(client.get("/console/keys").text)
            client.form(f"/console/keys/{key_id}/revoke")
            client.close()
    finally:
        for logger in loggers:
            logger.removeHandler(collect)
    text = "\n".join(collect.lines)
    assert "POST /console/keys" in text  # the access log did run
    assert secret not in text and secret[10:] not in text
