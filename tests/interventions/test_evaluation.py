"""Difference-in-differences evaluation, checked against an independent computation."""

import math
from datetime import date, timedelta
from typing import Any

import numpy as np
import pytest
from sqlalchemy import insert, select
from sqlalchemy.orm import Session, sessionmaker

from survey_api.models import Response, SurveyRound, SurveyRoundArea
from survey_api.rounds.service import today
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


def _add_round(
    db: sessionmaker[Session], org: Org, area_ids: list[int], period: str, opens: date, closes: date
) -> None:
    """A round of the scenario's questionnaire with 40 answers per area (a quarter unsafe)."""
    with db() as session:
        version_id = session.scalar(
            select(SurveyRound.questionnaire_version_id)
            .where(SurveyRound.organisation_id == org.id)
            .limit(1)
        )
        assert version_id is not None
        survey_round = SurveyRound(
            organisation_id=org.id,
            questionnaire_version_id=version_id,
            name=f"Round {period}",
            period=period,
            open_date=opens,
            close_date=closes,
        )
        session.add(survey_round)
        session.flush()
        session.add_all(
            SurveyRoundArea(survey_round_id=survey_round.id, area_id=a) for a in area_ids
        )
        session.execute(
            insert(Response),
            [
                {
                    "survey_round_id": survey_round.id,
                    "area_id": area_id,
                    "language": "sv",
                    "channel": "paper",
                    "entry": "api",
                    "submitted_date": min(opens, today()),
                    "answers": {"trygg_ute_kvall": 3 if i < N // 4 else 1},
                }
                for area_id in area_ids
                for i in range(N)
            ],
        )
        session.commit()


@pytest.fixture
def later_rounds(org: Org, scenario: dict[str, int], db: sessionmaker[Session]) -> str:
    """After the yearly 2026 round (closed): a closed 2026-H2 round and a yearly round that is
    open today. Returns the open round's period."""
    areas = [scenario[code] for code in HOUSEHOLDS]
    _add_round(db, org, areas, "2026-H2", date(2026, 9, 1), date(2026, 10, 15))
    open_period = str(today().year + 1)
    _add_round(
        db, org, areas, open_period, today() - timedelta(days=5), today() + timedelta(days=30)
    )
    return open_period


def _evaluate(org: Org, intervention: int, **params: Any) -> Any:
    return org.analyst.get(
        f"/api/v1/interventions/{intervention}/evaluation",
        params={"indicator": "andel_otrygga_kvall", **params},
    )


def test_default_after_is_the_latest_closed_round_of_the_same_kind(
    org: Org, scenario: dict[str, int], later_rounds: str
) -> None:
    result = ok(_evaluate(org, scenario["intervention"]))
    # 2026-H2 is a half-year round after a yearly one, and the yearly round after it is open.
    assert (result["before_period"], result["after_period"]) == ("2024", "2026")
    assert result["period_choice"] == "default"
    assert result["period_note"]["en"] == (
        "Before: 2024, the last round that closed before the start (2025-06-01). "
        "After: 2026, the latest closed yearly round after the start."
    )
    assert "den senaste stängda årsmätningen" in result["period_note"]["sv"]
    assert {c["period"] for c in result["cells"]} == {"2023", "2024", "2026"}
    assert result["did"] is not None and len(result["pre_trend"]) == 1


def test_while_no_round_after_the_start_has_closed_the_open_one_is_used_and_said_so(
    org: Org, scenario: dict[str, int], later_rounds: str
) -> None:
    late = ok(
        org.analyst.post(
            "/api/v1/interventions",
            json={
                "name": "Belysning",
                "category": "belysning",
                "area_ids": [scenario["treated"]],
                "start_date": "2026-06-01",
            },
        ),
        201,
    )
    result = ok(_evaluate(org, late["id"]))
    assert (result["before_period"], result["after_period"]) == ("2026", later_rounds)
    assert result["period_choice"] == "default"
    assert "still open" in result["period_note"]["en"]
    assert "fortfarande är öppen" in result["period_note"]["sv"]


def test_before_and_after_can_be_asked_for(
    org: Org, scenario: dict[str, int], later_rounds: str
) -> None:
    result = ok(_evaluate(org, scenario["intervention"], before="2023", after="2026-H2"))
    assert (result["before_period"], result["after_period"]) == ("2023", "2026-H2")
    assert result["period_choice"] == "requested"
    assert (
        result["period_note"]["en"] == "Before: 2023, as requested. After: 2026-H2, as requested."
    )
    assert result["pre_trend"] == []  # nothing earlier than 2023
    tb = _pooled(["treated"], 2023)[0]
    cb = _pooled(["comp_a", "comp_b"], 2023)[0]
    assert result["did"]["estimate"] == pytest.approx((0.25 - tb) - (0.25 - cb))
    # Only "after" asked for: "before" keeps its default, and the choice is still "requested".
    only_after = ok(_evaluate(org, scenario["intervention"], after=later_rounds))
    assert (only_after["before_period"], only_after["after_period"]) == ("2024", later_rounds)
    assert only_after["period_choice"] == "requested"
    assert "still open" in only_after["period_note"]["en"]


@pytest.mark.parametrize(
    ("params", "loc", "detail"),
    [
        (
            {"after": "2030"},
            "after",
            "no survey round of yours with indicator "
            "'andel_otrygga_kvall' has period 2030 (there are: 2023, 2024, 2026, 2026-H2, ",
        ),
        ({"before": "2022"}, "before", "has period 2022"),
        (
            {"before": "2024", "after": "2024"},
            "after",
            "after period 2024 must come after before period 2024",
        ),
        (
            {"before": "2026", "after": "2026-H2"},
            "before",
            "before period 2026 is not before the intervention: its round closes 2026-04-30",
        ),
        (
            {"before": "2023", "after": "2024"},
            "after",
            "after period 2024 is not after the intervention: its round opened 2024-03-01",
        ),
        ({"after": "2026-H3"}, "after", ""),
    ],
)
def test_bad_periods_are_refused_with_a_precise_message(
    org: Org,
    scenario: dict[str, int],
    later_rounds: str,
    params: dict[str, str],
    loc: str,
    detail: str,
) -> None:
    response = _evaluate(org, scenario["intervention"], **params)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert detail in problem["detail"]
    assert any(e["loc"][:2] == ["query", loc] for e in problem["errors"]), problem
