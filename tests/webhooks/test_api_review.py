"""The webhook subscription API after the hostile review (R1), over real HTTP on both
databases: international host names stored in their ASCII form (and what has none refused),
at most ten subscriptions per organisation and one per URL, and IPv6 forms that carry an IPv4
address judged by that address."""

from __future__ import annotations

import ipaddress

import pytest

from survey_api.webhooks import destinations
from tests.api.support import problem
from tests.conftest import Org
from tests.helpers import ok

PUBLIC = ipaddress.ip_address("93.184.216.34")
DNS = {
    "hooks.example.se": [PUBLIC],
    "xn--bcher-kva.example": [PUBLIC],
    "nat64.example.se": [ipaddress.ip_address("64:ff9b::a00:5")],  # 10.0.0.5
    "public-nat64.example.se": [ipaddress.ip_address("64:ff9b::5db8:d822")],  # 93.184.216.34
    "6to4.example.se": [ipaddress.ip_address("2002:7f00:1::1")],  # 127.0.0.1
    "teredo.example.se": [ipaddress.ip_address("2001:0:4136:e378:8000:63bf:80ff:fffe")],
    "compatible.example.se": [ipaddress.ip_address("::a9fe:a9fe")],  # 169.254.169.254
    "translated.example.se": [ipaddress.ip_address("::ffff:0:c0a8:109")],  # 192.168.1.9
    "local-nat64.example.se": [ipaddress.ip_address("64:ff9b:1::5db8:d822")],
}


@pytest.fixture(autouse=True)
def fake_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    def resolve(host: str, port: int) -> list[destinations.IPAddress]:
        if host not in DNS:
            raise OSError("Name or service not known")
        return list(DNS[host])

    monkeypatch.setattr(destinations, "resolve", resolve)


def body(url: str) -> dict[str, object]:
    return {"url": url, "event_types": ["round.closed"]}


def test_an_international_host_is_stored_in_ascii_and_a_host_without_one_is_refused(
    org: Org,
) -> None:
    created = ok(org.admin.post("/api/v1/webhooks", json=body("https://Bücher.example/x")), 201)
    assert created["url"] == "https://xn--bcher-kva.example/x"
    # The same address in either form is the same subscription.
    again = org.admin.post("/api/v1/webhooks", json=body("https://xn--bcher-kva.example/x"))
    assert problem(again, 409)["detail"].startswith(
        "the organisation already has a webhook subscription to this URL"
    )
    for url in ("https://%31%32%37.0.0.1/", "https://a..b/", "https://bad_host.example.se/"):
        refused = problem(org.admin.post("/api/v1/webhooks", json=body(url)), 422)
        assert "is not a valid host name" in refused["detail"], url


def test_at_most_ten_subscriptions_and_one_per_url(org: Org) -> None:
    ids = [
        ok(org.admin.post("/api/v1/webhooks", json=body(f"https://hooks.example.se/{i}")), 201)[
            "id"
        ]
        for i in range(10)
    ]
    eleventh = problem(
        org.admin.post("/api/v1/webhooks", json=body("https://hooks.example.se/10")), 409
    )
    assert eleventh["detail"] == (
        "the organisation has 10 webhook subscriptions, the most allowed (10, setting "
        "webhook_max_subscriptions); delete one before adding another"
    )
    assert org.admin.delete(f"/api/v1/webhooks/{ids[0]}").status_code == 204
    # A second subscription to a URL the organisation has: 409, on create and on change.
    same = problem(org.admin.post("/api/v1/webhooks", json=body("https://hooks.example.se/1")), 409)
    assert same["detail"] == (
        f"the organisation already has a webhook subscription to this URL (id {ids[1]}); "
        "change its event types instead of adding another"
    )
    moved = org.admin.patch(
        f"/api/v1/webhooks/{ids[2]}", json={"url": "https://hooks.example.se/1"}
    )
    assert problem(moved, 409)["detail"].startswith(
        f"the organisation already has a webhook subscription to this URL (id {ids[1]})"
    )
    # Keeping its own URL is no conflict.
    ok(org.admin.patch(f"/api/v1/webhooks/{ids[2]}", json={"url": "https://hooks.example.se/2"}))


@pytest.mark.parametrize(
    ("host", "carried"),
    [
        ("nat64.example.se", "64:ff9b::a00:5"),
        ("6to4.example.se", "2002:7f00:1::1"),
        ("teredo.example.se", "2001:0:4136:e378:8000:63bf:80ff:fffe"),
        ("compatible.example.se", "::a9fe:a9fe"),
        ("translated.example.se", "::ffff:0:c0a8:109"),
        ("local-nat64.example.se", "64:ff9b:1::5db8:d822"),
    ],
)
def test_ipv6_forms_carrying_a_private_ipv4_address_are_refused(
    org: Org, host: str, carried: str
) -> None:
    refused = problem(org.admin.post("/api/v1/webhooks", json=body(f"https://{host}/")), 422)
    assert refused["detail"] == (
        f"url: the host {host} resolves to {ipaddress.ip_address(carried)}, which is not a "
        "public address; the operator may allow such networks (webhook_allowed_networks)"
    )


def test_nat64_of_a_public_address_is_accepted(org: Org) -> None:
    ok(org.admin.post("/api/v1/webhooks", json=body("https://public-nat64.example.se/")), 201)


def test_the_embedded_ipv4_address_is_judged_against_the_allowed_networks() -> None:
    allowed = destinations.parse_networks("127.0.0.0/8")
    six_to_four = ipaddress.ip_address("2002:7f00:1::1")  # carries 127.0.0.1
    assert not destinations.address_allowed(six_to_four, ())
    assert destinations.address_allowed(six_to_four, allowed)
    teredo = ipaddress.ip_address("2001:0:4136:e378:8000:63bf:80ff:fffe")
    # Teredo: server 65.54.227.120 (public), client 127.0.0.1 (the bits inverted).
    assert teredo.teredo == (
        ipaddress.IPv4Address("65.54.227.120"),
        ipaddress.IPv4Address("127.0.0.1"),
    )
    assert not destinations.address_allowed(teredo, ())
    assert destinations.address_allowed(teredo, allowed)
    local_nat64 = ipaddress.ip_address("64:ff9b:1::5db8:d822")
    assert not destinations.address_allowed(local_nat64, ())
    assert destinations.address_allowed(local_nat64, destinations.parse_networks("64:ff9b:1::/48"))
    assert destinations.address_allowed(ipaddress.ip_address("2606:4700::1111"), ())
