"""Historical rounds: past surveys that take imports, never tenants (issue 10, part 1)."""

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from survey_api.models import SurveyRound
from tests.api.support import days, problem
from tests.conftest import Org
from tests.helpers import create_area, full_answers, ok, publish_standard


def _historical(org: Org, period: str = "2023", **extra: Any) -> dict[str, Any]:
    version = publish_standard(org.admin)
    area = create_area(org.admin, f"h{period}")
    body = {
        "name": f"Trygghetsmätning {period}",
        "questionnaire_version_id": version["id"],
        "period": period,
        "area_ids": [area["id"]],
        "open_date": f"{period}-03-01",
        "close_date": f"{period}-04-15",
        "historical": True,
        **extra,
    }
    return ok(org.admin.post("/api/v1/rounds", json=body), 201)


def test_an_admin_creates_a_historical_round_that_is_never_open(
    org: Org, db: sessionmaker[Session]
) -> None:
    created = _historical(org)
    assert created["status"] == "historical"
    assert created["source"] == "imported"
    assert created["area_links_enabled"] is False
    rid, area_id = created["id"], created["area_ids"][0]

    listed = ok(org.analyst.get("/api/v1/rounds", params={"status": "historical"}))
    assert [r["id"] for r in listed["items"]] == [rid]
    assert ok(org.analyst.get("/api/v1/rounds", params={"status": "closed"}))["items"] == []

    answer = {"area_id": area_id, "language": "sv", "answers": full_answers()}
    body = problem(org.integrator.post(f"/api/v1/rounds/{rid}/responses", json=answer), 409)
    assert "historical" in body["detail"] and "imports" in body["detail"]
    body = problem(
        org.admin.post(f"/api/v1/rounds/{rid}/invitations", json={"area_id": area_id, "count": 3}),
        409,
    )
    assert "no invitations" in body["detail"]
    problem(org.admin.post(f"/api/v1/rounds/{rid}/close"), 409)
    body = problem(org.admin.patch(f"/api/v1/rounds/{rid}", json={"area_links_enabled": True}), 409)
    assert "never open" in body["detail"]
    with db() as session:
        stored = session.scalars(select(SurveyRound).where(SurveyRound.id == rid)).one()
        assert stored.source == "imported" and stored.closed_at is None


def test_only_an_admin_creates_one_and_only_in_the_past(org: Org) -> None:
    version = publish_standard(org.admin)
    area = create_area(org.admin, "past")
    body = {
        "name": "Gammal mätning",
        "questionnaire_version_id": version["id"],
        "period": "2024",
        "area_ids": [area["id"]],
        "open_date": "2024-03-01",
        "close_date": "2024-04-15",
        "historical": True,
    }
    assert "admin" in problem(org.analyst.post("/api/v1/rounds", json=body), 403)["detail"]
    late = {**body, "open_date": days(-5), "close_date": days(0)}
    body_422 = problem(org.admin.post("/api/v1/rounds", json=late), 422)
    assert ["body", "close_date"] in [e["loc"] for e in body_422["errors"]]
    assert ok(org.admin.get("/api/v1/rounds"))["items"] == []
