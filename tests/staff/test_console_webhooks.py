"""The console's webhook pages (admin), over HTTP on both databases: what the console stores
reads back identically through GET /api/v1/webhooks, every input the API refuses is refused
with the service's message and nothing stored, the secret is shown once, rotation and deletion,
the delivery log (newest first, by status, 20 a page) with its re-send, roles, CSRF and
another organisation's ids."""

import re
from collections.abc import Callable, Iterator

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from survey_api.models import WebhookDelivery, WebhookSubscription
from survey_api.webhooks import outbox, signing
from tests.conftest import TEST_SECRET, LiveServer
from tests.staff.conftest import Browser, StaffOrg, csrf_of, make_staff_org
from tests.staff.test_console_settings import api_key

# 93.184.216.34 is a global address (ipaddress's is_global), so the SSRF guard lets it through
# without resolving anything; the console server runs no dispatcher, so nothing is ever sent.
PUBLIC_URL = "https://93.184.216.34/survey-webhooks"
OTHER_PUBLIC_URL = "https://93.184.216.35/hooks"
_SECRET = re.compile(r"whsec_[A-Za-z0-9+/=]{20,}")
_LINK = re.compile(r'href="/console/webhooks/([0-9]+)"')

# Walked with another organisation's ids below (see WALKED_CONSOLE_ROUTES).
WEBHOOK_ROUTES = {
    ("GET", "/console/webhooks/{webhook_id}"),
    ("POST", "/console/webhooks/{webhook_id}"),
    ("POST", "/console/webhooks/{webhook_id}/secret"),
    ("GET", "/console/webhooks/{webhook_id}/delete"),
    ("POST", "/console/webhooks/{webhook_id}/delete"),
    ("POST", "/console/webhooks/{webhook_id}/deliveries/{delivery_id}/resend"),
}


@pytest.fixture
def admin_api(
    console_server: LiveServer, db: sessionmaker[Session], staff_org: StaffOrg
) -> Iterator[httpx.Client]:
    """An admin API key of the staff organisation, to read back what the console stored."""
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


def create(client: Browser, **changes: object) -> httpx.Response:
    page = client.get("/console/webhooks")
    assert page.status_code == 200, page.text[:500]
    data: dict[str, object] = {
        "csrf_token": csrf_of(page.text),
        "url": PUBLIC_URL,
        "event_types": ["round.closed", "results.updated"],
        "description": "Resultat till BI-lagret",
        **changes,
    }
    return client.post("/console/webhooks", data=data)


def subscription_ids(db: sessionmaker[Session], org_id: int) -> list[int]:
    with db() as session:
        return list(
            session.scalars(
                select(WebhookSubscription.id)
                .where(WebhookSubscription.organisation_id == org_id)
                .order_by(WebhookSubscription.id)
            )
        )


def emit(db: sessionmaker[Session], org_id: int, count: int, event_type: str) -> None:
    """Events of the organisation, written the way the services write them (one transaction)."""
    with db() as session:
        for n in range(count):
            outbox.emit(
                session,
                org_id,
                event_type,
                {"n": n},
                # Far from any real round's id (see tests/webhooks).
                round_id=900_000_000 + n if event_type.startswith("round.") else None,
            )
        session.commit()


def test_an_admin_creates_a_subscription_that_reads_back_through_the_api(
    browser: Callable[[], Browser],
    staff_org: StaffOrg,
    db: sessionmaker[Session],
    admin_api: httpx.Client,
) -> None:
    admin = admin_of(browser, staff_org)
    empty = admin.get("/console/webhooks")
    assert "<h1>Webhooks</h1>" in empty.text and 'href="/console/webhooks"' in empty.text
    assert "Er organisation har inga webhook-prenumerationer än." in empty.text
    created = create(admin)
    assert created.status_code == 200 and created.headers["cache-control"] == "no-store"
    (secret,) = _SECRET.findall(created.text)
    assert "visas bara den här gången" in created.text
    read = admin_api.get("/api/v1/webhooks").json()["items"]
    assert [(w["url"], w["event_types"], w["description"], w["enabled"]) for w in read] == [
        (PUBLIC_URL, ["round.closed", "results.updated"], "Resultat till BI-lagret", True)
    ]
    listed = admin.get("/console/webhooks")
    assert secret not in listed.text and PUBLIC_URL in listed.text
    assert _LINK.findall(listed.text) == [str(read[0]["id"])]
    assert "Aktiverad" in listed.text
    page = admin.get(f"/console/webhooks/{read[0]['id']}")
    assert page.status_code == 200 and secret not in page.text
    assert "Inget har skickats till den här prenumerationen än." in page.text
    assert page.text.count(" checked") == 3  # two event types and "enabled"


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        (
            {"url": "http://93.184.216.34/hook"},
            "url",
            "the URL must start with https:// (webhooks are sent over TLS)",
        ),
        (
            {"url": "https://10.1.2.3/hook"},
            "url",
            "the host 10.1.2.3 resolves to 10.1.2.3, which is not a public address; the operator"
            " may allow such networks (webhook_allowed_networks)",
        ),
        (
            {"url": "https://127.0.0.1:8443/hook"},
            "url",
            "the host 127.0.0.1 resolves to 127.0.0.1, which is not a public address",
        ),
        (
            {"url": "https://user:pw@93.184.216.34/hook"},
            "url",
            "the URL may not contain a user name or password",
        ),
        ({"event_types": []}, "event_types", "List should have at least 1 item after validation"),
        ({"event_types": ["round.deleted"]}, "event_types", "Input should be"),
        ({"description": "x" * 501}, "description", "String should have at most 500 characters"),
    ],
)
def test_a_refused_subscription_says_why_and_stores_nothing(
    browser: Callable[[], Browser],
    staff_org: StaffOrg,
    db: sessionmaker[Session],
    admin_api: httpx.Client,
    changes: dict[str, object],
    field: str,
    message: str,
) -> None:
    admin = admin_of(browser, staff_org)
    refused = create(admin, **changes)
    assert refused.status_code == 422
    summary = refused.text.split('class="error-summary"', 1)[1].split("</div>", 1)[0]
    assert message.replace("'", "&#39;") in summary
    assert f'id="{field}-error"' in refused.text
    assert not _SECRET.search(refused.text)
    assert subscription_ids(db, staff_org.id) == []
    # The API refuses the same body with the same message.
    body = {
        "url": PUBLIC_URL,
        "event_types": ["round.closed"],
        "description": "",
        **changes,
    }
    answer = admin_api.post("/api/v1/webhooks", json=body)
    assert answer.status_code == 422 and message in answer.text
    assert subscription_ids(db, staff_org.id) == []


def test_a_second_subscription_to_a_url_is_refused_beside_the_url(
    browser: Callable[[], Browser], staff_org: StaffOrg, db: sessionmaker[Session]
) -> None:
    admin = admin_of(browser, staff_org)
    create(admin)
    (first,) = subscription_ids(db, staff_org.id)
    refused = create(admin)
    assert refused.status_code == 422 and not _SECRET.search(refused.text)
    summary = refused.text.split('class="error-summary"', 1)[1].split("</div>", 1)[0]
    assert (
        f"the organisation already has a webhook subscription to this URL (id {first}); change"
        " its event types instead of adding another"
    ) in summary
    assert 'id="url-error"' in refused.text
    assert subscription_ids(db, staff_org.id) == [first]


def test_changes_rotation_and_deletion(
    browser: Callable[[], Browser],
    staff_org: StaffOrg,
    db: sessionmaker[Session],
    admin_api: httpx.Client,
) -> None:
    admin = admin_of(browser, staff_org)
    first = _SECRET.findall(create(admin).text)[0]
    (webhook_id,) = subscription_ids(db, staff_org.id)
    path = f"/console/webhooks/{webhook_id}"
    token = csrf_of(admin.get(path).text)

    # A refused change keeps everything as it was.
    refused = admin.post(
        path,
        data={
            "csrf_token": token,
            "url": "https://192.168.1.10/hook",
            "event_types": ["round.opened"],
            "description": "ändrad",
            "enabled": "1",
        },
    )
    assert refused.status_code == 422 and "which is not a public address" in refused.text
    assert 'value="https://192.168.1.10/hook"' in refused.text  # the form keeps what was typed
    before = admin_api.get(f"/api/v1/webhooks/{webhook_id}").json()
    assert before["url"] == PUBLIC_URL and before["event_types"] == [
        "round.closed",
        "results.updated",
    ]
    no_types = admin.post(path, data={"csrf_token": token, "url": PUBLIC_URL, "enabled": "1"})
    assert no_types.status_code == 422 and "at least 1 item" in no_types.text
    assert admin_api.get(f"/api/v1/webhooks/{webhook_id}").json() == before

    # A saved change, and disabling (unticked) reads back as the API's "disabled by an admin".
    saved = admin.post(
        path,
        data={
            "csrf_token": token,
            "url": OTHER_PUBLIC_URL,
            "event_types": ["round.opened", "import.finished"],
            "description": "Till fastighetssystemet",
        },
    )
    assert saved.status_code == 303 and saved.headers["location"] == f"{path}?done=saved"
    after = admin_api.get(f"/api/v1/webhooks/{webhook_id}").json()
    assert (after["url"], after["event_types"], after["description"]) == (
        OTHER_PUBLIC_URL,
        ["round.opened", "import.finished"],
        "Till fastighetssystemet",
    )
    assert after["enabled"] is False and after["disabled_reason"] == "disabled by an admin"
    page = admin.get(saved.headers["location"])
    assert "Prenumerationen är sparad." in page.text
    assert "Avstängd av en administratör" in page.text
    enabled = admin.post(
        path,
        data={
            "csrf_token": token,
            "url": OTHER_PUBLIC_URL,
            "event_types": ["round.opened"],
            "enabled": "1",
        },
    )
    assert enabled.status_code == 303
    assert admin_api.get(f"/api/v1/webhooks/{webhook_id}").json()["enabled"] is True

    # Rotation: a new secret shown once, the old one signing for 24 hours.
    rotated = admin.post(f"{path}/secret", data={"csrf_token": token})
    assert rotated.status_code == 200 and rotated.headers["cache-control"] == "no-store"
    (second,) = _SECRET.findall(rotated.text)
    assert second != first and "i 24 timmar" in rotated.text
    assert admin_api.get(f"/api/v1/webhooks/{webhook_id}").json()["previous_secret_expires_at"]
    with db() as session:
        stored = session.get_one(WebhookSubscription, webhook_id)
        assert stored.previous_secret is not None  # both kept encrypted (webhooks/signing.py)
        assert (
            signing.unseal(stored.secret, TEST_SECRET),
            signing.unseal(stored.previous_secret, TEST_SECRET),
        ) == (second, first)
        assert first not in stored.secret + stored.previous_secret
    assert second not in admin.get(path).text

    # Deletion asks first, then removes the subscription with its log.
    confirm = admin.get(f"{path}/delete")
    assert confirm.status_code == 200 and OTHER_PUBLIC_URL in confirm.text
    assert subscription_ids(db, staff_org.id) == [webhook_id]
    deleted = admin.post(f"{path}/delete", data={"csrf_token": csrf_of(confirm.text)})
    assert deleted.status_code == 303
    assert deleted.headers["location"] == "/console/webhooks?done=deleted"
    assert "Prenumerationen är borttagen." in admin.get(deleted.headers["location"]).text
    assert subscription_ids(db, staff_org.id) == []
    assert admin_api.get(f"/api/v1/webhooks/{webhook_id}").status_code == 404


def test_the_delivery_log_newest_first_by_status_in_pages_with_a_resend(
    browser: Callable[[], Browser],
    staff_org: StaffOrg,
    db: sessionmaker[Session],
    admin_api: httpx.Client,
) -> None:
    admin = admin_of(browser, staff_org)
    create(admin, event_types=["round.closed", "import.finished"])
    (webhook_id,) = subscription_ids(db, staff_org.id)
    emit(db, staff_org.id, 23, "import.finished")
    emit(db, staff_org.id, 2, "round.closed")
    emit(db, staff_org.id, 1, "round.opened")  # not subscribed: no delivery
    with db() as session:
        ids = list(
            session.scalars(
                select(WebhookDelivery.id)
                .where(WebhookDelivery.subscription_id == webhook_id)
                .order_by(WebhookDelivery.id.desc())
            )
        )
        failed = session.get_one(WebhookDelivery, ids[-1])
        failed.status, failed.attempts = "failed", 9
        failed.last_status_code, failed.last_error = 503, "the receiver answered 503"
        session.commit()
    assert len(ids) == 25
    path = f"/console/webhooks/{webhook_id}"
    first = admin.get(path)
    rows = re.findall(r'/deliveries/([0-9]+)/resend"', first.text)
    assert rows == [str(i) for i in ids[:20]]  # newest first, 20 to a page
    assert "25 leveranser, sida 1 av 2" in first.text
    assert first.text.index("round.closed") < first.text.index("import.finished")
    second = admin.get(f"{path}?page=2")
    assert re.findall(r'/deliveries/([0-9]+)/resend"', second.text) == [str(i) for i in ids[20:]]
    assert "HTTP 503" in second.text and "the receiver answered 503" in second.text
    only_failed = admin.get(f"{path}?status=failed")
    assert re.findall(r'/deliveries/([0-9]+)/resend"', only_failed.text) == [str(ids[-1])]
    assert '<option value="failed" selected>' in only_failed.text
    api_log = admin_api.get(f"/api/v1/webhooks/{webhook_id}/deliveries?limit=100").json()
    assert [d["id"] for d in api_log["items"]] == ids

    # Re-send: pending again, attempts from zero, the same webhook-id.
    token = csrf_of(first.text)
    resent = admin.post(f"{path}/deliveries/{ids[-1]}/resend", data={"csrf_token": token})
    assert resent.status_code == 303 and resent.headers["location"] == f"{path}?done=resent"
    with db() as session:
        again = session.get_one(WebhookDelivery, ids[-1])
        assert (again.status, again.attempts, again.message_id) == (
            "pending",
            0,
            failed.message_id,
        )
    assert admin.get(f"{path}?status=failed").text.count("/resend") == 0

    # A disabled subscription refuses a re-send with the service's message; nothing changes.
    admin.post(path, data={"csrf_token": token, "url": PUBLIC_URL, "event_types": ["round.closed"]})
    with db() as session:
        delivered = session.get_one(WebhookDelivery, ids[0])
        delivered.status = "delivered"
        session.commit()
    refused = admin.post(f"{path}/deliveries/{ids[0]}/resend", data={"csrf_token": token})
    assert refused.status_code == 409
    assert "the webhook subscription is disabled; enable it first" in refused.text
    assert 'class="error-summary"' in refused.text
    with db() as session:
        assert session.get_one(WebhookDelivery, ids[0]).status == "delivered"
    # A delivery of another subscription of the same organisation is not found through this one.
    create(admin, url=OTHER_PUBLIC_URL)  # one subscription per URL
    other_id = subscription_ids(db, staff_org.id)[-1]
    wrong = admin.post(
        f"/console/webhooks/{other_id}/deliveries/{ids[0]}/resend", data={"csrf_token": token}
    )
    assert wrong.status_code == 404


@pytest.mark.parametrize("role", ["analyst", "viewer"])
def test_webhooks_are_for_admins_only(
    browser: Callable[[], Browser], staff_org: StaffOrg, db: sessionmaker[Session], role: str
) -> None:
    admin = admin_of(browser, staff_org)
    create(admin)
    (webhook_id,) = subscription_ids(db, staff_org.id)
    emit(db, staff_org.id, 1, "round.closed")
    with db() as session:
        delivery_id = session.scalars(
            select(WebhookDelivery.id).where(WebhookDelivery.subscription_id == webhook_id)
        ).one()
    client = browser()
    client.log_in(staff_org.emails[role])
    overview = client.get("/console/")
    assert "/console/webhooks" not in overview.text
    token = csrf_of(overview.text)
    data = {"csrf_token": token, "url": OTHER_PUBLIC_URL, "event_types": "round.opened"}
    for method, template in [("GET", "/console/webhooks"), ("POST", "/console/webhooks")] + sorted(
        WEBHOOK_ROUTES
    ):
        path = template.replace("{webhook_id}", str(webhook_id)).replace(
            "{delivery_id}", str(delivery_id)
        )
        response = client.request(method, path, data=data if method == "POST" else None)
        assert response.status_code == 403, (method, path)
        assert "Din roll tillåter inte detta" in response.text
    assert subscription_ids(db, staff_org.id) == [webhook_id]
    with db() as session:
        stored = session.get_one(WebhookSubscription, webhook_id)
        assert (stored.url, stored.previous_secret) == (PUBLIC_URL, None)


def test_a_post_without_the_csrf_token_changes_nothing(
    browser: Callable[[], Browser], staff_org: StaffOrg, db: sessionmaker[Session]
) -> None:
    admin = admin_of(browser, staff_org)
    create(admin)
    (webhook_id,) = subscription_ids(db, staff_org.id)
    path = f"/console/webhooks/{webhook_id}"
    for target, data in (
        ("/console/webhooks", {"url": OTHER_PUBLIC_URL, "event_types": "round.opened"}),
        (path, {"url": OTHER_PUBLIC_URL, "event_types": "round.opened", "enabled": "1"}),
        (f"{path}/secret", {}),
        (f"{path}/delete", {}),
    ):
        for extra in ({}, {"csrf_token": "wrong"}):
            response = admin.post(target, data={**data, **extra})
            assert response.status_code == 403 and "Inget har ändrats" in response.text, target
            assert not _SECRET.search(response.text)
    assert subscription_ids(db, staff_org.id) == [webhook_id]
    with db() as session:
        stored = session.get_one(WebhookSubscription, webhook_id)
        assert (stored.url, stored.previous_secret) == (PUBLIC_URL, None)


def test_another_organisations_subscription_answers_like_a_missing_one(
    browser: Callable[[], Browser], staff_org: StaffOrg, db: sessionmaker[Session]
) -> None:
    other = make_staff_org(db)
    theirs = admin_of(browser, other)
    create(theirs, url=OTHER_PUBLIC_URL, description="Deras hemliga system")
    (their_id,) = subscription_ids(db, other.id)
    emit(db, other.id, 1, "round.closed")
    with db() as session:
        their_delivery = session.scalars(
            select(WebhookDelivery.id).where(WebhookDelivery.subscription_id == their_id)
        ).one()
    admin = admin_of(browser, staff_org)
    listed = admin.get("/console/webhooks")
    assert OTHER_PUBLIC_URL not in listed.text and "Deras hemliga system" not in listed.text
    token = csrf_of(listed.text)
    fields = {"csrf_token": token, "url": PUBLIC_URL, "event_types": "round.opened"}
    for method, template in sorted(WEBHOOK_ROUTES):
        data = fields if method == "POST" else None
        mine = admin.request(
            method,
            template.replace("{webhook_id}", str(their_id)).replace(
                "{delivery_id}", str(their_delivery)
            ),
            data=data,
        )
        missing = admin.request(
            method,
            template.replace("{webhook_id}", "999999999").replace(
                "{delivery_id}", str(their_delivery)
            ),
            data=data,
        )
        assert mine.status_code == missing.status_code == 404, template
        assert mine.text.replace(f"/webhooks/{their_id}", "/webhooks/N") == missing.text.replace(
            "/webhooks/999999999", "/webhooks/N"
        )
        assert OTHER_PUBLIC_URL not in mine.text
    for junk in ("abc", "0", "-1", "99999999999999"):
        assert admin.get(f"/console/webhooks/{junk}").status_code == 404
    # Theirs is untouched: same URL, same secret, not deleted, the delivery still pending.
    with db() as session:
        stored = session.get_one(WebhookSubscription, their_id)
        assert (stored.url, stored.enabled, stored.previous_secret) == (
            OTHER_PUBLIC_URL,
            True,
            None,
        )
        assert session.get_one(WebhookDelivery, their_delivery).status == "pending"
