"""Difference-in-differences evaluation, checked against an independent computation."""

import math
from datetime import date

import numpy as np
import pytest
from sqlalchemy import insert
from sqlalchemy.orm import Session, sessionmaker

from survey_api.models import Response, SurveyRound, SurveyRoundArea
from tests.conftest import Org
from tests.helpers import create_area, ok, publish_standard

Z = 1.959963984540054
# Households and, per area and year, how many of 40 respondents are unsafe out late
# (trygg_ute_kvall code 3; codes 1 = safe otherwise). Indicator andel_otrygga_kvall = codes 3–5.
HOUSEHOLDS = {"treated": 2000, "comp_a": 1000, "comp_b": 3000, "other_type": 500}
UNSAFE = {
    "treated": {2023: 20, 2024: 21, 2026: 12},
    "comp_a": {2023: 18, 2024: 18, 2026: 17},
    "comp_b": {2023: 14, 2024: 15, 2026: 15},
    "other_type": {2023: 2, 2024: 2, 2026: 2},
}
N = 40


def _pooled(areas: list[str], year: int) -> tuple[float, float]:
    """Household-weighted share and its variance, written out from DESIGN.md."""
    weights = np.array([HOUSEHOLDS[a] for a in areas], dtype=float)
    weights /= weights.sum()
    shares = np.array([UNSAFE[a][year] / N for a in areas])
    return float(weights @ shares), float(np.sum(weights**2 * shares * (1 - shares) / N))


@pytest.fixture
def scenario(org: Org, db: sessionmaker[Session]) -> dict[str, int]:
    version = publish_standard(org.analyst)
    ids = {}
    for code, households in HOUSEHOLDS.items():
        area_type = 3 if code == "other_type" else 1
        ids[code] = create_area(
            org.analyst,
            code,
            households,
            classifications=[{"year": 2023, "area_type": area_type}],
        )["id"]
    with db() as session:
        for year in (2023, 2024, 2026):
            survey_round = SurveyRound(
                organisation_id=org.id,
                questionnaire_version_id=version["id"],
                name=f"Round {year}",
                period=str(year),
                open_date=date(year, 3, 1),
                close_date=date(year, 4, 30),
            )
            session.add(survey_round)
            session.flush()
            rows = []
            for code, area_id in ids.items():
                session.add(SurveyRoundArea(survey_round_id=survey_round.id, area_id=area_id))
                unsafe = UNSAFE[code][year]
                rows += [
                    {
                        "survey_round_id": survey_round.id,
                        "area_id": area_id,
                        "language": "sv",
                        "channel": "paper",
                        "entry": "api",
                        "submitted_date": date(year, 3, 15),
                        "answers": {"trygg_ute_kvall": 3 if i < unsafe else 1},
                    }
                    for i in range(N)
                ]
            session.execute(insert(Response), rows)
        session.commit()
    created = ok(
        org.analyst.post(
            "/api/v1/interventions",
            json={
                "name": "Trygghetsvärdar",
                "category": "trygghetsvardar",
                "area_ids": [ids["treated"]],
                "start_date": "2025-06-01",
            },
        ),
        201,
    )
    return {**ids, "intervention": created["id"]}


def test_did_matches_an_independent_household_weighted_computation(
    org: Org, scenario: dict[str, int]
) -> None:
    result = ok(
        org.analyst.get(
            f"/api/v1/interventions/{scenario['intervention']}/evaluation",
            params={"indicator": "andel_otrygga_kvall"},
        )
    )
    # Default comparison: same area type (1), no intervention of the category; not type 3.
    assert result["comparison_area_ids"] == sorted([scenario["comp_a"], scenario["comp_b"]])
    assert (result["before_period"], result["after_period"]) == ("2024", "2026")
    tb, vtb = _pooled(["treated"], 2024)
    ta, vta = _pooled(["treated"], 2026)
    cb, vcb = _pooled(["comp_a", "comp_b"], 2024)
    ca, vca = _pooled(["comp_a", "comp_b"], 2026)
    expected = (ta - tb) - (ca - cb)
    se = math.sqrt(vtb + vta + vcb + vca)
    did = result["did"]
    assert did["estimate"] == pytest.approx(expected, abs=1e-12)
    assert did["se"] == pytest.approx(se, abs=1e-12)
    assert did["low"] == pytest.approx(expected - Z * se, abs=1e-12)
    assert did["high"] == pytest.approx(expected + Z * se, abs=1e-12)
    assert did["significant"] == (did["low"] > 0 or did["high"] < 0)
    cells = {(c["role"], c["period"]): c for c in result["cells"]}
    assert cells[("treated", "2024")]["n"] == N and cells[("comparison", "2024")]["n"] == 2 * N
    assert cells[("comparison", "2026")]["p"] == pytest.approx(ca)
    assert cells[("comparison", "2026")]["weighting"] == "households"
    # Two earlier rounds exist (2023, 2024): the pre-trend placebo is reported.
    [pre] = result["pre_trend"]
    pre_expected = (_pooled(["treated"], 2024)[0] - _pooled(["treated"], 2023)[0]) - (
        _pooled(["comp_a", "comp_b"], 2024)[0] - _pooled(["comp_a", "comp_b"], 2023)[0]
    )
    assert pre["estimate"]["estimate"] == pytest.approx(pre_expected)
    assert "not proof" in result["caveat"]["en"] and "inte ett bevis" in result["caveat"]["sv"]


def test_chosen_comparison_areas_and_suppressed_cells(org: Org, scenario: dict[str, int]) -> None:
    ok(org.admin.patch("/api/v1/organisation", json={"min_cell_size": 50}))
    result = ok(
        org.analyst.get(
            f"/api/v1/interventions/{scenario['intervention']}/evaluation",
            params={"indicator": "andel_otrygga_kvall", "comparison_area_id": [scenario["comp_a"]]},
        )
    )
    assert result["comparison_area_ids"] == [scenario["comp_a"]]
    assert result["comparison_rule"] == "chosen by the caller"
    assert result["did"] is None  # every area has n = 40 < 50: nothing may be shown
    assert all(c["suppressed"] and c["p"] is None and c["n"] is None for c in result["cells"])


def test_evaluation_needs_a_target_and_rounds_on_both_sides(
    org: Org, scenario: dict[str, int]
) -> None:
    url = f"/api/v1/interventions/{scenario['intervention']}/evaluation"
    assert org.analyst.get(url).status_code == 422
    assert org.analyst.get(url, params={"indicator": "nope"}).status_code == 404
    late = ok(
        org.analyst.post(
            "/api/v1/interventions",
            json={
                "name": "Belysning",
                "category": "belysning",
                "area_ids": [scenario["treated"]],
                "start_date": "2030-01-01",
            },
        ),
        201,
    )
    response = org.analyst.get(
        f"/api/v1/interventions/{late['id']}/evaluation",
        params={"indicator": "andel_otrygga_kvall"},
    )
    assert response.status_code == 409
    assert "opened on or after" in response.json()["detail"]
