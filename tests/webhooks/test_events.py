"""The events a change writes in its own transaction (issue 13, part 2): round.opened when a
round is created open, round.closed when a person closes one, import.finished when an import
is stored; nothing when the change is refused or rolled back; and the events as the contract
documents them (OpenAPI 3.1 `webhooks`). Both databases."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from survey_api.config import Settings
from survey_api.main import create_app
from survey_api.models import WebhookEvent
from survey_api.rounds import service as rounds_service
from survey_api.webhooks.events import (
    ImportFinishedEvent,
    RoundClosedEvent,
    RoundOpenedEvent,
)
from tests.api.support import problem
from tests.conftest import Org
from tests.helpers import create_area, ok, open_round, publish_standard
from tests.imports.response_files import historical_round, limesurvey_csv, post_import, respondents
from tests.webhooks.events_support import add_responses, events_of

LIMESURVEY = {"preset": "limesurvey_standard"}
ROUND_KEYS = {"round_id", "name", "period", "questionnaire_key", "open_date", "close_date"}


def test_a_round_created_open_is_announced_once_with_its_details(
    org: Org, db: sessionmaker[Session]
) -> None:
    today = rounds_service.today()
    r = open_round(
        org.admin,
        period="2026-H1",
        open_date=(today - timedelta(days=1)).isoformat(),
        close_date=(today + timedelta(days=20)).isoformat(),
    )
    [event] = events_of(db, org.id)
    assert event["type"] == "round.opened" and event["round_id"] == r.id
    RoundOpenedEvent.model_validate(event)  # the documented schema
    assert set(event) == {"round_id", "type", "timestamp", "data"}
    assert event["data"] == {
        "round_id": r.id,
        "name": "Round 2026-H1",
        "period": "2026-H1",
        "questionnaire_key": "trygghetsmatning-standard",
        "open_date": (today - timedelta(days=1)).isoformat(),
        "close_date": (today + timedelta(days=20)).isoformat(),
        "status": "open",
    }
    assert event["timestamp"].endswith("Z")


def test_a_scheduled_or_historical_round_is_not_announced_when_created(
    org: Org, db: sessionmaker[Session]
) -> None:
    today = rounds_service.today()
    r = open_round(
        org.admin,
        open_date=(today + timedelta(days=3)).isoformat(),
        close_date=(today + timedelta(days=20)).isoformat(),
    )
    historical_round(org, "2023", ["norr"], version_id=r.version_id)
    assert events_of(db, org.id) == []


def test_closing_a_round_announces_it_once_with_its_count_as_rounds_show_it(
    org: Org, db: sessionmaker[Session]
) -> None:
    r = open_round(org.admin, n_areas=2)
    add_responses(org.integrator, r.id, r.area_ids[0], 12)
    add_responses(org.integrator, r.id, r.area_ids[1], 11)
    closed = ok(org.analyst.post(f"/api/v1/rounds/{r.id}/close"))
    # A second close is refused: no second event.
    problem(org.analyst.post(f"/api/v1/rounds/{r.id}/close"), 409)
    opened, event = events_of(db, org.id)
    assert opened["type"] == "round.opened"
    assert event["type"] == "round.closed" and event["round_id"] == r.id
    RoundClosedEvent.model_validate(event)
    data = event["data"]
    assert data["status"] == "closed" and data["closed_early"] is True
    assert data["response_count"] == 23 == closed["response_count"]
    assert data["response_count_suppressed"] is False
    assert set(data) == ROUND_KEYS | {
        "status",
        "closed_early",
        "response_count",
        "response_count_suppressed",
    }


def test_a_closed_round_hides_a_count_the_rounds_list_hides(
    org: Org, db: sessionmaker[Session]
) -> None:
    # 12 answers in one area and 3 in the other: the total would give the small area away.
    r = open_round(org.admin, n_areas=2)
    add_responses(org.integrator, r.id, r.area_ids[0], 12)
    add_responses(org.integrator, r.id, r.area_ids[1], 3)
    closed = ok(org.analyst.post(f"/api/v1/rounds/{r.id}/close"))
    [event] = events_of(db, org.id, "round.closed")
    assert closed["response_count"] is None
    assert event["data"]["response_count"] is None
    assert event["data"]["response_count_suppressed"] is True
    counts = {k: v for k, v in event["data"].items() if isinstance(v, int) and k != "round_id"}
    assert not set(counts.values()) & {3, 12, 15}, counts


def test_an_event_exists_only_if_its_change_committed(org: Org, db: sessionmaker[Session]) -> None:
    r = open_round(org.admin)
    with db() as session:
        rounds_service.close_round(session, org.id, r.id)
        assert len(events_of_session(session, org.id)) == 2  # written, not committed
        session.rollback()
    assert [e["type"] for e in events_of(db, org.id)] == ["round.opened"]
    # A historical round cannot be closed: refused, no event.
    created = historical_round(org, "2023", ["norr"], version_id=r.version_id)
    problem(org.analyst.post(f"/api/v1/rounds/{created['id']}/close"), 409)
    assert [e["type"] for e in events_of(db, org.id)] == ["round.opened"]


def events_of_session(session: Session, organisation_id: int) -> list[WebhookEvent]:
    return list(
        session.scalars(select(WebhookEvent).where(WebhookEvent.organisation_id == organisation_id))
    )


def test_an_import_is_announced_when_stored_and_only_then(
    org: Org, db: sessionmaker[Session]
) -> None:
    created = historical_round(org, "2023", ["norr", "soder"])
    rid = created["id"]
    content = limesurvey_csv(respondents(5, ["norr", "soder"], 8), languages=["sv"])
    ok(post_import(org.analyst, rid, content, LIMESURVEY, dry_run=True))
    assert events_of(db, org.id) == []  # a dry run stores nothing
    bad = content + content.split(b"\r\n")[-2].replace(b'"A', b'"A9', 1) + b"\r\n"
    problem(post_import(org.analyst, rid, bad, LIMESURVEY), 422)
    assert events_of(db, org.id) == []  # a refused file stores nothing
    report = ok(post_import(org.analyst, rid, content, LIMESURVEY), 201)
    ok(post_import(org.analyst, rid, content, LIMESURVEY), 200)  # a repeat: replayed
    [event] = events_of(db, org.id)
    ImportFinishedEvent.model_validate(event)
    assert event["type"] == "import.finished" and event["round_id"] == rid
    assert event["data"] == {
        "import_id": report["import_id"],
        "kind": "responses",
        "round_id": rid,
        "rows_read": 16,
        "rows_imported": 16,
        "rows_not_imported": 0,
    }


def test_imports_of_counts_and_classifications_are_announced(
    org: Org, db: sessionmaker[Session]
) -> None:
    version = publish_standard(org.admin)
    area = create_area(org.admin, "hjallbo")
    past = date.today() - timedelta(days=400)
    created = ok(
        org.admin.post(
            "/api/v1/rounds",
            json={
                "name": "Enkät 2024",
                "questionnaire_version_id": version["id"],
                "period": "2024",
                "area_ids": [area["id"]],
                "open_date": past.isoformat(),
                "close_date": (past + timedelta(days=20)).isoformat(),
                "historical": True,
            },
        ),
        201,
    )
    counts = "area,item,option,count\r\nhjallbo,trivsel,4,30\r\nhjallbo,trivsel,3,12\r\n"
    report = ok(
        org.analyst.post(
            f"/api/v1/rounds/{created['id']}/tallies/import",
            files={"file": ("counts.csv", counts.encode(), "text/csv")},
        ),
        201,
    )
    classifications = (
        "code_kind,code,code_version,year,area_type,police_class\r\n"
        "area_code,hjallbo,,2024,1,utsatt\r\n"
    )
    classified = ok(
        org.admin.post(
            "/api/v1/areas/classifications/import",
            files={"file": ("klass.csv", classifications.encode(), "text/csv")},
        ),
        201,
    )
    tallies, areas = events_of(db, org.id)
    assert tallies["data"] == {
        "import_id": report["import_id"],
        "kind": "tallies",
        "round_id": created["id"],
        "rows_read": report["rows_read"],
        "rows_imported": report["rows_stored"],
        "rows_not_imported": report["rows_read"] - report["rows_stored"],
    }
    assert areas["round_id"] is None
    assert areas["data"]["kind"] == "classifications" and areas["data"]["round_id"] is None
    assert areas["data"]["import_id"] == classified["import_id"]
    assert areas["data"]["rows_imported"] == classified["rows_stored"] == 1


EVENT_SCHEMAS = {
    "round.opened": ("RoundOpenedEvent", "RoundEventData"),
    "round.closed": ("RoundClosedEvent", "RoundClosedData"),
    "results.updated": ("ResultsUpdatedEvent", "ResultsUpdatedData"),
    "import.finished": ("ImportFinishedEvent", "ImportFinishedData"),
}


@pytest.fixture(scope="module")
def contract() -> dict[str, Any]:
    return create_app(Settings()).openapi()


def test_the_contract_documents_every_event_as_an_openapi_webhook(
    contract: dict[str, Any],
) -> None:
    assert contract["openapi"].startswith("3.1")
    schemas = contract["components"]["schemas"]
    assert set(contract["webhooks"]) == set(EVENT_SCHEMAS)
    for event_type, (envelope, data) in EVENT_SCHEMAS.items():
        operation = contract["webhooks"][event_type]["post"]
        assert operation["description"] and operation["operationId"].startswith("webhook_")
        body = operation["requestBody"]["content"]["application/json"]["schema"]
        assert body == {"$ref": f"#/components/schemas/{envelope}"}
        headers = {p["name"] for p in operation["parameters"] if p["in"] == "header"}
        assert headers == {"webhook-id", "webhook-timestamp", "webhook-signature"}
        schema = schemas[envelope]
        assert set(schema["required"]) == {"type", "timestamp", "data"}
        assert schema["properties"]["type"]["const"] == event_type
        assert schema["properties"]["data"] == {"$ref": f"#/components/schemas/{data}"}
        [example] = schema["examples"]
        assert example["type"] == event_type
        assert set(example["data"]) == set(schemas[data]["properties"])
    # The webhook paths are documentation only: no route of the API serves them.
    assert not any(path.endswith(("round.opened", "results.updated")) for path in contract["paths"])


def test_no_event_schema_has_room_for_a_response_or_its_time(contract: dict[str, Any]) -> None:
    schemas = contract["components"]["schemas"]
    for _, data in EVENT_SCHEMAS.values():
        for name in schemas[data]["properties"]:
            assert "answer" not in name and "response_id" not in name, name
            assert not name.endswith(("_at", "submitted_date")), name
    assert set(schemas["ResultsUpdatedData"]["properties"]) == {
        "round_id",
        "period",
        "as_of",
        "through_date",
        "new_responses",
        "response_count",
    }
