"""Malformed input, authentication and roles: always a precise problem+json, never a 500."""

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import routing
from sqlalchemy.orm import Session, sessionmaker

from survey_api.auth import service as auth_service
from survey_api.config import Settings
from survey_api.main import create_app
from tests.api.support import area_count, error_locs, problem, response_count
from tests.conftest import LiveServer, Org
from tests.helpers import OpenRound, create_area, ok, open_round

HUGE_ID = 2**40  # beyond a 32-bit integer column: must still be a plain 404


# --- malformed bodies ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content", [b'{"code": "a", "name": ', b"{'code': 'a'}", b"not json", b'{"code": "a",}']
)
def test_broken_json_is_400(org: Org, db: sessionmaker[Session], content: bytes) -> None:
    body = problem(
        org.analyst.post(
            "/api/v1/areas", content=content, headers={"Content-Type": "application/json"}
        ),
        400,
    )
    assert "JSON" in body["detail"]
    assert area_count(db, org.id) == 0


def test_wrong_types_and_unknown_fields_list_each_field(
    org: Org, db: sessionmaker[Session]
) -> None:
    body = problem(
        org.analyst.post(
            "/api/v1/areas",
            json={
                "code": "a",
                "name": ["A"],
                "municipality_code": 1480,
                "households": "many",
                "colour": "red",
            },
        ),
        422,
    )
    assert sorted(map(str, error_locs(body))) == sorted(
        map(
            str,
            [
                ["body", "name"],
                ["body", "municipality_code"],
                ["body", "households"],
                ["body", "colour"],
            ],
        )
    )
    for field in ("name", "municipality_code", "households", "colour"):
        assert field in body["detail"]
    assert area_count(db, org.id) == 0


@pytest.mark.parametrize("payload", [[], "text", 42, None])
def test_a_body_of_the_wrong_shape_is_422(org: Org, payload: Any) -> None:
    problem(org.analyst.post("/api/v1/areas", json=payload), 422)


def test_a_missing_body_is_422(org: Org) -> None:
    body = problem(org.analyst.post("/api/v1/areas"), 422)
    assert error_locs(body) == [["body"]]


def test_a_non_integer_id_is_422(org: Org) -> None:
    body = problem(org.analyst.get("/api/v1/areas/abc"), 422)
    assert error_locs(body) == [["path", "area_id"]]


def big_body(server: LiveServer) -> bytes:
    padding = "x" * (server.settings.max_body_bytes + 10)
    return ('{"code": "big", "name": "' + padding + '", "municipality_code": "1480"}').encode()


def test_a_body_over_the_limit_is_413(
    org: Org, server: LiveServer, db: sessionmaker[Session]
) -> None:
    content = big_body(server)
    response = org.analyst.post(
        "/api/v1/areas", content=content, headers={"Content-Type": "application/json"}
    )
    assert str(server.settings.max_body_bytes) in problem(response, 413)["detail"]
    assert area_count(db, org.id) == 0


def test_a_chunked_body_over_the_limit_is_413(
    org: Org, server: LiveServer, db: sessionmaker[Session]
) -> None:
    content = big_body(server)

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(content), 64 * 1024):
            yield content[start : start + 64 * 1024]

    request = org.analyst.build_request(
        "POST", "/api/v1/areas", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert "content-length" not in request.headers
    assert request.headers["transfer-encoding"] == "chunked"
    problem(org.analyst.send(request), 413)
    assert area_count(db, org.id) == 0


def test_a_body_just_under_the_limit_is_read(org: Org, server: LiveServer) -> None:
    # Proves the limit is the configured one: a large body that fits is parsed (and validated).
    padding = "x" * (server.settings.max_body_bytes - 200)
    body = problem(
        org.analyst.post(
            "/api/v1/areas", json={"code": "big", "name": padding, "municipality_code": "1480"}
        ),
        422,
    )
    assert error_locs(body) == [["body", "name"]]


# --- unknown ids and paths ----------------------------------------------------------------------


def id_requests(r: OpenRound, missing: int) -> list[tuple[str, str, dict[str, Any] | None]]:
    """Requests that each name one id that does not exist."""
    area_id = r.area_ids[0]
    return [
        ("GET", f"/api/v1/areas/{missing}", None),
        ("PATCH", f"/api/v1/areas/{missing}", {"households": 5}),
        ("GET", f"/api/v1/questionnaires/{missing}", None),
        ("GET", f"/api/v1/questionnaires/{missing}/versions/1", None),
        ("GET", f"/api/v1/rounds/{missing}", None),
        ("POST", f"/api/v1/rounds/{missing}/close", None),
        ("GET", f"/api/v1/rounds/{missing}/invitations", None),
        ("POST", f"/api/v1/rounds/{missing}/invitations", {"area_id": area_id, "count": 1}),
        ("POST", f"/api/v1/rounds/{r.id}/invitations", {"area_id": missing, "count": 1}),
        (
            "POST",
            f"/api/v1/rounds/{missing}/responses",
            {"area_id": area_id, "language": "sv", "answers": {"trivsel": 3}},
        ),
        (
            "POST",
            f"/api/v1/rounds/{r.id}/responses",
            {"area_id": missing, "language": "sv", "answers": {"trivsel": 3}},
        ),
        (
            "POST",
            "/api/v1/rounds",
            {
                "name": "R",
                "questionnaire_version_id": missing,
                "period": "2026",
                "area_ids": [area_id],
                "open_date": "2026-01-01",
                "close_date": "2026-02-01",
            },
        ),
        (
            "POST",
            "/api/v1/rounds",
            {
                "name": "R",
                "questionnaire_version_id": r.version_id,
                "period": "2026",
                "area_ids": [missing],
                "open_date": "2026-01-01",
                "close_date": "2026-02-01",
            },
        ),
    ]


def test_unknown_ids_are_404(org: Org) -> None:
    r = open_round(org.analyst)
    for method, path, body in id_requests(r, 999_999):
        problem(org.admin.request(method, path, json=body), 404)


@pytest.mark.parametrize("huge", [HUGE_ID, 2**70, 0])
def test_ids_that_cannot_exist_are_422_naming_the_field(
    org: Org, db: sessionmaker[Session], huge: int
) -> None:
    r = open_round(org.analyst)
    for method, path, body in id_requests(r, huge):
        locs = error_locs(problem(org.admin.request(method, path, json=body), 422))
        assert len(locs) == 1 and locs[0][0] in ("path", "body"), (path, locs)
    assert response_count(db, r.id) == 0


def test_unknown_paths_and_methods_are_problems(org: Org) -> None:
    problem(org.analyst.get("/api/v1/nothing-here"), 404)
    problem(org.analyst.delete("/api/v1/areas"), 405)


# --- authentication -----------------------------------------------------------------------------


def test_no_key_is_401(anonymous: httpx.Client) -> None:
    for method, path in [
        ("GET", "/api/v1/areas"),
        ("GET", "/api/v1/organisation"),
        ("POST", "/api/v1/areas"),
        ("GET", "/api/v1/rounds/1"),
    ]:
        body = problem(anonymous.request(method, path), 401)
        assert "Bearer" in body["detail"]


@pytest.mark.parametrize(
    "authorization",
    ["Bearer sak_not-a-real-key", "Bearer", "Basic dXNlcjpwYXNz", "sak_without_scheme"],
)
def test_a_bad_key_is_401(anonymous: httpx.Client, authorization: str) -> None:
    problem(anonymous.get("/api/v1/areas", headers={"Authorization": authorization}), 401)


def test_a_revoked_key_stops_working(org: Org, db: sessionmaker[Session]) -> None:
    ok(org.analyst.get("/api/v1/areas"))
    with db() as session:
        key = next(k for k in auth_service.list_api_keys(session, org.id) if k.name == "analyst")
        auth_service.revoke_api_key(session, key.id)
        session.commit()
    problem(org.analyst.get("/api/v1/areas"), 401)
    ok(org.admin.get("/api/v1/areas"))


# --- roles --------------------------------------------------------------------------------------

ALL = {"admin", "analyst", "integrator"}
DEFINERS = {"admin", "analyst"}
UPLOADERS = {"admin", "integrator"}

# Who may call each route (DESIGN.md: admin all; analyst definitions and results; integrator
# results and bulk upload). A route missing here fails test_every_route_has_a_role_rule.
ROLE_RULES: dict[tuple[str, str], set[str]] = {
    ("GET", "/api/v1/organisation"): ALL,
    ("PATCH", "/api/v1/organisation"): {"admin"},
    ("GET", "/api/v1/areas"): ALL,
    ("POST", "/api/v1/areas"): DEFINERS,
    ("POST", "/api/v1/areas/import"): DEFINERS,
    ("POST", "/api/v1/areas/classifications/import"): DEFINERS,
    ("GET", "/api/v1/areas/{area_id}"): ALL,
    ("PATCH", "/api/v1/areas/{area_id}"): DEFINERS,
    ("GET", "/api/v1/areas/{area_id}/overview"): ALL,
    ("GET", "/api/v1/questionnaires"): ALL,
    ("POST", "/api/v1/questionnaires"): DEFINERS,
    ("GET", "/api/v1/questionnaires/{questionnaire_id}"): ALL,
    ("POST", "/api/v1/questionnaires/{questionnaire_id}/versions"): DEFINERS,
    ("GET", "/api/v1/questionnaires/{questionnaire_id}/versions/{number}"): ALL,
    ("GET", "/api/v1/standard-questionnaires"): ALL,
    ("GET", "/api/v1/standard-questionnaires/{key}"): ALL,
    ("PUT", "/api/v1/questionnaires/{questionnaire_id}/versions/{number}"): DEFINERS,
    ("POST", "/api/v1/questionnaires/{questionnaire_id}/versions/{number}/publish"): DEFINERS,
    ("GET", "/api/v1/rounds"): ALL,
    ("POST", "/api/v1/rounds"): DEFINERS,
    ("GET", "/api/v1/rounds/{round_id}"): ALL,
    ("POST", "/api/v1/rounds/{round_id}/close"): DEFINERS,
    ("PATCH", "/api/v1/rounds/{round_id}"): DEFINERS,
    ("POST", "/api/v1/rounds/{round_id}/invitations"): DEFINERS,
    ("GET", "/api/v1/rounds/{round_id}/invitations"): ALL,
    ("POST", "/api/v1/rounds/{round_id}/responses"): UPLOADERS,
    ("POST", "/api/v1/rounds/{round_id}/responses/bulk"): UPLOADERS,
    ("POST", "/api/v1/rounds/{round_id}/tallies/import"): DEFINERS,
    ("POST", "/api/v1/rounds/{round_id}/imports"): DEFINERS,
    ("GET", "/api/v1/rounds/{round_id}/imports"): DEFINERS,
    ("GET", "/api/v1/rounds/{round_id}/imports/{import_id}"): DEFINERS,
    ("DELETE", "/api/v1/rounds/{round_id}/imports/{import_id}"): {"admin"},
    ("GET", "/api/v1/imports/mappings"): ALL,
    ("GET", "/api/v1/imports/mappings/{name}"): ALL,
    ("POST", "/api/v1/rounds/{round_id}/invitations/letters"): DEFINERS,
    ("GET", "/api/v1/rounds/{round_id}/area-links"): DEFINERS,
    ("GET", "/api/v1/rounds/{round_id}/results"): ALL,
    # Ways in and link bursts: for the admin, who judges whether link answers were stuffed.
    ("GET", "/api/v1/rounds/{round_id}/results/entries"): {"admin"},
    ("GET", "/api/v1/results/trends"): ALL,
    ("GET", "/api/v1/benchmarks"): ALL,
    ("GET", "/api/v1/rounds/{round_id}/exports/codebook"): ALL,
    # Anonymised responses include free text, which only an admin may read (DESIGN.md).
    ("GET", "/api/v1/rounds/{round_id}/exports/responses"): {"admin"},
    ("GET", "/api/v1/rounds/{round_id}/exports/results"): ALL,
    ("POST", "/api/v1/rounds/{round_id}/share-links"): DEFINERS,
    ("GET", "/api/v1/interventions"): ALL,
    ("POST", "/api/v1/interventions"): DEFINERS,
    ("GET", "/api/v1/interventions/{intervention_id}"): ALL,
    ("PATCH", "/api/v1/interventions/{intervention_id}"): DEFINERS,
    ("DELETE", "/api/v1/interventions/{intervention_id}"): DEFINERS,
    ("GET", "/api/v1/interventions/{intervention_id}/evaluation"): ALL,
    ("GET", "/api/v1/questionnaires/{questionnaire_id}/versions/{number}/comparability"): ALL,
    ("GET", "/api/v1/rounds/{round_id}/share-links"): DEFINERS,
    ("DELETE", "/api/v1/rounds/{round_id}/share-links/{share_link_id}"): DEFINERS,
    ("GET", "/api/v1/api-keys"): {"admin"},
    ("POST", "/api/v1/api-keys"): {"admin"},
    ("DELETE", "/api/v1/api-keys/{api_key_id}"): {"admin"},
    ("GET", "/api/v1/staff-users"): {"admin"},
    ("POST", "/api/v1/staff-users"): {"admin"},
    ("GET", "/api/v1/staff-users/{staff_user_id}"): {"admin"},
    ("PATCH", "/api/v1/staff-users/{staff_user_id}"): {"admin"},
    ("POST", "/api/v1/staff-users/{staff_user_id}/password-link"): {"admin"},
    ("DELETE", "/api/v1/staff-users/{staff_user_id}/sessions"): {"admin"},
    # Webhook subscriptions: the organisation's integrations, set up by an admin.
    ("GET", "/api/v1/webhooks"): {"admin"},
    ("POST", "/api/v1/webhooks"): {"admin"},
    ("GET", "/api/v1/webhooks/{webhook_id}"): {"admin"},
    ("PATCH", "/api/v1/webhooks/{webhook_id}"): {"admin"},
    ("DELETE", "/api/v1/webhooks/{webhook_id}"): {"admin"},
    ("POST", "/api/v1/webhooks/{webhook_id}/secret"): {"admin"},
    ("GET", "/api/v1/webhooks/{webhook_id}/deliveries"): {"admin"},
    ("POST", "/api/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/resend"): {"admin"},
}


def api_routes() -> list[tuple[str, str]]:
    """(method, path) of every /api/v1 route of the app, HEAD left out."""
    app = create_app(Settings(database_url="sqlite://"))
    found = set()
    for route in routing.iter_route_contexts(app.routes):
        path = getattr(route, "path", "") or ""
        if path.startswith("/api/v1/") and path != "/api/v1/openapi.json":
            found |= {(m, path) for m in (route.methods or set()) if m != "HEAD"}
    return sorted(found)


def test_every_route_has_a_role_rule() -> None:
    unruled = [r for r in api_routes() if r not in ROLE_RULES]
    assert not unruled, f"add these routes to ROLE_RULES: {unruled}"


@pytest.mark.parametrize("rule", sorted(ROLE_RULES), ids=lambda r: f"{r[0]} {r[1]}")
def test_roles_per_route(org: Org, rule: tuple[str, str]) -> None:
    method, template = rule
    # Ids that exist nowhere: allowed roles get past the role check to a 404/422, nothing changes.
    path = (
        template.replace("{area_id}", "999999")
        .replace("{questionnaire_id}", "999999")
        .replace("{number}", "1")
        .replace("{round_id}", "999999")
        .replace("{intervention_id}", "999999")
        .replace("{share_link_id}", "999999")
        .replace("{api_key_id}", "999999")
        .replace("{staff_user_id}", "999999")
        .replace("{import_id}", "999999")
        .replace("{webhook_id}", "999999")
        .replace("{delivery_id}", "999999")
        .replace("{name}", "limesurvey_standard")
        .replace("{key}", "kundenkat-standard")
    )
    assert "{" not in path, f"give {template} an id to use here"
    headers = {"Idempotency-Key": "roles"} if path.endswith("/bulk") else {}
    for role in sorted(ALL):
        response = org.clients[role].request(method, path, headers=headers)
        if role in ROLE_RULES[rule]:
            assert response.status_code != 403, f"{role} refused on {method} {path}"
            assert response.status_code < 500, response.text
        else:
            body = problem(response, 403)
            assert role in body["detail"]


def test_an_integrator_cannot_create_areas(org: Org, db: sessionmaker[Session]) -> None:
    problem(
        org.integrator.post(
            "/api/v1/areas", json={"code": "a", "name": "A", "municipality_code": "1480"}
        ),
        403,
    )
    assert area_count(db, org.id) == 0


def test_an_analyst_cannot_upload_responses(org: Org, db: sessionmaker[Session]) -> None:
    r = open_round(org.analyst)
    problem(
        org.analyst.post(
            f"/api/v1/rounds/{r.id}/responses",
            json={"area_id": r.area_ids[0], "language": "sv", "answers": {}},
        ),
        403,
    )
    problem(
        org.analyst.post(
            f"/api/v1/rounds/{r.id}/responses/bulk",
            json={
                "responses": [
                    {"area_id": r.area_ids[0], "language": "sv", "channel": "paper", "answers": {}}
                ]
            },
            headers={"Idempotency-Key": "k"},
        ),
        403,
    )
    assert response_count(db, r.id) == 0


def test_only_an_admin_changes_organisation_settings(org: Org) -> None:
    before = ok(org.analyst.get("/api/v1/organisation"))
    assert before["id"] == org.id and before["min_cell_size"] == 10
    for client in (org.analyst, org.integrator):
        problem(client.patch("/api/v1/organisation", json={"min_cell_size": 20}), 403)
    assert ok(org.admin.get("/api/v1/organisation")) == before
    updated = ok(
        org.admin.patch(
            "/api/v1/organisation", json={"min_cell_size": 15, "languages": ["sv", "ar"]}
        )
    )
    assert (updated["min_cell_size"], updated["languages"]) == (15, ["sv", "ar"])
    assert ok(org.integrator.get("/api/v1/organisation")) == updated


@pytest.mark.parametrize("size", [4, 0, -1])
def test_min_cell_size_below_5_is_rejected(org: Org, size: int) -> None:
    body = problem(org.admin.patch("/api/v1/organisation", json={"min_cell_size": size}), 422)
    assert error_locs(body) == [["body", "min_cell_size"]]
    assert ok(org.admin.get("/api/v1/organisation"))["min_cell_size"] == 10


def test_min_cell_size_5_is_the_floor(org: Org) -> None:
    assert (
        ok(org.admin.patch("/api/v1/organisation", json={"min_cell_size": 5}))["min_cell_size"] == 5
    )


@pytest.mark.parametrize(
    "body",
    [
        {"languages": ["svenska"]},
        {"languages": []},
        {"name": ""},
        {"slug": "new"},
        {"min_cell_size": "ten"},
        {"min_cell_size": None},
        {"name": None},
    ],
)
def test_invalid_organisation_settings_are_rejected(org: Org, body: dict[str, Any]) -> None:
    before = ok(org.admin.get("/api/v1/organisation"))
    response = org.admin.patch("/api/v1/organisation", json=body)
    problem(response, 422)
    assert ok(org.admin.get("/api/v1/organisation")) == before


def test_duplicate_area_code_is_409_problem(org: Org) -> None:
    create_area(org.analyst, "dup")
    problem(
        org.analyst.post(
            "/api/v1/areas", json={"code": "dup", "name": "Dup", "municipality_code": "1480"}
        ),
        409,
    )
