"""Organisations never see each other's rows: another organisation's id is exactly a missing id.

The routes are read from the app itself, so a new route with an id in its path fails
test_every_route_with_an_id_is_walked until it is added to REQUESTS below.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import httpx
import pytest
from fastapi import routing
from sqlalchemy.orm import Session, sessionmaker

from survey_api.config import Settings
from survey_api.main import create_app
from tests.api.support import days, problem, response_count
from tests.conftest import Org
from tests.helpers import create_area, full_answers, ok, standard_definition

# Valid ids that exist in no organisation, one per kind so each can be told apart.
MISSING_AREA, MISSING_QUESTIONNAIRE, MISSING_ROUND, MISSING_INTERVENTION = (
    2_000_000_001,
    2_000_000_002,
    2_000_000_003,
    2_000_000_004,
)
MISSING_API_KEY, MISSING_STAFF_USER, MISSING_SHARE_LINK = (
    2_000_000_005,
    2_000_000_006,
    2_000_000_007,
)
MISSING_CODE = "ACDE-FHJK-MNPQ"
MISSING_IMPORT = 2_000_000_008
MISSING_WEBHOOK, MISSING_DELIVERY = 2_000_000_009, 2_000_000_010


@dataclass(frozen=True)
class Ids:
    """The ids a request is made with: the victim's, or ids that exist nowhere."""

    area: int
    questionnaire: int
    round: int
    intervention: int
    code: str
    api_key: int = MISSING_API_KEY
    staff_user: int = MISSING_STAFF_USER
    share_link: int = MISSING_SHARE_LINK
    data_import: int = MISSING_IMPORT
    webhook: int = MISSING_WEBHOOK
    delivery: int = MISSING_DELIVERY


def answers_body(ids: Ids) -> dict[str, Any]:
    return {"area_id": ids.area, "language": "sv", "channel": "web", "answers": full_answers()}


def secret_definition() -> dict[str, Any]:
    definition = standard_definition()
    definition["key"] = "hemlig-enkat"
    definition["name"] = {lang: "Hemlig enkät" for lang in definition["languages"]}
    return definition


Request = Callable[[Ids], dict[str, Any]]

# (method, path template) -> the keyword arguments of httpx.request for those ids.
REQUESTS: dict[tuple[str, str], Request] = {
    ("GET", "/api/v1/areas/{area_id}"): lambda ids: {},
    ("PATCH", "/api/v1/areas/{area_id}"): lambda ids: {
        "json": {"name": "Kapad", "classifications": [{"year": 2025, "area_type": 5}]}
    },
    ("GET", "/api/v1/areas/{area_id}/overview"): lambda ids: {"params": {"period": "2026"}},
    ("GET", "/api/v1/questionnaires/{questionnaire_id}"): lambda ids: {},
    ("POST", "/api/v1/questionnaires/{questionnaire_id}/versions"): lambda ids: {},
    ("GET", "/api/v1/questionnaires/{questionnaire_id}/versions/{number}"): lambda ids: {},
    ("PUT", "/api/v1/questionnaires/{questionnaire_id}/versions/{number}"): lambda ids: {
        "json": secret_definition()
    },
    ("POST", "/api/v1/questionnaires/{questionnaire_id}/versions/{number}/publish"): lambda ids: {},
    ("GET", "/api/v1/rounds/{round_id}"): lambda ids: {},
    ("POST", "/api/v1/rounds/{round_id}/close"): lambda ids: {},
    ("PATCH", "/api/v1/rounds/{round_id}"): lambda ids: {"json": {"area_links_enabled": False}},
    ("GET", "/api/v1/rounds/{round_id}/results/entries"): lambda ids: {},
    ("GET", "/api/v1/rounds/{round_id}/invitations"): lambda ids: {},
    ("POST", "/api/v1/rounds/{round_id}/invitations"): lambda ids: {
        "json": {"area_id": ids.area, "count": 2}
    },
    ("POST", "/api/v1/rounds/{round_id}/invitations/letters"): lambda ids: {
        "json": {"codes": [ids.code]}
    },
    ("GET", "/api/v1/rounds/{round_id}/area-links"): lambda ids: {},
    ("POST", "/api/v1/rounds/{round_id}/responses"): lambda ids: {"json": answers_body(ids)},
    ("POST", "/api/v1/rounds/{round_id}/responses/bulk"): lambda ids: {
        "json": {"responses": [{**answers_body(ids), "channel": "paper"}]},
        "headers": {"Idempotency-Key": f"cross-{ids.round}"},
    },
    ("POST", "/api/v1/rounds/{round_id}/tallies/import"): lambda ids: {
        "files": {
            "file": ("counts.csv", b"area,item,option,count\r\nx,trivsel,1,3\r\n", "text/csv")
        }
    },
    ("POST", "/api/v1/rounds/{round_id}/imports"): lambda ids: {
        "files": {"file": ("past.csv", b"area;trivsel\r\nhemligt-omrade;1\r\n", "text/csv")},
        "data": {"mapping": '{"preset": "item_columns"}'},
    },
    ("GET", "/api/v1/rounds/{round_id}/imports"): lambda ids: {},
    ("GET", "/api/v1/rounds/{round_id}/imports/{import_id}"): lambda ids: {},
    ("DELETE", "/api/v1/rounds/{round_id}/imports/{import_id}"): lambda ids: {},
    ("GET", "/api/v1/imports/mappings/{name}"): lambda ids: {},
    ("GET", "/api/v1/standard-questionnaires/{key}"): lambda ids: {},
    ("GET", "/api/v1/rounds/{round_id}/results"): lambda ids: {},
    ("GET", "/api/v1/rounds/{round_id}/exports/codebook"): lambda ids: {},
    ("GET", "/api/v1/rounds/{round_id}/exports/responses"): lambda ids: {},
    ("GET", "/api/v1/rounds/{round_id}/exports/results"): lambda ids: {},
    ("POST", "/api/v1/rounds/{round_id}/share-links"): lambda ids: {"json": {}},
    ("GET", "/api/v1/interventions/{intervention_id}"): lambda ids: {},
    ("PATCH", "/api/v1/interventions/{intervention_id}"): lambda ids: {"json": {"name": "Kapad"}},
    ("DELETE", "/api/v1/interventions/{intervention_id}"): lambda ids: {},
    ("GET", "/api/v1/interventions/{intervention_id}/evaluation"): lambda ids: {
        "params": {"indicator": "andel_otrygga_kvall"}
    },
    ("GET", "/api/v1/questionnaires/{questionnaire_id}/versions/{number}/comparability"): (
        lambda ids: {}
    ),
    ("GET", "/api/v1/rounds/{round_id}/share-links"): lambda ids: {},
    ("DELETE", "/api/v1/rounds/{round_id}/share-links/{share_link_id}"): lambda ids: {},
    ("DELETE", "/api/v1/api-keys/{api_key_id}"): lambda ids: {},
    ("GET", "/api/v1/staff-users/{staff_user_id}"): lambda ids: {},
    ("PATCH", "/api/v1/staff-users/{staff_user_id}"): lambda ids: {"json": {"active": False}},
    ("POST", "/api/v1/staff-users/{staff_user_id}/password-link"): lambda ids: {},
    ("DELETE", "/api/v1/staff-users/{staff_user_id}/sessions"): lambda ids: {},
    ("GET", "/api/v1/webhooks/{webhook_id}"): lambda ids: {},
    ("PATCH", "/api/v1/webhooks/{webhook_id}"): lambda ids: {"json": {"enabled": False}},
    ("DELETE", "/api/v1/webhooks/{webhook_id}"): lambda ids: {},
    ("POST", "/api/v1/webhooks/{webhook_id}/secret"): lambda ids: {},
    ("GET", "/api/v1/webhooks/{webhook_id}/deliveries"): lambda ids: {},
    ("POST", "/api/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/resend"): lambda ids: {},
}


def routes_with_ids() -> list[tuple[str, str]]:
    """(method, path) of every /api/v1 route with a parameter in its path, HEAD left out."""
    app = create_app(Settings(database_url="sqlite://"))
    found = set()
    for route in routing.iter_route_contexts(app.routes):
        path = getattr(route, "path", "") or ""
        if path.startswith("/api/v1/") and "{" in path:
            found |= {(m, path) for m in (route.methods or set()) if m != "HEAD"}
    return sorted(found)


def fill(template: str, ids: Ids) -> str:
    path = (
        template.replace("{area_id}", str(ids.area))
        .replace("{questionnaire_id}", str(ids.questionnaire))
        .replace("{number}", "2")
        .replace("{round_id}", str(ids.round))
        .replace("{intervention_id}", str(ids.intervention))
        .replace("{api_key_id}", str(ids.api_key))
        .replace("{staff_user_id}", str(ids.staff_user))
        .replace("{share_link_id}", str(ids.share_link))
        .replace("{import_id}", str(ids.data_import))
        .replace("{webhook_id}", str(ids.webhook))
        .replace("{delivery_id}", str(ids.delivery))
        .replace("{name}", "no-such-mapping")
        .replace("{key}", "no-such-standard")
    )
    assert "{" not in path, f"fill() does not know the parameter in {template}"
    return path


def as_if(response: httpx.Response, swaps: dict[str, str]) -> tuple[int, str, str]:
    """Status, content type and body, with each missing id swapped for the victim's."""
    text = response.text
    for missing, actual in swaps.items():
        text = re.sub(rf"\b{re.escape(missing)}\b", actual, text)
    return response.status_code, response.headers.get("content-type", ""), text


def plain(response: httpx.Response) -> tuple[int, str, str]:
    return response.status_code, response.headers.get("content-type", ""), response.text


def swaps(missing: Ids, actual: Ids) -> dict[str, str]:
    return {
        str(getattr(missing, f)): str(getattr(actual, f))
        for f in (
            "area",
            "questionnaire",
            "round",
            "intervention",
            "code",
            "api_key",
            "staff_user",
            "share_link",
            "data_import",
            "webhook",
            "delivery",
        )
    }


def test_every_route_with_an_id_is_walked() -> None:
    routes = routes_with_ids()
    assert len(routes) >= len(REQUESTS) - 3, routes  # the enumeration itself works
    unwalked = [r for r in routes if r not in REQUESTS]
    assert not unwalked, f"add these routes to REQUESTS in {__name__}: {unwalked}"


@dataclass
class Victim:
    org: Org
    ids: Ids
    secrets: list[str]


@pytest.fixture
def victim(org: Org) -> Victim:
    """An organisation with one of everything, named so that a leak would show."""
    webhook = ok(
        org.admin.post(
            "/api/v1/webhooks",
            json={
                # A public address literal: no name to resolve; the test server sends nothing.
                "url": "https://93.184.216.34/hemlig-webhook",
                "event_types": ["round.opened", "round.closed", "results.updated"],
                "description": "Hemlig webhook",
            },
        ),
        201,
    )
    area = create_area(org.analyst, "hemligt-omrade", name="Hemliga gården")
    other_area = create_area(org.analyst, "andra-omradet")
    created = ok(org.analyst.post("/api/v1/questionnaires", json=secret_definition()), 201)
    qid = created["questionnaire"]["id"]
    version = ok(org.analyst.post(f"/api/v1/questionnaires/{qid}/versions/1/publish"))
    ok(org.analyst.post(f"/api/v1/questionnaires/{qid}/versions"), 201)  # draft version 2
    survey_round = ok(
        org.analyst.post(
            "/api/v1/rounds",
            json={
                "name": "Hemlig omgång",
                "questionnaire_version_id": version["id"],
                "period": "2026",
                "area_ids": [area["id"], other_area["id"]],
                "open_date": days(-3),
                "close_date": days(20),
            },
        ),
        201,
    )
    codes = [
        c["code"]
        for c in ok(
            org.analyst.post(
                f"/api/v1/rounds/{survey_round['id']}/invitations",
                json={"area_id": area["id"], "count": 3},
            ),
            201,
        )["codes"]
    ]
    ok(
        org.integrator.post(
            f"/api/v1/rounds/{survey_round['id']}/responses",
            json={
                "invitation_code": codes[1],
                "language": "sv",
                "answers": {**full_answers(), "fritext_plats": "Hemlig fritext"},
            },
        ),
        201,
    )
    intervention = ok(
        org.analyst.post(
            "/api/v1/interventions",
            json={
                "name": "Hemlig satsning",
                "category": "belysning",
                "area_ids": [area["id"]],
                "start_date": "2025-01-01",
            },
        ),
        201,
    )
    staff_user = ok(
        org.admin.post(
            "/api/v1/staff-users",
            json={"email": f"hemlig.person.{org.slug}@x.example", "role": "analyst"},
        ),
        201,
    )
    (integrator_key,) = [
        key for key in ok(org.admin.get("/api/v1/api-keys"))["items"] if key["role"] == "integrator"
    ]
    ok(
        org.analyst.post(
            f"/api/v1/rounds/{survey_round['id']}/share-links", json={"area_id": area["id"]}
        ),
        201,
    )
    (share_link,) = ok(org.analyst.get(f"/api/v1/rounds/{survey_round['id']}/share-links"))["items"]
    webhook_deliveries = ok(org.admin.get(f"/api/v1/webhooks/{webhook['id']}/deliveries"))
    ids = Ids(
        area=area["id"],
        questionnaire=qid,
        round=survey_round["id"],
        intervention=intervention["id"],
        code=codes[0],
        api_key=integrator_key["id"],
        staff_user=staff_user["id"],
        share_link=share_link["id"],
        webhook=webhook["id"],
        delivery=next((d["id"] for d in webhook_deliveries["items"]), MISSING_DELIVERY),
    )
    return Victim(
        org=org,
        ids=ids,
        secrets=[
            "hemligt-omrade",
            "Hemliga",
            "hemlig-enkat",
            "Hemlig enkät",
            "Hemlig omgång",
            "Hemlig satsning",
            "Hemlig fritext",
            "hemlig.person",
            "hemlig-webhook",
            "Hemlig webhook",
            webhook["secret"],
            *codes,
            *(c.replace("-", "") for c in codes),
        ],
    )


def snapshot(victim: Victim) -> dict[str, Any]:
    """What the victim sees of its own data."""
    client, ids = victim.org.admin, victim.ids
    return {
        "area": ok(client.get(f"/api/v1/areas/{ids.area}")),
        "questionnaire": ok(client.get(f"/api/v1/questionnaires/{ids.questionnaire}")),
        "draft": ok(client.get(f"/api/v1/questionnaires/{ids.questionnaire}/versions/2")),
        "round": ok(client.get(f"/api/v1/rounds/{ids.round}")),
        "invitations": ok(client.get(f"/api/v1/rounds/{ids.round}/invitations")),
        "intervention": ok(client.get(f"/api/v1/interventions/{ids.intervention}")),
        "api_keys": ok(client.get("/api/v1/api-keys")),
        "staff_user": ok(client.get(f"/api/v1/staff-users/{ids.staff_user}")),
        "share_links": ok(client.get(f"/api/v1/rounds/{ids.round}/share-links")),
        "webhook": ok(client.get(f"/api/v1/webhooks/{ids.webhook}")),
        "webhook_deliveries": ok(client.get(f"/api/v1/webhooks/{ids.webhook}/deliveries")),
    }


@pytest.mark.parametrize("role", ["admin", "analyst", "integrator"])
def test_another_organisations_ids_answer_exactly_like_missing_ids(
    victim: Victim, make_org: Callable[[], Org], role: str
) -> None:
    before = snapshot(victim)
    intruder = make_org().clients[role]
    missing = replace(
        victim.ids,
        area=MISSING_AREA,
        questionnaire=MISSING_QUESTIONNAIRE,
        round=MISSING_ROUND,
        intervention=MISSING_INTERVENTION,
        code=MISSING_CODE,
        api_key=MISSING_API_KEY,
        staff_user=MISSING_STAFF_USER,
        share_link=MISSING_SHARE_LINK,
        webhook=MISSING_WEBHOOK,
        delivery=MISSING_DELIVERY,
    )
    swap = swaps(missing, victim.ids)
    walked = 0
    for method, template in routes_with_ids():
        assert (method, template) in REQUESTS, f"{method} {template} is not walked"
        make = REQUESTS[(method, template)]
        theirs = intruder.request(method, fill(template, victim.ids), **make(victim.ids))
        nobody = intruder.request(method, fill(template, missing), **make(missing))
        where = f"{role}: {method} {template}"
        # Byte for byte what a missing id gets, once the ids in the text are swapped.
        assert plain(theirs) == as_if(nobody, swap), where
        if nobody.status_code == 403:  # this role may not call the route at all
            continue
        problem(theirs, 404)
        for secret in victim.secrets:
            assert secret not in theirs.text, f"{where} leaks {secret!r}"
        walked += 1
    assert walked > 0
    assert snapshot(victim) == before


def test_ids_of_another_organisation_in_bodies_and_queries_are_not_found(
    victim: Victim, make_org: Callable[[], Org], db: sessionmaker[Session]
) -> None:
    before = snapshot(victim)
    intruder = make_org()
    own_area = create_area(intruder.analyst, "eget")
    created = ok(intruder.analyst.post("/api/v1/questionnaires", json=standard_definition()), 201)
    qid = created["questionnaire"]["id"]
    version = ok(intruder.analyst.post(f"/api/v1/questionnaires/{qid}/versions/1/publish"))
    own_round = ok(
        intruder.analyst.post(
            "/api/v1/rounds",
            json={
                "name": "Egen",
                "questionnaire_version_id": version["id"],
                "period": "2026",
                "area_ids": [own_area["id"]],
                "open_date": days(-3),
                "close_date": days(20),
            },
        ),
        201,
    )
    their_area = victim.ids.area

    def round_body(version_id: int, area_id: int) -> dict[str, Any]:
        return {
            "name": "R",
            "questionnaire_version_id": version_id,
            "period": "2026",
            "area_ids": [area_id],
            "open_date": days(0),
            "close_date": days(5),
        }

    their_version = before["round"]["questionnaire_version_id"]
    own = own_round["id"]

    def attempts(area: int, version_id: int, code: str) -> list[tuple[str, str, dict[str, Any]]]:
        return [
            ("POST", "/api/v1/rounds", {"json": round_body(version["id"], area)}),
            ("POST", "/api/v1/rounds", {"json": round_body(version_id, own_area["id"])}),
            ("POST", f"/api/v1/rounds/{own}/invitations", {"json": {"area_id": area, "count": 1}}),
            (
                "POST",
                f"/api/v1/rounds/{own}/responses",
                {"json": {"area_id": area, "language": "sv", "answers": {}}},
            ),
            (
                "POST",
                f"/api/v1/rounds/{own}/responses",
                {"json": {"invitation_code": code, "language": "sv", "answers": {}}},
            ),
            (
                "POST",
                "/api/v1/interventions",
                {
                    "json": {
                        "name": "X",
                        "category": "belysning",
                        "area_ids": [area],
                        "start_date": "2025-01-01",
                    }
                },
            ),
            (
                "GET",
                "/api/v1/results/trends",
                {"params": {"area_id": area, "item": "trygg_ute_kvall"}},
            ),
            ("GET", f"/api/v1/rounds/{own}/results", {"params": {"area_id": area}}),
            ("GET", "/api/v1/interventions", {"params": {"area_id": area}}),
        ]

    swap = {
        str(MISSING_AREA): str(their_area),
        str(MISSING_ROUND): str(their_version),
        MISSING_CODE: victim.ids.code,
    }
    theirs = attempts(their_area, their_version, victim.ids.code)
    nobody = attempts(MISSING_AREA, MISSING_ROUND, MISSING_CODE)
    for (method, path, kwargs), (_, _, missing_kwargs) in zip(theirs, nobody, strict=True):
        response = intruder.admin.request(method, path, **kwargs)
        assert response.status_code < 500, response.text
        assert plain(response) == as_if(
            intruder.admin.request(method, path, **missing_kwargs), swap
        ), f"{method} {path}"
        for secret in victim.secrets:
            assert secret not in response.text, f"{method} {path} leaks {secret!r}"
    # Lists only ever show the caller's own rows.
    for path in (
        "/api/v1/areas",
        "/api/v1/questionnaires",
        "/api/v1/rounds",
        "/api/v1/interventions",
    ):
        listed = intruder.admin.get(path)
        assert listed.status_code == 200, listed.text
        for secret in victim.secrets:
            assert secret not in listed.text, f"GET {path} leaks {secret!r}"
    assert response_count(db, own_round["id"]) == 0
    assert snapshot(victim) == before
