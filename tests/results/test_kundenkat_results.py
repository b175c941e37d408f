"""The standard kundenkät's results: every indicator and index of a round checked against figures
computed here from the raw answers (statsmodels' Wilson interval, a numpy/scipy reading of
DESIGN.md's composite-index rule), on SQLite and PostgreSQL; a small area is suppressed."""

import json
import math
import random
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from tests.conftest import Org
from tests.helpers import create_area, ok
from tests.results.support import area_of, by_key, results, upload

KUND = json.loads(
    (Path(__file__).resolve().parents[2] / "src/survey_api/data/kundenkat-standard.json").read_text(
        encoding="utf-8"
    )
)
ITEMS = {item["key"]: item for item in KUND["items"]}
INDICATORS = {i["key"]: i for i in KUND["indicators"]}
INDICES = {i["key"]: i for i in KUND["indices"]}
REL = 1e-9


# --- answers --------------------------------------------------------------------------------


def respondent(rng: random.Random, *, skip: float, dont_know: float) -> dict[str, Any]:
    """One tenant's answers: some items skipped, some "Vet inte", the follow-up only after a
    fault report (felanmalan_12m = 1)."""
    answers: dict[str, Any] = {}
    for item in KUND["items"]:
        key = item["key"]
        if rng.random() < skip:
            continue
        if item["kind"] == "text":
            if rng.random() < 0.1:
                answers[key] = "Bättre belysning vid soprummet."
            continue
        condition = item.get("show_if")
        if condition and answers.get(condition["item"]) not in condition["any_of"]:
            continue
        options = item["options"]
        non_substantive = [o["code"] for o in options if "score" in o and o["score"] is None]
        if non_substantive and rng.random() < dont_know:
            answers[key] = rng.choice(non_substantive)
        else:
            substantive = [o["code"] for o in options if o["code"] not in non_substantive]
            # Leaning towards the favourable end, as tenant surveys do.
            weights = [1.0 + 0.6 * i for i in range(len(substantive))]
            answers[key] = rng.choices(substantive, weights=weights)[0]
    return answers


def special_respondents() -> list[dict[str, Any]]:
    """Edge cases of the composite rule and of the follow-up question."""
    return [
        # 1 of serviceindex's 4 components: left out of it; no fault report, so no follow-up.
        {"service_na": 4, "felanmalan_12m": 2, "nojd_totalt": 4},
        # 2 of 4 (exactly half): counted; 3 of produktindex's 7: left out.
        {
            "service_na": 2,
            "service_bemotande": 5,
            "lgh_standard": 1,
            "tvattstuga": 3,
            "stadning": 5,
        },
        # 4 of 7 answered, but two are "Vet inte": 2 substantive of 7, left out.
        {"lgh_standard": 9, "lgh_underhall": 9, "tvattstuga": 4, "stadning": 2},
        # A fault report fixed right the first time, then "Vet inte" on the rest of the service.
        {"felanmalan_12m": 1, "felanmalan_atgardad": 3, "service_na": 9, "service_bemotande": 9},
        # "Vet inte" whether a fault was reported: the follow-up is not shown.
        {"felanmalan_12m": 9, "trivsel": 9, "sammanhallning": 4, "grannar_storningar": 1},
        # Only background answers: a response that counts in no figure.
        {"kon": 2, "aldersgrupp": 4, "boendetid": 1, "barn_i_hushallet": 2},
        # Everything answered at the unfavourable end.
        {
            key: 1
            for key, item in ITEMS.items()
            if item["kind"] != "text" and key != "felanmalan_atgardad"
        },
    ]


# --- independent reference figures ----------------------------------------------------------


def score_of(item: dict[str, Any], code: int) -> float | None:
    option = next(o for o in item["options"] if o["code"] == code)
    score = option.get("score")
    return None if score is None else float(score)


def is_substantive(item: dict[str, Any], code: int) -> bool:
    option = next(o for o in item["options"] if o["code"] == code)
    return not ("score" in option and option["score"] is None)


def share_reference(answers: list[dict[str, Any]], key: str) -> tuple[int, int]:
    """(x, n): respondents in the indicator's codes among those with a substantive answer."""
    indicator = INDICATORS[key]
    item = ITEMS[indicator["item"]]
    given = [a[item["key"]] for a in answers if item["key"] in a]
    valid = [code for code in given if is_substantive(item, code)]
    return sum(code in indicator["codes"] for code in valid), len(valid)


def composite_reference(answers: list[dict[str, Any]], key: str) -> np.ndarray:
    """DESIGN.md: per respondent, each answered component's score rescaled to 0–1 by that item's
    score range, averaged; respondents with fewer than half the components answered left out."""
    index = INDICES[key]
    per_respondent = []
    for a in answers:
        parts = []
        for component in index["items"]:
            item = ITEMS[component]
            scores = [o["score"] for o in item["options"] if o.get("score") is not None]
            low, high = min(scores), max(scores)
            if component in a and (s := score_of(item, a[component])) is not None:
                parts.append((s - low) / (high - low))
        if len(parts) >= len(index["items"]) / 2:
            per_respondent.append(np.mean(parts))
    return np.array(per_respondent)


def t_interval_100(values: np.ndarray, orientation: str) -> tuple[float, float, float]:
    mean = values.mean()
    half = stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / math.sqrt(len(values))
    low, high = mean - half, mean + half
    if orientation == "higher_is_worse":
        return 100 * (1 - mean), 100 * (1 - high), 100 * (1 - low)
    return 100 * mean, 100 * low, 100 * high


# --- the round ------------------------------------------------------------------------------


def kundenkat_round(org: Org, areas: list[dict[str, Any]]) -> int:
    created = ok(org.analyst.post("/api/v1/questionnaires", json=KUND), 201)
    qid = created["questionnaire"]["id"]
    version = ok(org.analyst.post(f"/api/v1/questionnaires/{qid}/versions/1/publish"))
    body = {
        "name": "Kundenkät 2026",
        "questionnaire_version_id": version["id"],
        "period": "2026",
        "area_ids": [a["id"] for a in areas],
        "open_date": (date.today() - timedelta(days=5)).isoformat(),
        "close_date": (date.today() + timedelta(days=30)).isoformat(),
    }
    return int(ok(org.analyst.post("/api/v1/rounds", json=body), 201)["id"])


def test_kundenkat_indicators_and_indices_match_an_independent_computation(org: Org) -> None:
    rng = random.Random(20261202)
    areas = [
        create_area(org.analyst, "centrum", households=900),
        create_area(org.analyst, "backen", households=400),
        create_area(org.analyst, "lilla", households=40),
    ]
    round_id = kundenkat_round(org, areas)
    answers = {
        areas[0]["id"]: [respondent(rng, skip=0.08, dont_know=0.07) for _ in range(160)]
        + special_respondents(),
        areas[1]["id"]: [respondent(rng, skip=0.2, dont_know=0.15) for _ in range(90)],
        # Fewer respondents than the minimum cell size (10).
        areas[2]["id"]: [respondent(rng, skip=0.0, dont_know=0.0) for _ in range(6)],
    }
    for area_id, sets in answers.items():
        upload(org.integrator, round_id, area_id, sets)

    payload = results(org.analyst, round_id)
    assert payload["min_cell_size"] == 10
    for area in areas[:2]:
        got = area_of(payload, area["id"])
        sets = answers[area["id"]]
        assert got["responses"]["responses"] == len(sets)

        indicators = by_key(got["indicators"])
        assert set(indicators) == set(INDICATORS)
        for key, cell in indicators.items():
            x, n = share_reference(sets, key)
            low, high = proportion_confint(x, n, alpha=0.05, method="wilson")
            assert n >= 10, (key, n)  # enough respondents that nothing is suppressed
            assert cell["suppressed"] is False, key
            assert (cell["n"], cell["share"]["x"]) == (n, x), key
            assert cell["share"]["p"] == pytest.approx(x / n, rel=REL), key
            assert cell["share"]["low"] == pytest.approx(low, rel=REL), key
            assert cell["share"]["high"] == pytest.approx(high, rel=REL), key
            assert cell["share"]["low_precision"] == ((high - low) / 2 > 0.10), key

        indices = by_key(got["indices"])
        assert set(indices) == set(INDICES)
        for key, cell in indices.items():
            values = composite_reference(sets, key)
            assert cell["suppressed"] is False, key
            assert cell["n"] == len(values), key
            expected = t_interval_100(values, INDICES[key]["orientation"])
            figure = cell["index"]
            assert (figure["index"], figure["low"], figure["high"]) == pytest.approx(
                expected, rel=REL
            ), key

    # The follow-up counts only tenants who reported a fault and were shown it.
    centrum = answers[areas[0]["id"]]
    follow_up = by_key(area_of(payload, areas[0]["id"])["items"])["felanmalan_atgardad"]
    shown = [a for a in centrum if a.get("felanmalan_12m") == 1]
    answered = [a["felanmalan_atgardad"] for a in shown if "felanmalan_atgardad" in a]
    assert all("felanmalan_atgardad" not in a for a in centrum if a.get("felanmalan_12m") != 1)
    assert follow_up["n"] == sum(code != 9 for code in answered)
    assert follow_up["non_substantive"] == sum(code == 9 for code in answered)
    # The edge cases change the index bases as the rule says (checked by hand, not by code).
    without_specials = centrum[: -len(special_respondents())]
    service = by_key(area_of(payload, areas[0]["id"])["indices"])["serviceindex"]
    product = by_key(area_of(payload, areas[0]["id"])["indices"])["produktindex"]
    # Specials counted in serviceindex: the 2-of-4 tenant, and the all-1 tenant (3 of 4: it
    # reported a fault but left the follow-up unanswered).
    assert service["n"] == len(composite_reference(without_specials, "serviceindex")) + 2
    # Specials counted in produktindex: only the all-1 tenant.
    assert product["n"] == len(composite_reference(without_specials, "produktindex")) + 1

    # The small area: every indicator and index suppressed, looking the same whatever its n.
    small = area_of(payload, areas[2]["id"])
    assert small["responses"]["suppressed"] is True
    assert small["responses"]["responses"] is None
    for cell in small["indicators"]:
        assert (cell["suppressed"], cell["n"], cell["share"]) == (True, None, None), cell["key"]
    for cell in small["indices"]:
        assert (cell["suppressed"], cell["n"], cell["index"]) == (True, None, None), cell["key"]
    for cell in small["items"]:
        assert cell["suppressed"] is True and cell["distribution"] is None, cell["key"]
