"""Responses: every validation rule, closed rounds, bulk upload, idempotency and anonymity."""

from datetime import date
from typing import Any

import httpx
import pytest
from sqlalchemy import Date, inspect, select
from sqlalchemy.orm import Session, sessionmaker

from survey_api.models import IdempotencyRecord, Response
from tests.api.support import at_once, days, error_locs, problem, response_count, today
from tests.conftest import LiveServer, Org
from tests.helpers import OpenRound, create_area, full_answers, ok, open_round, publish_standard


def text(sv: str, en: str | None = None) -> dict[str, str]:
    return {"sv": sv, "en": en or sv}


def options(*codes: int, scores: bool = False) -> list[dict[str, Any]]:
    return [
        {"code": c, "label": text(f"Alternativ {c}"), **({"score": c} if scores else {})}
        for c in codes
    ]


# A small questionnaire with every kind of item and rule the standard one lacks: a required
# item, a number with a range, and a short text.
RULES_DEFINITION: dict[str, Any] = {
    "key": "regler",
    "name": text("Regler"),
    "default_language": "sv",
    "languages": ["sv", "en"],
    "sections": [{"key": "s", "title": text("Avsnitt")}],
    "items": [
        {
            "key": "trivsel",
            "kind": "scale",
            "section": "s",
            "text": text("Trivs du?"),
            "options": [
                *options(1, 2, 3, 4, scores=True),
                {"code": 9, "label": text("Vet inte"), "score": None},
            ],
            "required": True,
        },
        {
            "key": "brott",
            "kind": "multi_choice",
            "section": "s",
            "text": text("Utsatt för?"),
            "options": [
                *options(1, 2, 3),
                {"code": 9, "label": text("Nej, inget"), "exclusive": True},
            ],
        },
        {
            "key": "anmalt",
            "kind": "single_choice",
            "section": "s",
            "text": text("Anmält?"),
            "options": options(1, 2),
            "show_if": {"item": "brott", "any_of": [1, 2, 3]},
        },
        {
            "key": "personer",
            "kind": "number",
            "section": "s",
            "text": text("Hur många bor?"),
            "min": 1,
            "max": 20,
        },
        {
            "key": "kommentar",
            "kind": "text",
            "section": "s",
            "text": text("Kommentar"),
            "max_length": 50,
        },
    ],
}
GOOD = {"trivsel": 3, "brott": [1, 2], "anmalt": 1, "personer": 4, "kommentar": "Bra"}


def rules_round(org: Org) -> OpenRound:
    version = publish_standard(org.analyst, RULES_DEFINITION)
    area = create_area(org.analyst, "regelomradet")
    created = ok(
        org.analyst.post(
            "/api/v1/rounds",
            json={
                "name": "Regler",
                "questionnaire_version_id": version["id"],
                "period": "2026",
                "area_ids": [area["id"]],
                "open_date": days(-1),
                "close_date": days(10),
            },
        ),
        201,
    )
    return OpenRound(id=created["id"], version_id=version["id"], area_ids=[area["id"]])


def submit(client: httpx.Client, r: OpenRound, answers: dict[str, Any], **fields: Any) -> Any:
    body = {
        "area_id": r.area_ids[0],
        "language": "sv",
        "channel": "web",
        "answers": answers,
        **fields,
    }
    return client.post(f"/api/v1/rounds/{r.id}/responses", json=body)


def test_a_valid_response_is_stored_with_language_and_channel(
    org: Org, db: sessionmaker[Session]
) -> None:
    r = rules_round(org)
    receipt = ok(submit(org.integrator, r, GOOD, language="en", channel="paper"), 201)
    assert receipt["survey_round_id"] == r.id and receipt["area_id"] == r.area_ids[0]
    assert receipt["submitted_date"] == today().isoformat()
    with db() as session:
        stored = session.get(Response, receipt["id"])
        assert stored is not None
        assert (stored.language, stored.channel, stored.answers) == ("en", "paper", GOOD)
    assert response_count(db, r.id) == 1


def test_the_standard_questionnaire_fully_answered_is_accepted(org: Org) -> None:
    r = open_round(org.analyst)
    ok(submit(org.integrator, r, full_answers(), language="ar"), 201)
    # 'Nothing happened to me' (exclusive) hides the follow-up question.
    answers = {**full_answers(), "utsatt_brott_12m": [6]}
    del answers["anmalt_polis"]
    ok(submit(org.admin, r, answers), 201)


def test_text_answers_are_stored_trimmed(org: Org, db: sessionmaker[Session]) -> None:
    r = rules_round(org)
    receipt = ok(
        submit(org.integrator, r, {"trivsel": 2, "kommentar": "  Mörkt vid garaget \n"}), 201
    )
    with db() as session:
        stored = session.get(Response, receipt["id"])
        assert stored is not None and stored.answers["kommentar"] == "Mörkt vid garaget"


INVALID: list[tuple[str, dict[str, Any], str, str]] = [
    # (case, answers, item key, error type)
    ("scale given text", {**GOOD, "trivsel": "3"}, "trivsel", "int_type"),
    ("scale given a bool", {**GOOD, "trivsel": True}, "trivsel", "int_type"),
    ("multi given one code", {**GOOD, "brott": 1}, "brott", "list_type"),
    ("unknown scale code", {**GOOD, "trivsel": 7}, "trivsel", "unknown_code"),
    ("unknown multi code", {**GOOD, "brott": [1, 4]}, "brott", "unknown_code"),
    ("duplicate multi code", {**GOOD, "brott": [1, 1]}, "brott", "duplicate_code"),
    ("empty multi", {"trivsel": 3, "brott": []}, "brott", "empty_list"),
    ("exclusive with others", {"trivsel": 3, "brott": [1, 9]}, "brott", "exclusive"),
    (
        "hidden item answered",
        {"trivsel": 3, "brott": [9], "anmalt": 1},
        "anmalt",
        "hidden_item_answered",
    ),
    (
        "hidden item answered without its condition",
        {"trivsel": 3, "anmalt": 2},
        "anmalt",
        "hidden_item_answered",
    ),
    ("required missing", {"brott": [9]}, "trivsel", "missing"),
    ("null answer", {**GOOD, "personer": None}, "personer", "null"),
    ("text too long", {**GOOD, "kommentar": "x" * 51}, "kommentar", "too_long"),
    ("text not a string", {**GOOD, "kommentar": 5}, "kommentar", "string_type"),
    ("empty text", {**GOOD, "kommentar": "   "}, "kommentar", "empty_text"),
    ("number below minimum", {**GOOD, "personer": 0}, "personer", "out_of_range"),
    ("number above maximum", {**GOOD, "personer": 21}, "personer", "out_of_range"),
    ("number not whole", {**GOOD, "personer": 2.5}, "personer", "int_type"),
    ("number given text", {**GOOD, "personer": "4"}, "personer", "number_type"),
    ("unknown item key", {**GOOD, "favoritfarg": 1}, "favoritfarg", "unknown_item"),
]


@pytest.mark.parametrize(
    ("answers", "key", "error_type"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID]
)
def test_each_rule_is_a_422_naming_the_item_and_nothing_is_stored(
    org: Org, db: sessionmaker[Session], answers: dict[str, Any], key: str, error_type: str
) -> None:
    r = rules_round(org)
    body = problem(submit(org.integrator, r, answers), 422)
    assert body["errors"] == [
        {"loc": ["body", "answers", key], "type": error_type, "msg": body["errors"][0]["msg"]}
    ]
    assert key in body["detail"]
    assert response_count(db, r.id) == 0


def test_an_unknown_language_is_a_422(org: Org, db: sessionmaker[Session]) -> None:
    r = rules_round(org)
    body = problem(submit(org.integrator, r, GOOD, language="de"), 422)
    assert error_locs(body) == [["body", "language"]]
    assert "'de'" in body["detail"]
    assert response_count(db, r.id) == 0


def test_all_problems_of_a_response_are_listed(org: Org, db: sessionmaker[Session]) -> None:
    r = rules_round(org)
    body = problem(
        submit(org.integrator, r, {"brott": [1, 9], "personer": 99, "x": 1}, language="fi"), 422
    )
    assert sorted(map(str, error_locs(body))) == sorted(
        map(
            str,
            [
                ["body", "language"],
                ["body", "answers", "x"],
                ["body", "answers", "trivsel"],
                ["body", "answers", "brott"],
                ["body", "answers", "personer"],
            ],
        )
    )
    assert response_count(db, r.id) == 0


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ({"channel": "fax"}, 422),
        ({"area_id": None}, 422),
        ({"area_id": 999999}, 404),
        ({"unknown": 1}, 422),
    ],
)
def test_other_bad_submissions(
    org: Org, db: sessionmaker[Session], fields: dict[str, Any], status: int
) -> None:
    r = rules_round(org)
    problem(submit(org.integrator, r, GOOD, **fields), status)
    assert response_count(db, r.id) == 0


def test_an_area_outside_the_round_is_refused(org: Org, db: sessionmaker[Session]) -> None:
    r = rules_round(org)
    elsewhere = create_area(org.analyst, "utanfor")
    problem(submit(org.integrator, r, GOOD, area_id=elsewhere["id"]), 404)
    assert response_count(db, r.id) == 0


def test_a_closed_round_accepts_nothing(org: Org, db: sessionmaker[Session]) -> None:
    r = rules_round(org)
    ok(org.analyst.post(f"/api/v1/rounds/{r.id}/close"))
    body = problem(submit(org.integrator, r, GOOD), 409)
    assert "closed" in body["detail"]
    bulk = {
        "responses": [
            {"area_id": r.area_ids[0], "language": "sv", "channel": "paper", "answers": GOOD}
        ]
    }
    problem(
        org.integrator.post(
            f"/api/v1/rounds/{r.id}/responses/bulk",
            json=bulk,
            headers={"Idempotency-Key": "closed-1"},
        ),
        409,
    )
    assert response_count(db, r.id) == 0


def test_rounds_past_their_dates_or_not_yet_open_accept_nothing(
    org: Org, db: sessionmaker[Session]
) -> None:
    version = publish_standard(org.analyst, RULES_DEFINITION)
    area = create_area(org.analyst, "omr")
    for open_in, close_in, word in ((-20, -1, "closed"), (2, 20, "opens")):
        created = ok(
            org.analyst.post(
                "/api/v1/rounds",
                json={
                    "name": "R",
                    "questionnaire_version_id": version["id"],
                    "period": "2025",
                    "area_ids": [area["id"]],
                    "open_date": days(open_in),
                    "close_date": days(close_in),
                },
            ),
            201,
        )
        r = OpenRound(id=created["id"], version_id=version["id"], area_ids=[area["id"]])
        assert word in problem(submit(org.integrator, r, GOOD), 409)["detail"]
        assert response_count(db, r.id) == 0


# --- bulk upload --------------------------------------------------------------------------------


def bulk(r: OpenRound, *answer_sets: dict[str, Any], channel: str = "paper") -> dict[str, Any]:
    return {
        "responses": [
            {"area_id": r.area_ids[0], "language": "sv", "channel": channel, "answers": a}
            for a in answer_sets
        ]
    }


def upload(client: httpx.Client, r: OpenRound, body: dict[str, Any], key: str | None) -> Any:
    headers = {"Idempotency-Key": key} if key is not None else {}
    return client.post(f"/api/v1/rounds/{r.id}/responses/bulk", json=body, headers=headers)


def test_bulk_upload_stores_every_response(org: Org, db: sessionmaker[Session]) -> None:
    r = rules_round(org)
    body = bulk(r, GOOD, {"trivsel": 1}, {"trivsel": 9, "brott": [9]}, channel="phone")
    receipt = ok(upload(org.integrator, r, body, "batch-1"), 201)
    assert (receipt["survey_round_id"], receipt["accepted"]) == (r.id, 3)
    assert len(set(receipt["response_ids"])) == 3
    with db() as session:
        stored = session.scalars(
            select(Response).where(Response.survey_round_id == r.id).order_by(Response.id)
        ).all()
        assert [s.id for s in stored] == receipt["response_ids"]
        assert [s.answers for s in stored] == [a["answers"] for a in body["responses"]]
        assert {s.channel for s in stored} == {"phone"}


def test_one_bad_row_rejects_the_whole_batch_naming_each_bad_index(
    org: Org, db: sessionmaker[Session]
) -> None:
    r = rules_round(org)
    elsewhere = create_area(org.analyst, "utanfor")
    body = bulk(r, GOOD, {"trivsel": 7}, GOOD, {"brott": [9]}, GOOD, GOOD)
    body["responses"][4]["area_id"] = elsewhere["id"]
    body["responses"][5]["language"] = "de"
    result = problem(upload(org.integrator, r, body, "batch-bad"), 422)
    assert sorted(map(str, error_locs(result))) == sorted(
        map(
            str,
            [
                ["body", "responses", 1, "answers", "trivsel"],
                ["body", "responses", 3, "answers", "trivsel"],
                ["body", "responses", 4, "area_id"],
                ["body", "responses", 5, "language"],
            ],
        )
    )
    assert "1, 3, 4, 5" in result["detail"] and "nothing was stored" in result["detail"]
    assert response_count(db, r.id) == 0
    # A rejected batch does not use up its key: fixed, it goes through under the same key.
    fixed = bulk(r, GOOD, {"trivsel": 2})
    assert ok(upload(org.integrator, r, fixed, "batch-bad"), 201)["accepted"] == 2


@pytest.mark.parametrize(
    "body",
    [
        {"responses": []},
        {"responses": [{"area_id": 1, "language": "sv", "channel": "web", "answers": {}}]},
        {"rows": []},
    ],
    ids=["empty", "web channel", "unknown field"],
)
def test_malformed_batches_are_422(
    org: Org, db: sessionmaker[Session], body: dict[str, Any]
) -> None:
    r = rules_round(org)
    problem(upload(org.integrator, r, body, "malformed"), 422)
    assert response_count(db, r.id) == 0


def test_the_same_key_and_body_replays_the_first_result(
    org: Org, db: sessionmaker[Session]
) -> None:
    r = rules_round(org)
    body = bulk(r, GOOD, {"trivsel": 1})
    first = upload(org.integrator, r, body, "replay-1")
    assert first.status_code == 201
    again = upload(org.integrator, r, body, "replay-1")
    assert again.status_code == 200, again.text
    assert again.json() == first.json()
    assert again.headers.get("idempotent-replayed") == "true"
    assert response_count(db, r.id) == 2
    # The key is the organisation's, so the admin key resending it replays too.
    assert ok(upload(org.admin, r, body, "replay-1")) == first.json()
    assert response_count(db, r.id) == 2


def test_the_same_key_with_another_body_is_refused(org: Org, db: sessionmaker[Session]) -> None:
    r = rules_round(org)
    ok(upload(org.integrator, r, bulk(r, GOOD), "reused"), 201)
    body = problem(upload(org.integrator, r, bulk(r, {"trivsel": 1}), "reused"), 422)
    assert "Idempotency-Key" in body["detail"]
    assert response_count(db, r.id) == 1


def test_a_key_is_per_organisation(org: Org, make_org: Any, db: sessionmaker[Session]) -> None:
    r = rules_round(org)
    other = make_org()
    other_round = rules_round(other)
    ok(upload(org.integrator, r, bulk(r, GOOD), "shared-name"), 201)
    ok(upload(other.integrator, other_round, bulk(other_round, GOOD), "shared-name"), 201)
    assert response_count(db, other_round.id) == 1


@pytest.mark.parametrize("key", [None, ""])
def test_a_missing_idempotency_key_is_422(
    org: Org, db: sessionmaker[Session], key: str | None
) -> None:
    r = rules_round(org)
    body = problem(upload(org.integrator, r, bulk(r, GOOD), key), 422)
    assert error_locs(body) == [["header", "idempotency-key"]]
    assert response_count(db, r.id) == 0


def test_a_concurrent_duplicate_is_stored_once(
    org: Org, server: LiveServer, db: sessionmaker[Session]
) -> None:
    r = rules_round(org)
    body = bulk(r, GOOD, {"trivsel": 1}, {"trivsel": 4, "brott": [9]})
    url = f"{server.base_url}/api/v1/rounds/{r.id}/responses/bulk"
    headers = {"Authorization": f"Bearer {org.keys['integrator']}", "Idempotency-Key": "race-1"}

    def post() -> httpx.Response:
        return httpx.post(url, json=body, headers=headers, timeout=60)

    results = at_once(8, post)
    assert len(results) == 8
    statuses = sorted(res.status_code for res in results)
    assert statuses == [200] * 7 + [201], [res.text for res in results]
    assert len({tuple(res.json()["response_ids"]) for res in results}) == 1
    assert response_count(db, r.id) == 3
    with db() as session:
        records = session.scalars(
            select(IdempotencyRecord).where(IdempotencyRecord.organisation_id == org.id)
        ).all()
        assert [rec.key for rec in records] == ["race-1"]


# --- anonymity ----------------------------------------------------------------------------------


def test_response_rows_hold_nothing_that_identifies_the_respondent(
    org: Org, db: sessionmaker[Session]
) -> None:
    r = rules_round(org)
    receipt = ok(
        org.integrator.post(
            f"/api/v1/rounds/{r.id}/responses",
            json={"area_id": r.area_ids[0], "language": "sv", "answers": GOOD},
            headers={"User-Agent": "Telefon/1.0", "X-Forwarded-For": "203.0.113.9"},
        ),
        201,
    )
    with db() as session:
        inspector = inspect(session.connection())
        columns = {c["name"]: c for c in inspector.get_columns("response")}
        assert set(columns) == {
            "id",
            "survey_round_id",
            "area_id",
            "language",
            "channel",
            "entry",
            "submitted_date",
            "answers",
            # The file a past survey's response was imported from (a historical round only):
            # it names a file the company sent, never a tenant; None for every collected one.
            "data_import_id",
        }
        pending_columns = {c["name"] for c in inspector.get_columns("pending_response")}
        assert pending_columns == set(columns) - {"entry", "submitted_date", "data_import_id"}
        assert isinstance(columns["submitted_date"]["type"], Date)
        foreign = {fk["referred_table"] for fk in inspector.get_foreign_keys("response")}
        assert foreign == {"survey_round", "area", "data_import"}
        stored = session.get(Response, receipt["id"])
        assert stored is not None
        assert stored.data_import_id is None
        assert type(stored.submitted_date) is date
        row = " ".join(str(getattr(stored, c)) for c in columns)
        assert "203.0.113.9" not in row and "Telefon" not in row
