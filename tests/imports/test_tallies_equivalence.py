"""One data set loaded two ways gives the same statistics: responses through the bulk JSON
endpoint into a collected round, and the answer counts derived from the same answers imported
as tallies into a historical round. Only what needs respondents differs: composite indices and
breakdowns are unavailable, with the reason, on the tallies side."""

import csv
import io
import math
import random
from collections import Counter
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from survey_api.models import SurveyRound
from tests.api.support import problem
from tests.conftest import Org
from tests.helpers import create_area, ok, publish_standard
from tests.results.support import STANDARD, generate, upload

# Four areas: three of area type 1 (one treated), one of type 3; respondents per area and year.
AREAS = {"norr": (1800, 1, 46), "syd": (900, 1, 38), "vast": (2600, 1, 52), "ost": (700, 3, 31)}
START = date(2024, 1, 1)
TOL = 1e-9


def tally_csv(answers_by_area: dict[str, list[dict[str, Any]]]) -> bytes:
    """The report table a vendor would deliver for these answers, counted independently."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow(["area", "item", "option", "count"])
    kinds = {item["key"]: item["kind"] for item in STANDARD["items"]}
    for code, answer_sets in answers_by_area.items():
        writer.writerow([code, "*", "", len(answer_sets)])
        counts: Counter[tuple[str, int]] = Counter()
        answered: Counter[str] = Counter()
        for answers in answer_sets:
            for key, value in answers.items():
                if kinds[key] == "text":
                    continue
                for ticked in value if isinstance(value, list) else [value]:
                    counts[(key, ticked)] += 1
                answered[key] += 1
        for (key, option), count in sorted(counts.items()):
            writer.writerow([code, key, option, count])
        for key, count in answered.items():
            if kinds[key] == "multi_choice":
                writer.writerow([code, key, "*", count])
    return out.getvalue().encode("utf-8")


def post_tallies(client: Any, round_id: int, content: bytes, **params: Any) -> Any:
    return client.post(
        f"/api/v1/rounds/{round_id}/tallies/import",
        params=params,
        files={"file": ("report.csv", content, "text/csv")},
    )


def _world(
    org: Org,
    db: sessionmaker[Session],
    data: dict[int, dict[str, list[dict[str, Any]]]],
    tallies_2023: bool,
) -> dict[str, Any]:
    version = publish_standard(org.analyst)
    areas = {
        code: create_area(
            org.analyst,
            code,
            households,
            classifications=[{"year": 2023, "area_type": area_type}],
        )["id"]
        for code, (households, area_type, _) in AREAS.items()
    }
    rounds = {}
    for year in (2023, 2024):
        historical = tallies_2023 and year == 2023
        body = {
            "name": f"Trygghetsmätning {year}",
            "questionnaire_version_id": version["id"],
            "period": str(year),
            "area_ids": list(areas.values()),
            "open_date": f"{year}-03-01" if historical else date.today().isoformat(),
            "close_date": f"{year}-04-30" if historical else date.today().isoformat(),
            "historical": historical,
        }
        round_id = ok(org.admin.post("/api/v1/rounds", json=body), 201)["id"]
        rounds[year] = round_id
        if historical:
            report = ok(post_tallies(org.analyst, round_id, tally_csv(data[year])), 201)
            assert report["problems"] == [] and report["notes"] == []
        else:
            for code, answer_sets in data[year].items():
                upload(org.integrator, round_id, areas[code], answer_sets)
            # The answers are in: the round becomes the past survey it stands for.
            with db() as session:
                session.execute(
                    update(SurveyRound)
                    .where(SurveyRound.id == round_id)
                    .values(open_date=date(year, 3, 1), close_date=date(year, 4, 30))
                )
                session.commit()
    intervention = ok(
        org.analyst.post(
            "/api/v1/interventions",
            json={
                "name": "Trygghetsvärdar",
                "category": "trygghetsvardar",
                "area_ids": [areas["norr"]],
                "start_date": START.isoformat(),
            },
        ),
        201,
    )
    return {"areas": areas, "rounds": rounds, "intervention": intervention["id"]}


@pytest.fixture
def worlds(
    org: Org, make_org: Callable[[], Org], db: sessionmaker[Session]
) -> tuple[Org, dict[str, Any], Org, dict[str, Any]]:
    rng = random.Random(20240101)
    data = {
        year: {
            code: generate(rng, n + (year - 2023) * 3, tilt=0.4 if code == "norr" else 0.0)
            for code, (_, _, n) in AREAS.items()
        }
        for year in (2023, 2024)
    }
    other = make_org()
    return org, _world(org, db, data, False), other, _world(other, db, data, True)


def close(a: Any, b: Any, path: str = "") -> None:
    """Equal, floats to 1e-9 (sums are added in another order)."""
    if isinstance(a, float) or isinstance(b, float):
        assert a is not None and b is not None, path
        assert math.isclose(a, b, rel_tol=TOL, abs_tol=TOL), f"{path}: {a} != {b}"
    elif isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), path
        for key in a:
            close(a[key], b[key], f"{path}.{key}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            close(x, y, f"{path}[{i}]")
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"


def _without_ids(area: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in area.items() if k not in ("area_id",)}


def test_answer_counts_give_the_statistics_of_the_responses(worlds: Any) -> None:
    org_r, world_r, org_t, world_t = worlds
    collected = ok(org_r.analyst.get(f"/api/v1/rounds/{world_r['rounds'][2023]}/results"))
    counted = ok(org_t.analyst.get(f"/api/v1/rounds/{world_t['rounds'][2023]}/results"))
    assert collected["source"] == "collected"
    assert counted["source"] == "imported_tallies"
    assert len(counted["areas"]) == len(AREAS)
    for mine, theirs in zip(collected["areas"], counted["areas"], strict=True):
        assert mine["code"] == theirs["code"]
        # Responses, every item (n, distribution, favourable Wilson, mean, item index) and
        # every indicator (the multi-choice one too, from its '*' row) are the same.
        close(mine["responses"], theirs["responses"], mine["code"])
        close(mine["items"], theirs["items"], mine["code"])
        close(mine["indicators"], theirs["indicators"], mine["code"])
        assert all(i["unavailable_reason"] is None for i in theirs["items"] + theirs["indicators"])
        # Composite indices need respondents: unavailable with the reason, never guessed.
        assert [i["key"] for i in mine["indices"]] == [i["key"] for i in theirs["indices"]]
        for index in mine["indices"]:
            assert index["suppressed"] is False and index["index"] is not None
        for index in theirs["indices"]:
            assert index["suppressed"] is False and index["index"] is None
            assert index["n"] is None
            assert "composite index" in index["unavailable_reason"]
    # Pooled groups (household-weighted): equal for items and indicators.
    assert [p["group"] for p in collected["pooled"]] == [p["group"] for p in counted["pooled"]]
    for mine, theirs in zip(collected["pooled"], counted["pooled"], strict=True):
        close(mine["items"], theirs["items"], mine["group"])
        close(mine["indicators"], theirs["indicators"], mine["group"])
        assert mine["items"][0]["weighting"] == "households"
        for index in theirs["indices"]:
            assert index["index"] is None and "composite index" in index["unavailable_reason"]
    # A breakdown needs respondents: a clear 409 on the tallies side.
    body = problem(
        org_t.analyst.get(
            f"/api/v1/rounds/{world_t['rounds'][2023]}/results", params={"by": "kon"}
        ),
        409,
    )
    assert "breakdown" in body["detail"]
    ok(org_r.analyst.get(f"/api/v1/rounds/{world_r['rounds'][2023]}/results", params={"by": "kon"}))


TREND_QUERIES = [
    {"indicator": "andel_otrygga_kvall", "area": "norr"},
    {"item": "trygg_ute_kvall", "area": "vast"},
    {"indicator": "andel_utsatta_12m", "group": "organisation"},
    {"item": "trivsel", "group": "area_type:1"},
    {"indicator": "andel_ofta_oroliga", "group": "organisation"},
]


def _trend(org: Org, world: dict[str, Any], params: dict[str, str]) -> dict[str, Any]:
    query: dict[str, Any] = {k: v for k, v in params.items() if k != "area"}
    if "area" in params:
        query["area_id"] = world["areas"][params["area"]]
    result: dict[str, Any] = ok(org.analyst.get("/api/v1/results/trends", params=query))
    return result


def test_trends_across_a_tallies_round_match(worlds: Any) -> None:
    org_r, world_r, org_t, world_t = worlds
    for params in TREND_QUERIES:
        mine, theirs = _trend(org_r, world_r, params), _trend(org_t, world_t, params)
        assert [p["source"] for p in mine["points"]] == ["collected", "collected"]
        assert [p["source"] for p in theirs["points"]] == ["imported_tallies", "collected"]
        for a, b in zip(mine["points"], theirs["points"], strict=True):
            assert a["period"] == b["period"]
            for field in ("n", "estimate", "low", "high", "change", "weighting", "suppressed"):
                close(a[field], b[field], f"{params}.{b['period']}.{field}")
        # The change has its interval (Newcombe for an area's share) and it is the same one.
        assert theirs["points"][1]["change"] is not None, params
    # A composite index: the tallies point is unavailable, with the reason, and no change
    # is computed across it.
    series = _trend(org_t, world_t, {"index": "trygghetsindex", "area": "norr"})
    first, second = series["points"]
    assert first["source"] == "imported_tallies"
    assert first["estimate"] is None and first["suppressed"] is False
    assert "composite index" in first["unavailable_reason"]
    assert second["estimate"] is not None and second["unavailable_reason"] is None
    assert second["change"] is None


def test_the_evaluation_uses_the_tallies_round_as_before(worlds: Any) -> None:
    org_r, world_r, org_t, world_t = worlds
    for target in ({"indicator": "andel_otrygga_kvall"}, {"indicator": "andel_utsatta_12m"}):
        mine, theirs = (
            ok(
                org.analyst.get(
                    f"/api/v1/interventions/{world['intervention']}/evaluation", params=target
                )
            )
            for org, world in ((org_r, world_r), (org_t, world_t))
        )
        assert theirs["before_period"] == "2023" and theirs["after_period"] == "2024"
        assert mine["did"] is not None
        close(mine["did"], theirs["did"], "did")
        for a, b in zip(mine["cells"], theirs["cells"], strict=True):
            for field in ("role", "when", "n", "p", "low", "high", "weighting"):
                close(a[field], b[field], f"{b['role']}.{b['when']}.{field}")
            assert a["source"] == "collected"
            assert b["source"] == ("imported_tallies" if b["period"] == "2023" else "collected")
    _export_says_where_the_figures_came_from(org_t, world_t)


def _export_says_where_the_figures_came_from(org_t: Org, world_t: dict[str, Any]) -> None:
    response = org_t.analyst.get(f"/api/v1/rounds/{world_t['rounds'][2023]}/exports/results")
    assert response.status_code == 200, response.text
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert {row["source"] for row in rows} == {"imported_tallies"}
    index_rows = [row for row in rows if row["measure"] == "index"]
    assert index_rows and all(
        row["index"] == "" and "composite index" in row["unavailable_reason"] for row in index_rows
    )
    item_rows = [row for row in rows if row["measure"] == "item" and row["level"] == "area"]
    assert item_rows and all(row["unavailable_reason"] == "" for row in item_rows)
    assert any(row["n"] for row in item_rows)
    problem(
        org_t.analyst.get(
            f"/api/v1/rounds/{world_t['rounds'][2023]}/exports/results", params={"by": "kon"}
        ),
        409,
    )
