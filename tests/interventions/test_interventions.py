"""Registering, listing, changing and deleting social investments."""

from tests.conftest import Org
from tests.helpers import create_area, ok


def test_intervention_lifecycle(org: Org) -> None:
    a = create_area(org.analyst, "hjallbo")
    b = create_area(org.analyst, "gardsten")
    body = {
        "name": "Trygghetsvärdar",
        "category": "trygghetsvardar",
        "area_ids": [a["id"]],
        "start_date": "2025-01-15",
        "cost_sek": 1800000,
    }
    created = ok(org.analyst.post("/api/v1/interventions", json=body), 201)
    assert created["area_ids"] == [a["id"]] and created["end_date"] is None
    listed = ok(org.integrator.get("/api/v1/interventions", params={"area_id": a["id"]}))
    assert [i["id"] for i in listed["items"]] == [created["id"]]
    others = ok(org.integrator.get("/api/v1/interventions", params={"area_id": b["id"]}))
    assert (others["items"], others["total"]) == ([], 0)
    changed = ok(
        org.analyst.patch(
            f"/api/v1/interventions/{created['id']}",
            json={"end_date": "2026-12-31", "area_ids": [a["id"], b["id"]]},
        )
    )
    assert changed["end_date"] == "2026-12-31" and changed["area_ids"] == [a["id"], b["id"]]
    assert org.analyst.delete(f"/api/v1/interventions/{created['id']}").status_code == 204
    assert org.analyst.get(f"/api/v1/interventions/{created['id']}").status_code == 404


def test_bad_interventions_are_refused_with_precise_errors(org: Org) -> None:
    a = create_area(org.analyst, "hjallbo")
    base = {"name": "X", "category": "belysning", "area_ids": [a["id"]], "start_date": "2025-01-01"}
    bad_dates = org.analyst.post("/api/v1/interventions", json={**base, "end_date": "2024-01-01"})
    assert bad_dates.status_code == 422 and "end_date" in bad_dates.json()["detail"]
    unknown_area = org.analyst.post("/api/v1/interventions", json={**base, "area_ids": [999999]})
    assert unknown_area.status_code == 404
    negative = org.analyst.post("/api/v1/interventions", json={**base, "cost_sek": -5})
    assert negative.status_code == 422
    assert org.integrator.post("/api/v1/interventions", json=base).status_code == 403
    created = ok(org.analyst.post("/api/v1/interventions", json=base), 201)
    reversed_ = org.analyst.patch(
        f"/api/v1/interventions/{created['id']}", json={"end_date": "2020-01-01"}
    )
    assert reversed_.status_code == 422
    assert ok(org.analyst.get(f"/api/v1/interventions/{created['id']}"))["end_date"] is None
