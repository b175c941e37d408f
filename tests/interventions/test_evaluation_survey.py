"""An intervention evaluation keeps to one survey: never a DiD across two questionnaires.

A trygghetsmätning and a kundenkät both carry trygg_ute_kvall and andel_otrygga_kvall (the
kundenkät reuses them by key, issue 12). Their answers differ on purpose, so a cell taken from
the wrong survey changes the estimate.
"""

import json
import math
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import insert
from sqlalchemy.orm import Session, sessionmaker

from survey_api.models import Response, SurveyRound, SurveyRoundArea
from tests.conftest import Org
from tests.helpers import create_area, ok, publish_standard

KUNDENKAT = json.loads(
    (Path(__file__).resolve().parents[2] / "src/survey_api/data/kundenkat-standard.json").read_text(
        encoding="utf-8"
    )
)
TRYGG, KUND = "trygghetsmatning-standard", "kundenkat-standard"
Z = 1.959963984540054
N = 40
HOUSEHOLDS = {"treated": 2000, "comp_a": 1000, "comp_b": 3000}
# Per survey, area and year: how many of N answer "unsafe out late" (trygg_ute_kvall = 3).
UNSAFE = {
    TRYGG: {
        "treated": {2023: 20, 2024: 21, 2026: 12},
        "comp_a": {2023: 18, 2024: 18, 2026: 17},
        "comp_b": {2023: 14, 2024: 15, 2026: 15},
    },
    KUND: {
        "treated": {2023: 5, 2024: 30, 2026: 28},
        "comp_a": {2023: 6, 2024: 10, 2026: 25},
        "comp_b": {2023: 7, 2024: 9, 2026: 22},
    },
}


def unsafe(survey: str, area: str, year: int) -> int:
    """How many of N answer "unsafe out late"; years not listed above: a fixed number."""
    return UNSAFE[survey][area].get(year, 10 + year % 7)


def _pooled(survey: str, areas: list[str], year: int) -> tuple[float, float]:
    """Household-weighted share and variance, written out from DESIGN.md."""
    weights = np.array([HOUSEHOLDS[a] for a in areas], dtype=float)
    weights /= weights.sum()
    shares = np.array([unsafe(survey, a, year) / N for a in areas])
    return float(weights @ shares), float(np.sum(weights**2 * shares * (1 - shares) / N))


def _did(survey: str, before: int, after: int) -> tuple[float, float]:
    tb, vtb = _pooled(survey, ["treated"], before)
    ta, vta = _pooled(survey, ["treated"], after)
    cb, vcb = _pooled(survey, ["comp_a", "comp_b"], before)
    ca, vca = _pooled(survey, ["comp_a", "comp_b"], after)
    return (ta - tb) - (ca - cb), math.sqrt(vtb + vta + vcb + vca)


Build = Callable[..., dict[str, Any]]


@pytest.fixture
def build(org: Org, db: sessionmaker[Session]) -> Build:
    """Rounds of both surveys (years per survey key, created in that order) over three
    areas of area type 1 (or the areas named per survey key), and an intervention in the
    treated area from 2025-06-01."""

    def make(
        years: dict[str, tuple[int, ...]], areas: dict[str, list[str]] | None = None
    ) -> dict[str, Any]:
        versions = {
            TRYGG: publish_standard(org.analyst)["id"],
            KUND: publish_standard(org.analyst, KUNDENKAT)["id"],
        }
        ids = {
            code: create_area(
                org.analyst, code, households, classifications=[{"year": 2023, "area_type": 1}]
            )["id"]
            for code, households in HOUSEHOLDS.items()
        }
        rounds: dict[tuple[str, int], int] = {}
        with db() as session:
            for survey, survey_years in years.items():
                for year in survey_years:
                    survey_round = SurveyRound(
                        organisation_id=org.id,
                        questionnaire_version_id=versions[survey],
                        name=f"{survey} {year}",
                        period=str(year),
                        open_date=date(year, 3, 1),
                        close_date=date(year, 4, 30),
                    )
                    session.add(survey_round)
                    session.flush()
                    rounds[(survey, year)] = survey_round.id
                    rows = []
                    for code, area_id in ids.items():
                        if areas and code not in areas.get(survey, list(ids)):
                            continue
                        session.add(
                            SurveyRoundArea(survey_round_id=survey_round.id, area_id=area_id)
                        )
                        rows += [
                            {
                                "survey_round_id": survey_round.id,
                                "area_id": area_id,
                                "language": "sv",
                                "channel": "paper",
                                "entry": "api",
                                "submitted_date": date(year, 3, 15),
                                "answers": {
                                    "trygg_ute_kvall": 3 if i < unsafe(survey, code, year) else 1
                                },
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
        return {"areas": ids, "rounds": rounds, "intervention": created["id"]}

    return make


def _evaluate(org: Org, scenario: dict[str, Any], **params: Any) -> Any:
    return org.analyst.get(
        f"/api/v1/interventions/{scenario['intervention']}/evaluation",
        params={"indicator": "andel_otrygga_kvall", **params},
    )


def _check(result: dict[str, Any], scenario: dict[str, Any], survey: str) -> None:
    """The estimate is the survey's own, and every cell is from one of its rounds."""
    expected, se = _did(survey, int(result["before_period"]), int(result["after_period"]))
    assert result["did"]["estimate"] == pytest.approx(expected, abs=1e-12)
    assert result["did"]["se"] == pytest.approx(se, abs=1e-12)
    assert result["did"]["low"] == pytest.approx(expected - Z * se, abs=1e-12)
    own = {round_id for (key, _), round_id in scenario["rounds"].items() if key == survey}
    assert {c["survey_round_id"] for c in result["cells"]} <= own
    assert result["questionnaire_key"] == survey


def test_the_default_is_the_survey_with_the_most_rounds_and_never_mixes(
    org: Org, build: Build
) -> None:
    scenario = build({TRYGG: (2023, 2024, 2026), KUND: (2024, 2026)})
    result = ok(_evaluate(org, scenario))
    assert (result["before_period"], result["after_period"]) == ("2024", "2026")
    _check(result, scenario, TRYGG)
    # The placebo also stays in the survey: 2023 exists only in the trygghetsmätning.
    [pre] = result["pre_trend"]
    assert (pre["from_period"], pre["to_period"]) == ("2023", "2024")
    assert pre["estimate"]["estimate"] == pytest.approx(_did(TRYGG, 2023, 2024)[0])
    note = result["period_note"]
    assert note["en"].startswith(
        "Survey: Tenant safety survey, the survey with the most rounds with indicator "
        "'andel_otrygga_kvall' that cover the treated and the comparison areas (3). Rounds of "
        "Tenant customer survey are left out: an evaluation never mixes surveys (choose another "
        "survey with questionnaire= or in the console). Before: 2024"
    )
    # Swedish in Swedish words: the measure, the rounds, the other survey by its name.
    assert note["sv"].startswith(
        "Enkät: Trygghetsmätning för hyresgäster, den enkät som har flest mätomgångar med "
        "indikatorn andel_otrygga_kvall som täcker de berörda områdena och jämförelseområdena "
        "(3). Mätomgångar i Kundenkät för hyresgäster räknas inte med: en utvärdering blandar "
        "aldrig enkäter (välj en annan enkät med questionnaire= eller i konsolen). Före: 2024, "
        "den sista mätomgången som stängde före starten"
    )
    for lang in ("sv", "en"):
        assert KUND not in note[lang] and TRYGG not in note[lang]
        assert "indicator '" not in note["sv"] and "mätningar" not in note["sv"]
    assert "Before: 2024" in note["en"] and "Före: 2024" in note["sv"]

    # Asked for: the kundenkät's own rounds, with its own (different) estimate.
    kund = ok(_evaluate(org, scenario, questionnaire=KUND))
    assert (kund["before_period"], kund["after_period"]) == ("2024", "2026")
    _check(kund, scenario, KUND)
    assert kund["pre_trend"] == []
    assert kund["period_note"]["en"].startswith("Survey: Tenant customer survey, as requested.")
    assert kund["period_note"]["sv"].startswith("Enkät: Kundenkät för hyresgäster, enligt begäran.")
    assert kund["did"]["estimate"] != pytest.approx(result["did"]["estimate"])


def test_a_tie_goes_to_the_survey_whose_latest_round_is_the_latest(org: Org, build: Build) -> None:
    # Three rounds each, the same periods: the kundenkät's 2026 round is created last.
    scenario = build({TRYGG: (2023, 2024, 2026), KUND: (2023, 2024, 2026)})
    result = ok(_evaluate(org, scenario))
    _check(result, scenario, KUND)
    assert "tied, and its latest round is the latest" in result["period_note"]["en"]
    assert "lika många, och dess senaste mätomgång är den senaste" in result["period_note"]["sv"]
    # Asked for, the other survey is used all the same.
    assert ok(_evaluate(org, scenario, questionnaire=TRYGG))["questionnaire_key"] == TRYGG


def test_one_survey_only_says_nothing_about_surveys(org: Org, build: Build) -> None:
    scenario = build({TRYGG: (2024, 2026)})
    result = ok(_evaluate(org, scenario))
    _check(result, scenario, TRYGG)
    assert not result["period_note"]["en"].startswith("Survey")
    assert result["period_note"]["en"].startswith("Before: 2024")


def test_the_questionnaire_filter_s_errors(org: Org, build: Build) -> None:
    scenario = build({TRYGG: (2023, 2024, 2026), KUND: (2024, 2026)})
    unknown = _evaluate(org, scenario, questionnaire="hyresgastenkat")
    assert unknown.status_code == 404
    assert unknown.headers["content-type"].startswith("application/problem+json")
    detail = unknown.json()["detail"]
    assert "no questionnaire of yours has key 'hyresgastenkat'" in detail
    assert KUND in detail and TRYGG in detail
    assert _evaluate(org, scenario, questionnaire="Kundenkät").status_code == 422
    # Periods are looked up within the survey: 2023 is a trygghetsmätning period only.
    missing = _evaluate(org, scenario, questionnaire=KUND, before="2023")
    assert missing.status_code == 422
    assert missing.json()["detail"] == (
        "no survey round of yours with indicator 'andel_otrygga_kvall' has period 2023 "
        "(there are: 2024, 2026)"
    )
    ok(_evaluate(org, scenario, questionnaire=TRYGG, before="2023"))
    # An item only the trygghetsmätning has, kept to the kundenkät.
    absent = org.analyst.get(
        f"/api/v1/interventions/{scenario['intervention']}/evaluation",
        params={"item": "problem_klotter", "questionnaire": KUND},
    )
    assert absent.status_code == 404
    assert absent.json()["detail"] == (
        f"no survey round of yours has item 'problem_klotter' in questionnaire '{KUND}'"
    )


def test_the_default_passes_over_a_survey_without_the_treated_area(org: Org, build: Build) -> None:
    # The kundenkät has more rounds, but none of them in the treated area.
    scenario = build(
        {TRYGG: (2024, 2026), KUND: (2022, 2023, 2024, 2026)},
        areas={KUND: ["comp_a", "comp_b"]},
    )
    result = ok(_evaluate(org, scenario))
    _check(result, scenario, TRYGG)
    note = result["period_note"]
    assert note["en"].startswith(
        "Survey: Tenant safety survey, the survey with the most rounds with indicator "
        "'andel_otrygga_kvall' that cover the treated and the comparison areas (2). Tenant "
        "customer survey cannot give a round before and one after the start in these areas."
    )
    assert (
        "(2). Kundenkät för hyresgäster kan inte ge en mätomgång före och en efter starten i de "
        "här områdena." in note["sv"]
    )
    # Asked for, the kundenkät is refused as before: it has no treated cells.
    kund = _evaluate(org, scenario, questionnaire=KUND)
    assert kund.status_code == 200
    assert kund.json()["did"] is None


def test_the_default_passes_over_a_survey_without_a_round_before_the_start(
    org: Org, build: Build
) -> None:
    # The kundenkät has more rounds with the indicator, all after the start (2025-06-01).
    scenario = build({TRYGG: (2024, 2026), KUND: (2026, 2027, 2028)})
    result = ok(_evaluate(org, scenario))
    _check(result, scenario, TRYGG)
    assert (result["before_period"], result["after_period"]) == ("2024", "2026")
    assert "(2). Tenant customer survey cannot give" in result["period_note"]["en"]
    refused = _evaluate(org, scenario, questionnaire=KUND)
    assert refused.status_code == 409
    assert refused.headers["content-type"].startswith("application/problem+json")


def test_when_no_survey_can_be_evaluated_the_default_is_the_one_with_most_rounds(
    org: Org, build: Build
) -> None:
    scenario = build({TRYGG: (2026,), KUND: (2026, 2027)})
    refused = _evaluate(org, scenario)
    assert refused.status_code == 409
    assert refused.json()["detail"].startswith("an evaluation needs a round that closed before")


def test_an_item_is_named_as_a_question_in_swedish(org: Org, build: Build) -> None:
    scenario = build({TRYGG: (2023, 2024, 2026), KUND: (2024, 2026)})
    result = ok(
        org.analyst.get(
            f"/api/v1/interventions/{scenario['intervention']}/evaluation",
            params={"item": "trygg_ute_kvall"},
        )
    )
    assert result["questionnaire_key"] == TRYGG
    assert "flest mätomgångar med frågan trygg_ute_kvall som" in result["period_note"]["sv"]
    assert "most rounds with item 'trygg_ute_kvall' that" in result["period_note"]["en"]


def test_the_only_survey_with_the_measure_is_named_when_another_survey_has_rounds(
    org: Org, build: Build
) -> None:
    scenario = build({TRYGG: (2023, 2024, 2026), KUND: (2024, 2026)})
    result = ok(
        org.analyst.get(
            f"/api/v1/interventions/{scenario['intervention']}/evaluation",
            params={"item": "problem_klotter"},
        )
    )
    assert result["questionnaire_key"] == TRYGG
    note = result["period_note"]
    assert note["en"].startswith(
        "Survey: Tenant safety survey, the only survey with item 'problem_klotter'. Before: 2024"
    )
    assert note["sv"].startswith(
        "Enkät: Trygghetsmätning för hyresgäster, den enda enkäten med frågan problem_klotter. "
        "Före: 2024"
    )
