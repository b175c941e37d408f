"""Building blocks for API tests: the standard questionnaire, areas, an open round."""

import copy
import json
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx

STANDARD = json.loads(
    (
        Path(__file__).resolve().parents[1] / "src/survey_api/data/trygghetsmatning-standard.json"
    ).read_text(encoding="utf-8")
)


def standard_definition() -> dict[str, Any]:
    """A deep copy of the standard questionnaire, safe to mutate."""
    return copy.deepcopy(STANDARD)


def ok(response: httpx.Response, status: int = 200) -> Any:
    """Assert the status (showing the body when it differs) and return the JSON."""
    assert response.status_code == status, f"{response.status_code}: {response.text}"
    return response.json()


def create_area(
    client: httpx.Client, code: str, households: int | None = 500, **extra: Any
) -> dict[str, Any]:
    body = {
        "code": code,
        "name": code.title(),
        "municipality_code": "1480",
        "households": households,
        **extra,
    }
    return ok(client.post("/api/v1/areas", json=body), 201)


def publish_standard(
    client: httpx.Client, definition: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Create and publish a questionnaire; returns the published version."""
    created = ok(
        client.post("/api/v1/questionnaires", json=definition or standard_definition()), 201
    )
    qid = created["questionnaire"]["id"]
    return ok(client.post(f"/api/v1/questionnaires/{qid}/versions/1/publish"))


@dataclass
class OpenRound:
    id: int
    version_id: int
    area_ids: list[int]


def open_round(
    client: httpx.Client, n_areas: int = 2, period: str = "2026", **dates: str
) -> OpenRound:
    """A published standard questionnaire and a round open today over new areas."""
    version = publish_standard(client)
    areas = [create_area(client, f"area{i}") for i in range(n_areas)]
    today = date.today()
    body = {
        "name": f"Round {period}",
        "questionnaire_version_id": version["id"],
        "period": period,
        "area_ids": [a["id"] for a in areas],
        "open_date": dates.get("open_date", (today - timedelta(days=10)).isoformat()),
        "close_date": dates.get("close_date", (today + timedelta(days=30)).isoformat()),
    }
    created = ok(client.post("/api/v1/rounds", json=body), 201)
    return OpenRound(id=created["id"], version_id=version["id"], area_ids=created["area_ids"])


def full_answers() -> dict[str, Any]:
    """A response answering every applicable item of the standard questionnaire."""
    return {
        "trygg_ute_kvall": 2,
        "trygg_gemensamma_utr": 1,
        "trygg_bostad": 1,
        "oro_brott_omrade": 2,
        "avstatt_pga_oro": 1,
        "utsatt_brott_12m": [1, 3],
        "anmalt_polis": 2,
        "problem_nedskrapning": 3,
        "problem_klotter": 2,
        "problem_belysning": 2,
        "problem_grupper": 3,
        "problem_narkotika": 1,
        "problem_trafik": 2,
        "problem_brak": 1,
        "sammanhallning": 3,
        "kollektiv_formaga": 2,
        "fortroende_polis": 4,
        "fortroende_vard": 3,
        "trivsel": 4,
        "bo_kvar": 4,
        "utveckling_12m": 3,
        "kannedom_fritidsbanken": 2,
        "fritext_plats": "Gångtunneln vid centrum är mörk.",
        "kon": 1,
        "aldersgrupp": 2,
        "boendetid": 3,
        "barn_i_hushallet": 1,
    }
