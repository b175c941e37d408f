"""Hostile input: every bad request answers 4xx problem+json naming the field, and writes nothing.

An external review (issue 7) found input that still answered 500: a NUL character (PostgreSQL
text and jsonb cannot hold one), a cost beyond a 32-bit column, a CSV field beyond the csv
module's limit, a deeply nested hidden state on the tenant form, and lax coercion that took
`false` for 0 and `0` for 1970-01-01. Each class is sent here to every request body it applies
to, on both databases, and the organisation's rows are compared before and after each request.
The autouse check of tests/api/conftest.py fails any test whose requests logged a server error.
"""

import json
import re
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sqlalchemy import JSON, String, cast, select, true
from sqlalchemy.orm import Session, sessionmaker

from survey_api.models import Area, Base, Organisation, Questionnaire, SurveyRound
from survey_api.web import tokens
from tests.api.support import PROBLEM_JSON, area_count, days, problem
from tests.conftest import LiveServer, Org
from tests.helpers import create_area, ok, open_round, standard_definition
from tests.web.pages import form

Path = tuple[str | int, ...]
Snapshot = dict[str, list[str]]
RAW = "__raw__:"  # a string value sent as bare JSON text: RAW + "1e400" is the number 1e400


def snapshot(db: sessionmaker[Session], organisation_id: int) -> Snapshot:
    """Every row of every table that belongs to the organisation (and the global ones)."""
    rounds = select(SurveyRound.id).where(SurveyRound.organisation_id == organisation_id)
    areas = select(Area.id).where(Area.organisation_id == organisation_id)
    questionnaires = select(Questionnaire.id).where(
        Questionnaire.organisation_id == organisation_id
    )
    found: Snapshot = {}
    with db() as session:
        for table in Base.metadata.sorted_tables:
            c = table.c
            if table.name == Organisation.__tablename__:
                where = c.id == organisation_id
            elif "organisation_id" in c:
                where = c.organisation_id == organisation_id
            elif "survey_round_id" in c:
                where = c.survey_round_id.in_(rounds)
            elif "area_id" in c:
                where = c.area_id.in_(areas)
            elif "questionnaire_id" in c:
                where = c.questionnaire_id.in_(questionnaires)
            else:
                where = true()
            # JSON as stored text: cheaper to read, and compared exactly as stored
            columns = [cast(c, String) if isinstance(c.type, JSON) else c for c in table.c]
            rows = session.execute(select(*columns).where(where))
            found[table.name] = sorted(repr(tuple(row)) for row in rows)
    return found


def encode(body: Any) -> bytes:
    """JSON as a hostile client would write it: NaN and Infinity allowed, raw numbers kept."""
    text = json.dumps(body, ensure_ascii=False, allow_nan=True)
    text = re.sub(r'"__raw__:([^"]*)"', r"\1", text)
    return text.encode()


def with_value(body: Any, path: Path, value: Any) -> Any:
    """A deep copy of ``body`` with the value at ``path`` replaced (or added)."""
    copy = json.loads(json.dumps(body))
    target = copy
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return copy


def value_at(body: Any, path: Path) -> Any:
    for key in path:
        body = body[key]
    return body


def with_nul(text: str) -> str:
    return text[:1] + "\x00" + text[1:]


def nested(depth: int, inner: str = "1") -> str:
    return RAW + "[" * depth + inner + "]" * depth


@dataclass
class Endpoint:
    """A request body and what is in it: text fields, integers, dates and booleans."""

    name: str
    method: str
    path: str
    body: dict[str, Any]
    texts: list[Path] = field(default_factory=list)
    ints: list[Path] = field(default_factory=list)
    dates: list[Path] = field(default_factory=list)
    bools: list[Path] = field(default_factory=list)
    # ints whose bound is above 2**31 (cost_sek): only the 64-bit values are out of range
    wide_ints: list[Path] = field(default_factory=list)
    headers: Callable[[], dict[str, str]] = dict


@dataclass
class World:
    """An organisation with a published questionnaire, an open round, areas and codes."""

    org: Org
    db: sessionmaker[Session]
    endpoints: list[Endpoint]
    # The rows as of the last check: each rejected request must leave them as they are.
    rows: Snapshot | None = None

    @property
    def client(self) -> httpx.Client:
        return self.org.admin

    def send(self, endpoint: Endpoint, body: Any) -> httpx.Response:
        return self.client.request(
            endpoint.method,
            endpoint.path,
            content=body if isinstance(body, bytes) else encode(body),
            headers={"content-type": "application/json", **endpoint.headers()},
        )


ANSWERS: dict[str, Any] = {
    "trivsel": 3,
    "utsatt_brott_12m": [6],
    "fritext_plats": "Gångtunneln vid centrum är mörk.",
}


@pytest.fixture
def world(org: Org, db: sessionmaker[Session]) -> World:
    admin = org.admin
    r = open_round(admin)
    area_id = r.area_ids[0]
    intervention = ok(
        admin.post(
            "/api/v1/interventions",
            json={
                "name": "Belysning",
                "category": "belysning",
                "area_ids": [area_id],
                "start_date": "2025-01-01",
            },
        ),
        201,
    )
    codes = ok(
        admin.post(f"/api/v1/rounds/{r.id}/invitations", json={"area_id": area_id, "count": 1}),
        201,
    )["codes"]
    definition = standard_definition()
    definition["key"] = "hostile"
    draft = ok(admin.post("/api/v1/questionnaires", json=definition), 201)
    qid = draft["questionnaire"]["id"]

    def idempotency() -> dict[str, str]:
        return {"Idempotency-Key": uuid.uuid4().hex}

    endpoints = [
        Endpoint(
            "create area",
            "POST",
            "/api/v1/areas",
            {
                "code": "hostile",
                "name": "Hjällbo",
                "municipality_code": "1480",
                "deso_code": "1480C1010",
                "deso_version": "2025",
                "regso_code": "1480R001",
                "regso_version": "2025",
                "households": 2300,
                "classifications": [
                    {"year": 2025, "area_type": 1, "police_classification": "utsatt"}
                ],
            },
            texts=[
                ("code",),
                ("name",),
                ("municipality_code",),
                ("deso_code",),
                ("deso_version",),
                ("regso_code",),
                ("regso_version",),
                ("classifications", 0, "police_classification"),
            ],
            ints=[
                ("households",),
                ("classifications", 0, "year"),
                ("classifications", 0, "area_type"),
            ],
        ),
        Endpoint(
            "update area",
            "PATCH",
            f"/api/v1/areas/{area_id}",
            {"name": "Nytt namn", "municipality_code": "1480", "households": 2400},
            texts=[("name",), ("municipality_code",)],
            ints=[("households",)],
        ),
        Endpoint(
            "create round",
            "POST",
            "/api/v1/rounds",
            {
                "name": "Trygghetsmätning",
                "questionnaire_version_id": r.version_id,
                "period": "2027",
                "area_ids": [area_id],
                "open_date": days(1),
                "close_date": days(30),
                "area_links_enabled": True,
            },
            texts=[("name",), ("period",)],
            ints=[("questionnaire_version_id",), ("area_ids", 0)],
            dates=[("open_date",), ("close_date",)],
            bools=[("area_links_enabled",)],
        ),
        Endpoint(
            "issue invitations",
            "POST",
            f"/api/v1/rounds/{r.id}/invitations",
            {"area_id": area_id, "count": 2},
            ints=[("area_id",), ("count",)],
        ),
        Endpoint(
            "render letters",
            "POST",
            f"/api/v1/rounds/{r.id}/invitations/letters",
            {"codes": [codes[0]["code"]], "languages": ["sv"]},
            texts=[("codes", 0), ("languages", 0)],
        ),
        Endpoint(
            "submit response",
            "POST",
            f"/api/v1/rounds/{r.id}/responses",
            {"area_id": area_id, "language": "sv", "channel": "paper", "answers": ANSWERS},
            texts=[
                ("language",),
                ("channel",),
                ("answers", "fritext_plats"),
                ("invitation_code",),
            ],
            ints=[("area_id",), ("answers", "trivsel"), ("answers", "utsatt_brott_12m", 0)],
        ),
        Endpoint(
            "upload responses",
            "POST",
            f"/api/v1/rounds/{r.id}/responses/bulk",
            {
                "responses": [
                    {"area_id": area_id, "language": "sv", "channel": "phone", "answers": ANSWERS}
                ]
            },
            texts=[
                ("responses", 0, "language"),
                ("responses", 0, "channel"),
                ("responses", 0, "answers", "fritext_plats"),
            ],
            ints=[("responses", 0, "area_id"), ("responses", 0, "answers", "trivsel")],
            headers=idempotency,
        ),
        Endpoint(
            "create intervention",
            "POST",
            "/api/v1/interventions",
            {
                "name": "Trygghetsvärdar",
                "category": "trygghetsvardar",
                "area_ids": [area_id],
                "start_date": "2025-01-15",
                "end_date": "2026-01-15",
                "cost_sek": 1_800_000,
                "description": "Två värdar kvällar och helger.",
            },
            texts=[("name",), ("category",), ("description",)],
            ints=[("area_ids", 0)],
            wide_ints=[("cost_sek",)],
            dates=[("start_date",), ("end_date",)],
        ),
        Endpoint(
            "update intervention",
            "PATCH",
            f"/api/v1/interventions/{intervention['id']}",
            {
                "name": "Belysning i parken",
                "area_ids": [area_id],
                "end_date": "2026-06-30",
                "cost_sek": 250_000,
            },
            texts=[("name",), ("category",), ("description",)],
            ints=[("area_ids", 0)],
            wide_ints=[("cost_sek",)],
            dates=[("start_date",), ("end_date",)],
        ),
        Endpoint(
            "update organisation",
            "PATCH",
            "/api/v1/organisation",
            {"name": "Bostadsbolaget", "min_cell_size": 10, "languages": ["sv", "en"]},
            texts=[("name",), ("languages", 0)],
            ints=[("min_cell_size",)],
        ),
        Endpoint(
            "create share link",
            "POST",
            f"/api/v1/rounds/{r.id}/share-links",
            {"area_id": area_id, "language": "sv", "expires_in_days": 30},
            texts=[("language",)],
            ints=[("area_id",), ("expires_in_days",)],
        ),
        Endpoint(
            "create questionnaire",
            "POST",
            "/api/v1/questionnaires",
            {**standard_definition(), "key": "hostile-copy"},
            texts=[
                ("key",),
                ("name", "sv"),
                ("default_language",),
                ("languages", 0),
                ("sections", 0, "key"),
                ("sections", 0, "title", "sv"),
                ("items", 0, "key"),
                ("items", 0, "section"),
                ("items", 0, "group"),
                ("items", 0, "text", "en"),
                ("items", 0, "options", 0, "label", "ar"),
                ("indicators", 0, "label", "sv"),
            ],
            ints=[("items", 0, "options", 0, "code"), ("items", 0, "favourable", 0)],
            bools=[("items", 0, "required"), ("items", 0, "options", 0, "exclusive")],
        ),
        Endpoint(
            "update questionnaire draft",
            "PUT",
            f"/api/v1/questionnaires/{qid}/versions/1",
            definition,
            texts=[("name", "en"), ("items", 1, "text", "sv")],
            ints=[("items", 1, "options", 1, "code")],
        ),
    ]
    return World(org=org, db=db, endpoints=endpoints)


def expect_rejected(
    world: World,
    endpoint: Endpoint,
    body: Any,
    case: str,
    *,
    path: Path | None = None,
    statuses: tuple[int, ...] = (422,),
    detail: str | None = None,
) -> str | None:
    """Send a hostile body; return what is wrong with the answer (None: rejected properly).

    Whether anything was written is checked by unchanged(), after each group of requests.
    """
    response = world.send(endpoint, body)
    where = f"{endpoint.name}, {case}"
    if response.status_code not in statuses:
        return f"{where}: {response.status_code} {response.text[:300]}"
    if not response.headers.get("content-type", "").startswith(PROBLEM_JSON):
        return f"{where}: content-type {response.headers.get('content-type')}"
    problem_body = response.json()
    if not problem_body.get("detail") or problem_body.get("status") != response.status_code:
        return f"{where}: not a problem body: {problem_body}"
    if path is not None and not names(problem_body, path):
        return f"{where}: the error does not name {list(path)}: {problem_body}"
    if detail is not None and detail not in problem_body["detail"]:
        return f"{where}: detail {problem_body['detail']!r} lacks {detail!r}"
    return None


def unchanged(world: World, where: str) -> str | None:
    """Whether the organisation's rows are still as they were (None: nothing was written)."""
    before, world.rows = world.rows, snapshot(world.db, world.org.id)
    return None if world.rows == before else f"{where}: something was written"


def names(problem_body: dict[str, Any], path: Path) -> bool:
    """Whether an error's loc points at the field (or at its field, for text inside a field)."""
    want = [str(p) for p in path]
    for error in problem_body.get("errors") or []:
        got = [str(p) for p in error["loc"]]
        got = got[1:] if got[:1] == ["body"] else got
        common = min(len(got), len(want))
        if common >= 1 and got[:common] == want[:common]:
            return True
    return False


def run(world: World, cases: Iterable[str | None]) -> None:
    """Send every case; fail listing each one not rejected properly, or that wrote anything."""
    world.rows = snapshot(world.db, world.org.id)
    failures = [failure for failure in cases if failure is not None]
    written = unchanged(world, "the cases together")
    failures += [written] if written else []
    assert not failures, f"{len(failures)} hostile requests were not rejected properly:\n" + (
        "\n".join(failures)
    )


def assert_valid_bodies_accepted(world: World) -> None:
    """The corpus is not vacuous: each body is accepted once the hostile value is gone."""
    for endpoint in world.endpoints:
        response = world.send(endpoint, endpoint.body)
        assert response.status_code < 300, f"{endpoint.name}: {response.text[:500]}"


# --- NUL characters ----------------------------------------------------------------------------


def test_a_nul_character_in_any_text_field_is_refused(world: World) -> None:
    def cases() -> Iterator[str | None]:
        for endpoint in world.endpoints:
            for path in endpoint.texts:
                try:
                    original = value_at(endpoint.body, path)
                except (KeyError, IndexError):
                    original = "ACDEFHJKMNPQ" if path[-1] == "invitation_code" else "grupp"
                for value in (with_nul(str(original)), "\x00", f"{original}\x00"):
                    body = with_value(endpoint.body, path, value)
                    yield expect_rejected(world, endpoint, body, f"NUL in {path}", path=path)
                yield unchanged(world, f"{endpoint.name}, NUL in {path}")

    run(world, cases())
    assert_valid_bodies_accepted(world)


def test_a_nul_character_in_an_object_key_is_refused(world: World) -> None:
    by_name = {e.name: e for e in world.endpoints}
    respond = by_name["submit response"]
    define = by_name["create questionnaire"]

    def cases() -> Iterator[str | None]:
        answers = {**ANSWERS, "triv\x00sel": 3}
        body = with_value(respond.body, ("answers",), answers)
        yield expect_rejected(world, respond, body, "NUL in an answer key", path=("answers",))
        body = with_value(define.body, ("name",), {"s\x00v": "Namn"})
        yield expect_rejected(world, define, body, "NUL in a language key", path=("name",))

    run(world, cases())


def test_the_reviewed_nul_in_an_area_name_is_refused_with_its_field(
    org: Org, db: sessionmaker[Session]
) -> None:
    body = {"code": "gardsten", "name": "Gårds\x00ten", "municipality_code": "1480"}
    found = problem(org.analyst.post("/api/v1/areas", json=body), 422)
    assert found["errors"] == [
        {
            "loc": ["body", "name"],
            "msg": "name contains a NUL character (\\u0000)",
            "type": "nul_character",
        }
    ]
    assert area_count(db, org.id) == 0


# --- too long, too large, too deep -------------------------------------------------------------


LONGEST = {
    ("create area", ("code",)): 40,
    ("create area", ("name",)): 200,
    ("update area", ("name",)): 200,
    ("create round", ("name",)): 200,
    ("create intervention", ("name",)): 200,
    ("create intervention", ("description",)): 5000,
    ("update intervention", ("description",)): 5000,
    ("update organisation", ("name",)): 200,
    ("submit response", ("language",)): 8,
    ("submit response", ("invitation_code",)): 40,
    ("submit response", ("answers", "fritext_plats")): 2000,
    ("render letters", ("codes", 0)): 64,
}


def test_text_over_its_maximum_length_is_refused(world: World) -> None:
    by_name = {e.name: e for e in world.endpoints}

    def cases() -> Iterator[str | None]:
        for (name, path), longest in LONGEST.items():
            endpoint = by_name[name]
            for length in (longest + 1, 900_000):
                body = with_value(endpoint.body, path, "a" * length)
                yield expect_rejected(world, endpoint, body, f"{length} characters", path=path)
        # Beyond the body limit the whole request is refused before it is read.
        endpoint = by_name["create area"]
        body = with_value(endpoint.body, ("name",), "a" * 1_100_000)
        yield expect_rejected(world, endpoint, body, "over the body limit", statuses=(413,))

    run(world, cases())


INT_TYPES: list[tuple[str, Any]] = [
    ("true", True),
    ("false", False),
    ("a string of digits", "3"),
    ("3.0", 3.0),
    ("NaN", float("nan")),
    ("Infinity", float("inf")),
    ("1e400", RAW + "1e400"),
    ("null in a list or a required field", None),
    ("a list", [3]),
]
OPTIONAL = {
    ("create area", ("households",)),
    ("create area", ("classifications", 0, "area_type")),
    ("update area", ("households",)),
    ("submit response", ("area_id",)),
    ("create intervention", ("cost_sek",)),
    ("update intervention", ("cost_sek",)),
    ("create share link", ("area_id",)),
}
INT_RANGE: list[tuple[str, Any]] = [
    ("2**31", 2**31),
    ("-2**31 - 1", -(2**31) - 1),
    ("2**63", 2**63),
    ("2**64", 2**64),
]


def test_integers_refuse_bools_strings_floats_and_values_beyond_their_column(
    world: World,
) -> None:
    def cases() -> Iterator[str | None]:
        for endpoint in world.endpoints:
            for path in endpoint.ints + endpoint.wide_ints:
                values = INT_TYPES + (INT_RANGE[2:] if path in endpoint.wide_ints else INT_RANGE)
                for label, value in values:
                    if value is None and (endpoint.name, path) in OPTIONAL:
                        continue  # null is a value here ("not known", "the whole organisation")
                    body = with_value(endpoint.body, path, value)
                    yield expect_rejected(world, endpoint, body, f"{label} as {path}", path=path)
                yield unchanged(world, f"{endpoint.name}, integers as {path}")

    run(world, cases())
    assert_valid_bodies_accepted(world)


def test_booleans_refuse_numbers_and_strings(world: World) -> None:
    def cases() -> Iterator[str | None]:
        for endpoint in world.endpoints:
            for path in endpoint.bools:
                for value in (1, 0, "true", "false", "yes", None):
                    body = with_value(endpoint.body, path, value)
                    yield expect_rejected(world, endpoint, body, f"{value!r} as {path}", path=path)
                yield unchanged(world, f"{endpoint.name}, booleans as {path}")

    run(world, cases())


NOT_DATES: list[Any] = [
    0,
    1,
    20260301,
    1.5,
    True,
    RAW + "1e400",
    "2026-03-01T00:00:00",
    "2026-03-01T00:00:00Z",
    "2026-03-01 00:00",
    "20260301",
    "2026-3-1",
    "2026-02-30",
    "2026-13-01",
    "01/03/2026",
    "1 mars 2026",
    "",
    "2026-W09-1",
    "2026-060",
    " 2026-03-01",
    "2026-03-01\n",
    "٢٠٢٦-٠٣-٠١",
    ["2026-03-01"],
    {"year": 2026},
]


def test_dates_are_only_iso_strings(world: World) -> None:
    def cases() -> Iterator[str | None]:
        for endpoint in world.endpoints:
            for path in endpoint.dates:
                for value in NOT_DATES:
                    body = with_value(endpoint.body, path, value)
                    yield expect_rejected(world, endpoint, body, f"{value!r} as {path}", path=path)
                yield unchanged(world, f"{endpoint.name}, dates as {path}")

    run(world, cases())


def test_open_date_zero_does_not_open_a_round_in_1970(world: World) -> None:
    endpoint = next(e for e in world.endpoints if e.name == "create round")
    found = problem(world.send(endpoint, with_value(endpoint.body, ("open_date",), 0)), 422)
    assert found["errors"][0]["loc"] == ["body", "open_date"]
    assert "YYYY-MM-DD" in found["errors"][0]["msg"]


NESTED_OBJECTS: dict[str, list[Path]] = {
    "create area": [("classifications", 0)],
    "upload responses": [("responses", 0)],
    "create questionnaire": [
        ("sections", 0),
        ("items", 0),
        ("items", 0, "options", 0),
        ("indicators", 0),
    ],
}


def test_unknown_keys_are_refused_everywhere(world: World) -> None:
    def cases() -> Iterator[str | None]:
        for endpoint in world.endpoints:
            for parent in [(), *NESTED_OBJECTS.get(endpoint.name, [])]:
                path = (*parent, "unexpected")
                body = with_value(endpoint.body, path, 1)
                yield expect_rejected(world, endpoint, body, f"unknown key {path}", path=path)
            yield unchanged(world, f"{endpoint.name}, unknown keys")

    run(world, cases())


WRONG_BODIES: list[tuple[str, bytes]] = [
    ("a list", b"[]"),
    ("a string", b'"body"'),
    ("a number", b"42"),
    ("null", b"null"),
    ("true", b"true"),
    ("an empty object", b"{}"),
]


ALL_OPTIONAL = {"update area", "update intervention", "update organisation", "create share link"}


def test_wrong_json_types_are_refused(world: World) -> None:
    def cases() -> Iterator[str | None]:
        for endpoint in world.endpoints:
            for label, raw in WRONG_BODIES:
                if label == "an empty object" and endpoint.name in ALL_OPTIONAL:
                    continue  # every field is optional (an update, a share link's defaults)
                yield expect_rejected(world, endpoint, raw, f"body {label}")
            for path in endpoint.texts[:2]:
                for value in (5, 5.5, False, ["text"], {"text": "x"}):
                    body = with_value(endpoint.body, path, value)
                    yield expect_rejected(world, endpoint, body, f"{value!r} as {path}", path=path)
            yield unchanged(world, f"{endpoint.name}, wrong types")

    run(world, cases())


def test_deeply_nested_bodies_are_refused(world: World) -> None:
    def cases() -> Iterator[str | None]:
        for endpoint in world.endpoints:
            for raw in (b"[" * 10_000 + b"]" * 10_000, b'{"a":' * 10_000 + b"1" + b"}" * 10_000):
                yield expect_rejected(
                    world,
                    endpoint,
                    raw,
                    "10 000 levels",
                    statuses=(400,),
                    detail="nested too deeply",
                )
            for path in endpoint.texts[:1] + endpoint.ints[:1]:
                for depth in (20, 900):
                    body = with_value(endpoint.body, path, nested(depth))
                    yield expect_rejected(
                        world, endpoint, body, f"{depth} levels in {path}", path=path
                    )
            yield unchanged(world, f"{endpoint.name}, deep nesting")
        # free-form objects are bounded too: a deep answer once failed while being hashed
        for name in ("submit response", "upload responses"):
            endpoint = next(e for e in world.endpoints if e.name == name)
            prefix: Path = (
                ("answers",) if name == "submit response" else ("responses", 0, "answers")
            )
            for depth in (20, 900):
                body = with_value(endpoint.body, (*prefix, "trivsel"), nested(depth))
                yield expect_rejected(world, endpoint, body, f"answer {depth} deep", path=prefix)

    run(world, cases())


def test_unparsable_json_is_a_400_problem(world: World) -> None:
    endpoint = world.endpoints[0]
    bodies: list[tuple[bytes, str]] = [
        (b"{", "not valid JSON"),
        (b'{"code": "a",}', "not valid JSON"),
        (b"{'code': 'a'}", "not valid JSON"),
        (b'{"name": "\xff\xfe"}', "not UTF-8"),
        (b'{"households": ' + b"9" * 5000 + b"}", "more than 4300 digits"),
    ]
    run(
        world,
        (
            expect_rejected(world, endpoint, raw, repr(raw[:20]), statuses=(400,), detail=detail)
            for raw, detail in bodies
        ),
    )
    found = problem(world.send(endpoint, b"{"), 400)
    assert found["title"] == "Bad request"


# --- the reviewed cases and what they must still allow -----------------------------------------


def test_a_cost_beyond_32_bits_is_stored(org: Org) -> None:
    area = create_area(org.analyst, "kortedala")
    body = {
        "name": "Upprustning",
        "category": "upprustning",
        "area_ids": [area["id"]],
        "start_date": "2025-01-01",
        "cost_sek": 3_000_000_000,
    }
    created = ok(org.analyst.post("/api/v1/interventions", json=body), 201)
    assert created["cost_sek"] == 3_000_000_000
    assert (
        ok(org.analyst.get(f"/api/v1/interventions/{created['id']}"))["cost_sek"] == 3_000_000_000
    )
    updated = ok(
        org.analyst.patch(f"/api/v1/interventions/{created['id']}", json={"cost_sek": 10**10})
    )
    assert updated["cost_sek"] == 10**10
    too_much = problem(
        org.analyst.patch(f"/api/v1/interventions/{created['id']}", json={"cost_sek": 10**10 + 1}),
        422,
    )
    assert too_much["errors"][0]["loc"] == ["body", "cost_sek"]


def test_answers_refuse_bools_floats_and_huge_numbers(org: Org, db: sessionmaker[Session]) -> None:
    definition = standard_definition()
    definition["key"] = "med-antal"
    section = definition["items"][0]["section"]
    definition["items"].append(
        {
            "key": "antal_personer",
            "kind": "number",
            "section": section,
            "text": {lang: "Antal" for lang in definition["languages"]},
        }
    )
    qid = ok(org.analyst.post("/api/v1/questionnaires", json=definition), 201)["questionnaire"][
        "id"
    ]
    version = ok(org.analyst.post(f"/api/v1/questionnaires/{qid}/versions/1/publish"))
    area = create_area(org.analyst, "bergsjon")
    round_body = {
        "name": "Antal",
        "questionnaire_version_id": version["id"],
        "period": "2026",
        "area_ids": [area["id"]],
        "open_date": days(-1),
        "close_date": days(10),
    }
    round_id = ok(org.analyst.post("/api/v1/rounds", json=round_body), 201)["id"]
    endpoint = Endpoint(
        "submit response",
        "POST",
        f"/api/v1/rounds/{round_id}/responses",
        {"area_id": area["id"], "language": "sv", "channel": "paper", "answers": {"trivsel": 3}},
    )
    world = World(org=org, db=db, endpoints=[endpoint])
    bad: list[tuple[str, Any]] = [
        ("trivsel", True),
        ("trivsel", False),
        ("trivsel", 3.0),
        ("trivsel", "3"),
        ("utsatt_brott_12m", [True]),
        ("utsatt_brott_12m", [6.0]),
        ("antal_personer", True),
        ("antal_personer", float("nan")),
        ("antal_personer", float("inf")),
        ("antal_personer", 10**300),
        ("antal_personer", -(10**16)),
        ("antal_personer", 1e300),
        ("antal_personer", "4"),
    ]
    run(
        world,
        (
            expect_rejected(
                world,
                endpoint,
                with_value(endpoint.body, ("answers", key), value),
                f"{value!r} for {key}",
                path=("answers", key),
            )
            for key, value in bad
        ),
    )
    accepted = with_value(endpoint.body, ("answers", "antal_personer"), 10**15)
    assert world.send(endpoint, accepted).status_code == 201


def test_a_definition_refuses_codes_and_scores_beyond_what_results_can_hold(world: World) -> None:
    endpoint = next(e for e in world.endpoints if e.name == "create questionnaire")
    option: Path = ("items", 0, "options", 0)
    run(
        world,
        (
            expect_rejected(
                world, endpoint, with_value(endpoint.body, path, value), repr(value), path=path
            )
            for path, value in [
                ((*option, "code"), 2**31),
                ((*option, "code"), -(2**31) - 1),
                ((*option, "score"), 10**16),
                ((*option, "score"), 1e300),
                ((*option, "score"), float("nan")),
                ((*option, "score"), True),
                ((*option, "score"), "4"),
            ]
        ),
    )


# --- CSV import --------------------------------------------------------------------------------

CSV_HEADER = "code,name,municipality_code,households,year,area_type\n"


def csv_case(row: str, header: str = CSV_HEADER) -> bytes:
    return (header + "ok1,Hjällbo,1480,100,2025,1\n" + row).encode()


CSV_CASES: list[tuple[str, bytes, int, list[str | int] | None, str]] = [
    (
        "a field over the csv limit",
        csv_case("big,Namn," + "1" * 140_000 + ",5,,\n"),
        422,
        ["row", 3, "municipality_code"],
        "line 3, column municipality_code",
    ),
    (
        "a quoted field over the limit on two lines",
        csv_case('big,"' + "x\n" * 70_000 + '",1480,,,\n'),
        422,
        ["row", 3, "name"],
        "line 3, column name",
    ),
    (
        "a header over the limit",
        ("code,name," + "m" * 140_000 + "\nb,B,1480\n").encode(),
        422,
        ["row", 1],
        "line 1, column 3",
    ),
    ("NUL in a name", csv_case("b2,Gårds\x00ten,1480,,,\n"), 422, ["row", 3, "name"], "NUL"),
    (
        "NUL in a code",
        csv_case("b\x002,Gårdsten,1480,,,\n"),
        422,
        ["row", 3, "code"],
        "1 of 2 rows are invalid; nothing was imported",
    ),
    (
        "NUL in households",
        csv_case("b2,Gårdsten,1480,1\x0000,,\n"),
        422,
        ["row", 3, "households"],
        "1 of 2 rows are invalid; nothing was imported",
    ),
    (
        "NUL in a header",
        csv_case("", header="code,na\x00me,municipality_code\n"),
        400,
        None,
        "unknown columns",
    ),
    (
        "invalid UTF-8",
        csv_case("b2,G\xe5rdsten,1480,,,\n").replace("G\xe5".encode(), b"G\xe5"),
        400,
        None,
        "line 3",
    ),
    (
        "a lone carriage return",
        (b"code,name,municipality_code\nb1,A\rB,1480\n"),
        400,
        None,
        "line 2",
    ),
    (
        "a superscript digit",
        csv_case("b2,Gårdsten,1480,²,,\n"),
        422,
        ["row", 3, "households"],
        "1 of 2 rows are invalid; nothing was imported",
    ),
    (
        "5000 digits",
        csv_case("b2,Gårdsten,1480," + "9" * 5000 + ",,\n"),
        422,
        ["row", 3, "households"],
        "1 of 2 rows are invalid; nothing was imported",
    ),
    (
        "households false",
        csv_case("b2,Gårdsten,1480,false,,\n"),
        422,
        ["row", 3, "households"],
        "1 of 2 rows are invalid; nothing was imported",
    ),
    (
        "households 3.0",
        csv_case("b2,Gårdsten,1480,3.0,,\n"),
        422,
        ["row", 3, "households"],
        "1 of 2 rows are invalid; nothing was imported",
    ),
    (
        "a year beyond 2**63",
        csv_case("b2,Gårdsten,1480,,99999999999999999999,1\n"),
        422,
        ["row", 3, "year"],
        "1 of 2 rows are invalid; nothing was imported",
    ),
    (
        "a name over 200 characters",
        csv_case("b2," + "n" * 201 + ",1480,,,\n"),
        422,
        ["row", 3, "name"],
        "1 of 2 rows are invalid; nothing was imported",
    ),
]


@pytest.mark.parametrize(
    ("content", "status", "loc", "detail"),
    [c[1:] for c in CSV_CASES],
    ids=[c[0] for c in CSV_CASES],
)
def test_a_hostile_csv_import_is_refused_and_imports_nothing(
    org: Org,
    db: sessionmaker[Session],
    content: bytes,
    status: int,
    loc: list[str | int] | None,
    detail: str,
) -> None:
    before = snapshot(db, org.id)
    response = org.analyst.post(
        "/api/v1/areas/import", content=content, headers={"content-type": "text/csv"}
    )
    found = problem(response, status)
    assert detail in found["detail"], found
    if loc is not None:
        assert loc in [e["loc"] for e in found["errors"]], found
        # the detail alone says where: the line and the column
        where = f"line {loc[1]}" + "".join(f", column {column}" for column in loc[2:])
        assert where in found["detail"], found
    assert snapshot(db, org.id) == before
    assert area_count(db, org.id) == 0


# --- query strings and paths -------------------------------------------------------------------


def test_query_strings_and_paths_that_reach_the_database_are_checked(world: World) -> None:
    round_id = next(e for e in world.endpoints if e.name == "issue invitations").path.split("/")[4]
    huge = "9" * 25
    urls = [
        "/api/v1/rounds?period=2026%00",
        "/api/v1/rounds?period=٢٠٢٦",
        "/api/v1/interventions?category=belysning%00",
        f"/api/v1/interventions?area_id={huge}",
        "/api/v1/interventions?area_id=1%00",
        "/api/v1/interventions?area_id=true",
        f"/api/v1/areas/{huge}",
        "/api/v1/areas/1%00",
        f"/api/v1/rounds/{round_id}/results?item=trivsel%00",
        f"/api/v1/rounds/{round_id}/results?by=kon%00",
        f"/api/v1/rounds/{round_id}/results?area_id={huge}",
        f"/api/v1/rounds/{round_id}/exports/results?by=kon%00",
        f"/api/v1/rounds/{round_id}/exports/responses?format=csv%00",
        f"/api/v1/questionnaires/{huge}/versions/1",
        f"/api/v1/rounds/{huge}/exports/codebook",
        f"/api/v1/interventions/1/evaluation?indicator=a%00&comparison_area_id={huge}",
    ]
    failures = []
    for url in urls:
        response = world.client.get(url)
        if not (400 <= response.status_code < 500) or not response.headers[
            "content-type"
        ].startswith(PROBLEM_JSON):
            failures.append(f"{url}: {response.status_code} {response.text[:200]}")
    assert not failures, "\n".join(failures)


# --- the tenant form's hidden state -------------------------------------------------------------


def test_a_deeply_nested_form_state_is_refused_without_a_traceback(
    org: Org, server: LiveServer, anonymous: httpx.Client, db: sessionmaker[Session]
) -> None:
    r = open_round(org.analyst)
    link = "/r/" + tokens.area_slug(server.settings, r.id, r.area_ids[0])
    start = anonymous.get(link)
    assert start.status_code == 200
    before = snapshot(db, org.id)
    # Nested deeper than the form ever writes: crafted, so refused with the "start again" page.
    for state in (
        "[" * 10_000 + "]" * 10_000,
        '{"trivsel":' * 10_000 + "4" + "}" * 10_000,
        '{"trivsel": [[[4]]]}',
    ):
        data = form(start.text).data({}, "start")
        data["_state"] = state
        page = anonymous.post("/form", data=data)
        assert page.status_code == 400, page.text[:500]
        assert page.headers["content-type"].startswith("text/html")
        assert "Formuläret har gått ut" in page.text or "expired" in page.text
    # Odd but shallow states are only dropped: the tenant goes on with an empty form.
    for state in ('{"trivsel": ' + "9" * 5000 + "}", "not json"):
        data = form(start.text).data({}, "start")
        data["_state"] = state
        page = anonymous.post("/form", data=data)
        assert page.status_code == 200, page.text[:500]
        assert form(page.text).hidden["_state"] == "{}"
    assert snapshot(db, org.id) == before
