"""Issue 10's whole story on both databases: two years of history brought in two ways, one
year collected, and an intervention evaluated with the imported years as its pre-trend.

2023 arrives as a vendor's answer counts (tallies import), 2024 as a LimeSurvey export
(response import), 2025 is collected through the bulk endpoint. Trygghetsvärdar start in one
area in January 2025. The evaluation's shares, its difference-in-differences and its
pre-trend are checked against values computed here from the generated answers themselves
(household-weighted pooled shares, DESIGN.md), not with the code under test."""

import csv
import io
import json
import random
from collections import Counter
from typing import Any

import pytest

from tests.api.support import days
from tests.conftest import Org
from tests.helpers import create_area, ok, publish_standard
from tests.imports.response_files import limesurvey_csv, random_answers

HOUSEHOLDS = {"tv": 1000, "kv1": 1500, "kv2": 800}
TREATED = "tv"
PER_AREA = 80
UNSAFE = {3, 4, 5}  # andel_otrygga_kvall: codes 3, 4, 5 of trygg_ute_kvall's 1..5
# The chance of feeling unsafe out late, per area and year: parallel before the start, and
# the treated area improves by 0.25 more than the others after it.
P_UNSAFE = {
    ("tv", 2023): 0.55,
    ("tv", 2024): 0.50,
    ("tv", 2025): 0.20,
    ("kv1", 2023): 0.40,
    ("kv1", 2024): 0.35,
    ("kv1", 2025): 0.30,
    ("kv2", 2023): 0.45,
    ("kv2", 2024): 0.40,
    ("kv2", 2025): 0.35,
}

Answers = list[tuple[str, dict[str, Any]]]


def _year(rng: random.Random, year: int) -> Answers:
    rows: Answers = []
    for area in HOUSEHOLDS:
        for _ in range(PER_AREA):
            answers = random_answers(rng)
            unsafe = rng.random() < P_UNSAFE[(area, year)]
            answers["trygg_ute_kvall"] = rng.choice([3, 4, 5] if unsafe else [1, 2])
            rows.append((area, answers))
    rng.shuffle(rows)
    return rows


def _share(rows: Answers, area: str) -> float:
    codes = [a["trygg_ute_kvall"] for code, a in rows if code == area]
    return sum(c in UNSAFE for c in codes) / len(codes)


def _pooled(rows: Answers, areas: list[str]) -> float:
    total = sum(HOUSEHOLDS[a] for a in areas)
    return sum(HOUSEHOLDS[a] / total * _share(rows, a) for a in areas)


def _did(before: Answers, after: Answers) -> float:
    comparison = [a for a in HOUSEHOLDS if a != TREATED]
    treated = _pooled(after, [TREATED]) - _pooled(before, [TREATED])
    return treated - (_pooled(after, comparison) - _pooled(before, comparison))


def _answer_counts(rows: Answers) -> bytes:
    """A vendor's report table, written here from the answers: area, item, option, count,
    with the '*' rows for respondents and a multi-choice item's answerers."""
    counts: Counter[tuple[str, str, str]] = Counter()
    for area, answers in rows:
        counts[(area, "*", "")] += 1
        for key, value in answers.items():
            if isinstance(value, str):
                continue  # free text has no counts
            if isinstance(value, list):
                counts[(area, key, "*")] += 1
                for code in value:
                    counts[(area, key, str(code))] += 1
            else:
                counts[(area, key, str(value))] += 1
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["area", "item", "option", "count"])
    for (area, key, option), n in sorted(counts.items()):
        writer.writerow([area, key, option, n])
    return out.getvalue().encode("utf-8")


def _historical_round(org: Org, version_id: int, area_ids: list[int], year: int) -> int:
    body = {
        "name": f"Trygghetsmätning {year}",
        "questionnaire_version_id": version_id,
        "period": str(year),
        "area_ids": area_ids,
        "open_date": f"{year}-03-01",
        "close_date": f"{year}-04-15",
        "historical": True,
    }
    return int(ok(org.admin.post("/api/v1/rounds", json=body), 201)["id"])


@pytest.mark.parametrize("seed", [20231])
def test_two_imported_years_are_the_pre_trend_of_an_evaluated_intervention(
    org: Org, seed: int
) -> None:
    rng = random.Random(seed)
    data = {year: _year(rng, year) for year in (2023, 2024, 2025)}
    version = publish_standard(org.admin)
    classes = [{"year": y, "area_type": 1} for y in (2023, 2024, 2025, 2026)]
    areas = {
        code: create_area(org.admin, code, households, classifications=classes)["id"]
        for code, households in HOUSEHOLDS.items()
    }
    ids = list(areas.values())

    # 2023: the vendor's answer counts only.
    r2023 = _historical_round(org, version["id"], ids, 2023)
    tallies = {"file": ("rapport-2023.csv", _answer_counts(data[2023]), "text/csv")}
    report = ok(org.admin.post(f"/api/v1/rounds/{r2023}/tallies/import", files=tallies), 201)
    assert report["problems_total"] == 0

    # 2024: a LimeSurvey export, through the ready-made mapping.
    r2024 = _historical_round(org, version["id"], ids, 2024)
    export = limesurvey_csv(data[2024], languages=["sv", "en", "ar"])
    mapping = json.dumps({"preset": "limesurvey_standard"})
    sent = {"file": ("limesurvey.csv", export, "text/csv"), "mapping": (None, mapping)}
    dry = ok(org.admin.post(f"/api/v1/rounds/{r2024}/imports?dry_run=true", files=sent))
    assert dry["problems"] == [] and dry["rows_stored"] == len(data[2024])
    stored = ok(org.admin.post(f"/api/v1/rounds/{r2024}/imports", files=sent), 201)
    assert stored["rows_stored"] == len(data[2024])

    # 2025: collected through the service after the start, then closed.
    body = {
        "name": "Trygghetsmätning 2025",
        "questionnaire_version_id": version["id"],
        "period": "2025",
        "area_ids": ids,
        "open_date": days(-10),
        "close_date": days(20),
    }
    r2025 = ok(org.admin.post("/api/v1/rounds", json=body), 201)["id"]
    responses = [
        {"area_id": areas[area], "language": "sv", "channel": "paper", "answers": answers}
        for area, answers in data[2025]
    ]
    bulk = org.admin.post(
        f"/api/v1/rounds/{r2025}/responses/bulk",
        json={"responses": responses},
        headers={"Idempotency-Key": f"scenario-{seed}"},
    )
    ok(bulk, 201)
    ok(org.admin.post(f"/api/v1/rounds/{r2025}/close"))

    intervention = ok(
        org.admin.post(
            "/api/v1/interventions",
            json={
                "name": "Trygghetsvärdar",
                "category": "trygghetsvardar",
                "area_ids": [areas[TREATED]],
                "start_date": "2025-01-15",
            },
        ),
        201,
    )
    result = ok(
        org.analyst.get(
            f"/api/v1/interventions/{intervention['id']}/evaluation",
            params={"indicator": "andel_otrygga_kvall"},
        )
    )
    assert (result["before_period"], result["after_period"]) == ("2024", "2025")
    assert sorted(result["comparison_area_ids"]) == sorted(
        areas[a] for a in HOUSEHOLDS if a != TREATED
    )
    sources = {(c["role"], c["period"]): c["source"] for c in result["cells"]}
    assert sources[("treated", "2023")] == "imported_tallies"
    assert sources[("treated", "2024")] == "imported"
    assert sources[("treated", "2025")] == "collected"
    shares = {(c["role"], c["period"]): c["p"] for c in result["cells"]}
    comparison = [a for a in HOUSEHOLDS if a != TREATED]
    for year in (2023, 2024, 2025):
        assert shares[("treated", str(year))] == pytest.approx(_share(data[year], TREATED))
        assert shares[("comparison", str(year))] == pytest.approx(_pooled(data[year], comparison))
    assert result["did"]["estimate"] == pytest.approx(_did(data[2024], data[2025]))
    assert result["did"]["estimate"] < 0  # fewer feel unsafe where the värdar work
    [pre] = result["pre_trend"]
    assert (pre["from_period"], pre["to_period"]) == ("2023", "2024")
    assert pre["estimate"]["estimate"] == pytest.approx(_did(data[2023], data[2024]))

    # The area's trend runs through all three years, each point saying where it came from.
    trend = ok(
        org.analyst.get(
            "/api/v1/results/trends",
            params={"area_id": areas[TREATED], "indicator": "andel_otrygga_kvall"},
        )
    )
    assert [(p["period"], p["source"]) for p in trend["points"]] == [
        ("2023", "imported_tallies"),
        ("2024", "imported"),
        ("2025", "collected"),
    ]
    for point, year in zip(trend["points"], (2023, 2024, 2025), strict=True):
        assert point["estimate"] == pytest.approx(_share(data[year], TREATED))
