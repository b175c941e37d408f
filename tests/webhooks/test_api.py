"""The webhook subscription API (admin only) over real HTTP, on both databases: the secret
shown once, precise 422s for every refused destination and body, 404 for another
organisation's subscription, rotation, the delivery log and re-send."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

import pytest
from sqlalchemy.orm import Session, sessionmaker
from standardwebhooks import Webhook

from survey_api.webhooks import destinations, outbox
from tests.api.support import error_locs, problem
from tests.conftest import Org
from tests.helpers import ok
from tests.webhooks.conftest import FAKE_ROUNDS

PUBLIC = ipaddress.ip_address("93.184.216.34")
DNS = {
    "hooks.example.se": [PUBLIC],
    "internal.example.se": [ipaddress.ip_address("10.0.0.5")],
    "split.example.se": [PUBLIC, ipaddress.ip_address("192.168.1.9")],
    "metadata.example.se": [ipaddress.ip_address("169.254.169.254")],
    "mapped.example.se": [ipaddress.ip_address("::ffff:127.0.0.1")],
}


@pytest.fixture(autouse=True)
def fake_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    """Names resolve from DNS above (the test server runs in this process)."""

    def resolve(host: str, port: int) -> list[destinations.IPAddress]:
        if host not in DNS:
            raise OSError("Name or service not known")
        return list(DNS[host])

    monkeypatch.setattr(destinations, "resolve", resolve)


def create(org: Org, **body: object) -> dict[str, object]:
    values: dict[str, object] = {
        "url": "https://hooks.example.se/survey",
        "event_types": ["round.closed", "results.updated"],
        "description": "BI",
        **body,
    }
    created: dict[str, object] = ok(org.admin.post("/api/v1/webhooks", json=values), 201)
    return created


def test_a_subscription_is_created_read_changed_and_deleted(org: Org) -> None:
    created = create(org)
    secret = str(created["secret"])
    assert secret.startswith("whsec_")
    Webhook(secret)  # the library accepts it
    assert created["enabled"] is True and created["consecutive_failures"] == 0
    webhook_id = created["id"]
    read = ok(org.admin.get(f"/api/v1/webhooks/{webhook_id}"))
    assert "secret" not in read and secret not in str(read)
    assert read == {k: v for k, v in created.items() if k != "secret"}
    listed = ok(org.admin.get("/api/v1/webhooks"))
    assert [w["id"] for w in listed["items"]] == [webhook_id]
    assert secret not in str(listed)
    changed = ok(
        org.admin.patch(
            f"/api/v1/webhooks/{webhook_id}",
            json={"event_types": ["import.finished"], "description": "Import", "enabled": False},
        )
    )
    assert changed["event_types"] == ["import.finished"]
    assert (changed["enabled"], changed["disabled_reason"]) == (False, "disabled by an admin")
    enabled = ok(org.admin.patch(f"/api/v1/webhooks/{webhook_id}", json={"enabled": True}))
    assert (enabled["enabled"], enabled["disabled_reason"], enabled["disabled_at"]) == (
        True,
        None,
        None,
    )
    assert org.admin.delete(f"/api/v1/webhooks/{webhook_id}").status_code == 204
    problem(org.admin.get(f"/api/v1/webhooks/{webhook_id}"), 404)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://hooks.example.se/x", "the URL must start with https://"),
        ("ftp://hooks.example.se/x", "the URL must start with https://"),
        ("https://user:pw@hooks.example.se/x", "may not contain a user name or password"),
        ("https://hooks.example.se/x#frag", "may not contain a fragment"),
        ("https://hooks.example.se/" + "a" * 2000, "at most 2000 characters"),
        ("https:///nohost", "the URL has no host"),
        ("https://nowhere.example.se/x", "does not resolve"),
        ("https://127.0.0.1/x", "127.0.0.1, which is not a public address"),
        ("https://[::1]/x", "::1, which is not a public address"),
        ("https://10.1.1.1/x", "10.1.1.1, which is not a public address"),
        ("https://internal.example.se/x", "resolves to 10.0.0.5, which is not a public address"),
        ("https://split.example.se/x", "resolves to 192.168.1.9, which is not a public"),
        ("https://metadata.example.se/x", "169.254.169.254, which is not a public address"),
        ("https://mapped.example.se/x", "::ffff:7f00:1, which is not a public address"),
    ],
)
def test_a_destination_that_is_not_https_or_not_public_is_refused(
    org: Org, url: str, reason: str
) -> None:
    body = problem(
        org.admin.post("/api/v1/webhooks", json={"url": url, "event_types": ["round.closed"]}),
        422,
    )
    assert error_locs(body) == [["body", "url"]]
    assert reason in body["detail"], body["detail"]
    assert ok(org.admin.get("/api/v1/webhooks"))["total"] == 0
    # The same check on a change.
    webhook_id = create(org)["id"]
    body = problem(org.admin.patch(f"/api/v1/webhooks/{webhook_id}", json={"url": url}), 422)
    assert reason in body["detail"], body["detail"]


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"url": "https://hooks.example.se/", "event_types": ["round.deleted"]}, "event_types"),
        ({"url": "https://hooks.example.se/", "event_types": []}, "event_types"),
        (
            {"url": "https://hooks.example.se/", "event_types": ["round.closed", "round.closed"]},
            "event_types",
        ),
        ({"url": "https://hooks.example.se/", "event_types": ["round.closed"], "x": 1}, "x"),
        ({"event_types": ["round.closed"]}, "url"),
        ({"url": "https://hooks.example.se/"}, "event_types"),
        ({"url": 5, "event_types": ["round.closed"]}, "url"),
    ],
)
def test_an_invalid_body_is_refused_with_the_field(
    org: Org, body: dict[str, object], loc: str
) -> None:
    found = problem(org.admin.post("/api/v1/webhooks", json=body), 422)
    assert [e[1] for e in error_locs(found)] == [loc]


def test_patch_refuses_null_and_unknown_keys(org: Org) -> None:
    webhook_id = create(org)["id"]
    for body in ({"enabled": None}, {"url": None}, {"secret": "whsec_x"}):
        problem(org.admin.patch(f"/api/v1/webhooks/{webhook_id}", json=body), 422)


def test_only_an_admin_manages_webhooks_and_another_organisation_gets_404(
    org: Org, make_org: Callable[[], Org]
) -> None:
    created = create(org)
    for client in (org.analyst, org.integrator):
        problem(client.get("/api/v1/webhooks"), 403)
        problem(client.post("/api/v1/webhooks", json={"url": "https://hooks.example.se/"}), 403)
    other = make_org()
    for method, path in [
        ("GET", f"/api/v1/webhooks/{created['id']}"),
        ("PATCH", f"/api/v1/webhooks/{created['id']}"),
        ("DELETE", f"/api/v1/webhooks/{created['id']}"),
        ("POST", f"/api/v1/webhooks/{created['id']}/secret"),
        ("GET", f"/api/v1/webhooks/{created['id']}/deliveries"),
    ]:
        kwargs = {"json": {"enabled": False}} if method == "PATCH" else {}
        body = problem(other.admin.request(method, path, **kwargs), 404)
        assert body["detail"] == f"no webhook subscription with id {created['id']}"
    assert ok(other.admin.get("/api/v1/webhooks"))["total"] == 0
    assert ok(org.admin.get(f"/api/v1/webhooks/{created['id']}"))["enabled"] is True


def test_rotating_the_secret_returns_a_new_one_once(org: Org) -> None:
    created = create(org)
    rotated = ok(org.admin.post(f"/api/v1/webhooks/{created['id']}/secret"))
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != created["secret"]
    read = ok(org.admin.get(f"/api/v1/webhooks/{created['id']}"))
    assert read["previous_secret_expires_at"] == rotated["previous_secret_expires_at"]
    assert rotated["secret"] not in str(read)


def test_the_delivery_log_is_newest_first_filtered_and_a_delivery_can_be_resent(
    org: Org, db: sessionmaker[Session]
) -> None:
    created = create(org, event_types=["round.closed", "results.updated"])
    webhook_id = created["id"]
    with db() as session:
        for n in range(3):
            outbox.emit(session, org.id, "results.updated", {"n": n}, round_id=FAKE_ROUNDS)
        outbox.emit(session, org.id, "import.finished", {}, round_id=None)  # not subscribed
        session.commit()
    log = ok(org.admin.get(f"/api/v1/webhooks/{webhook_id}/deliveries", params={"limit": 2}))
    assert log["total"] == 3
    assert len(log["items"]) == 2 and log["next"] is not None
    ids = [d["id"] for d in log["items"]]
    assert ids == sorted(ids, reverse=True)
    rest = ok(org.admin.get(log["next"].removeprefix("/api/v1").join(["/api/v1", ""])))
    assert [d["id"] for d in rest["items"]] == [min(ids) - 1]
    first = log["items"][0]
    assert first["event_type"] == "results.updated" and first["status"] == "pending"
    assert first["webhook_id"].startswith("msg_") and first["attempts"] == 0
    assert (
        ok(org.admin.get(f"/api/v1/webhooks/{webhook_id}/deliveries", params={"status": "failed"}))[
            "total"
        ]
        == 0
    )
    problem(
        org.admin.get(f"/api/v1/webhooks/{webhook_id}/deliveries", params={"status": "lost"}), 422
    )
    resent = ok(
        org.admin.post(f"/api/v1/webhooks/{webhook_id}/deliveries/{first['id']}/resend"), 202
    )
    assert (resent["webhook_id"], resent["status"], resent["attempts"]) == (
        first["webhook_id"],
        "pending",
        0,
    )
    problem(org.admin.post(f"/api/v1/webhooks/{webhook_id}/deliveries/999999/resend"), 404)
    # A disabled subscription sends nothing: re-send is refused until it is enabled.
    ok(org.admin.patch(f"/api/v1/webhooks/{webhook_id}", json={"enabled": False}))
    body = problem(
        org.admin.post(f"/api/v1/webhooks/{webhook_id}/deliveries/{first['id']}/resend"), 409
    )
    assert "enable it first" in body["detail"]
