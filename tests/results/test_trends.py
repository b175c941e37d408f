"""GET /results/trends: series, changes with their intervals, suppression and breaks."""

import math
import random
from datetime import date, timedelta
from typing import Any

import pytest
from scipy import stats
from statsmodels.stats.proportion import confint_proportions_2indep

from tests.conftest import Org
from tests.helpers import create_area, ok, publish_standard, standard_definition
from tests.results.support import (
    Z,
    composite_values,
    generate,
    indicator_reference,
    item_reference,
    upload,
    wilson_ref,
)


def make_round(org: Org, version_id: int, period: str, area_ids: list[int]) -> int:
    body = {
        "name": f"Round {period}",
        "questionnaire_version_id": version_id,
        "period": period,
        "area_ids": area_ids,
        "open_date": (date.today() - timedelta(days=5)).isoformat(),
        "close_date": (date.today() + timedelta(days=30)).isoformat(),
    }
    return int(ok(org.analyst.post("/api/v1/rounds", json=body), 201)["id"])


def trends(org: Org, **params: Any) -> dict[str, Any]:
    return ok(org.analyst.get("/api/v1/results/trends", params=params))


def test_area_share_series_with_newcombe_changes(org: Org) -> None:
    rng = random.Random(42)
    version = publish_standard(org.analyst)
    area = create_area(org.analyst, "centrum")
    other = create_area(org.analyst, "hamnen")
    data: list[list[dict[str, Any]]] = []
    # Registered out of period order on purpose: the series is ordered by period.
    for period, n, tilt in (("2025", 220, -0.12), ("2024", 260, 1.5), ("2026", 240, -0.1)):
        round_id = make_round(org, version["id"], period, [area["id"], other["id"]])
        sets = generate(rng, n, tilt=tilt)
        upload(org.integrator, round_id, area["id"], sets)
        upload(org.integrator, round_id, other["id"], generate(rng, 30))
        data.append(sets)
    by_period = {"2024": data[1], "2025": data[0], "2026": data[2]}

    series = trends(org, area_id=area["id"], item="trygg_ute_kvall")
    assert [p["period"] for p in series["points"]] == ["2024", "2025", "2026"]
    assert series["breaks"] == [] and series["target"] == "item" and series["area_id"] == area["id"]
    previous = None
    for point in series["points"]:
        ref = item_reference(by_period[point["period"]], "trygg_ute_kvall")
        low, high = wilson_ref(ref["x"], ref["n"])
        assert point["statistic"] == "favourable_share" and point["segment"] == 0
        assert point["n"] == ref["n"]
        assert (point["estimate"], point["low"], point["high"]) == pytest.approx(
            (ref["x"] / ref["n"], low, high), rel=1e-9
        )
        if previous is None:
            assert point["change"] is None
        else:
            # statsmodels' diff is p1 − p2 for (count1, nobs1, count2, nobs2): later first.
            c_low, c_high = confint_proportions_2indep(
                ref["x"], ref["n"], previous["x"], previous["n"], method="newcomb", compare="diff"
            )
            change = point["change"]
            assert change["method"] == "newcombe"
            assert change["delta"] == pytest.approx(
                ref["x"] / ref["n"] - previous["x"] / previous["n"]
            )
            assert (change["low"], change["high"]) == pytest.approx((c_low, c_high), rel=1e-9)
            assert change["significant"] == (c_low > 0 or c_high < 0)
        previous = ref
    # The 2024 → 2025 change is large (tilted answers): significant.
    assert series["points"][1]["change"]["significant"] is True

    # An indicator's series.
    series = trends(org, area_id=area["id"], indicator="andel_otrygga_kvall")
    for point in series["points"]:
        x, n = indicator_reference(by_period[point["period"]], "andel_otrygga_kvall")
        assert (point["n"], point["estimate"]) == (n, pytest.approx(x / n))
        assert point["statistic"] == "indicator_share"


def test_index_series_uses_welch(org: Org) -> None:
    rng = random.Random(8)
    version = publish_standard(org.analyst)
    area = create_area(org.analyst, "berga")
    data = []
    for period, tilt in (("2025-H1", 0.0), ("2025-H2", 1.0)):
        round_id = make_round(org, version["id"], period, [area["id"]])
        sets = generate(rng, 150, tilt=tilt)
        upload(org.integrator, round_id, area["id"], sets)
        data.append(sets)
    for key, sign in (("trygghetsindex", 1), ("problemindex", -1)):
        series = trends(org, area_id=area["id"], index=key)
        before, after = (composite_values(sets, key) for sets in data)
        for point, values in zip(series["points"], (before, after), strict=True):
            assert point["statistic"] == "composite_index" and point["n"] == len(values)
            expected = 100 * values.mean() if sign > 0 else 100 - 100 * values.mean()
            assert point["estimate"] == pytest.approx(expected, rel=1e-9)
        welch = stats.ttest_ind(after, before, equal_var=False)
        ci = welch.confidence_interval(0.95)
        change = series["points"][1]["change"]
        assert change["method"] == "welch"
        assert change["delta"] == pytest.approx(
            sign * 100 * (after.mean() - before.mean()), rel=1e-9
        )
        expected_ci = sorted((sign * 100 * ci.low, sign * 100 * ci.high))
        assert (change["low"], change["high"]) == pytest.approx(expected_ci, rel=1e-9)

    # A scale item without favourable codes would use its index; trivsel has them: share.
    assert (
        trends(org, area_id=area["id"], item="trivsel")["points"][0]["statistic"]
        == "favourable_share"
    )


def test_group_series_is_household_weighted(org: Org) -> None:
    rng = random.Random(9)
    version = publish_standard(org.analyst)
    areas = [
        create_area(
            org.analyst, "a1", households=900, classifications=[{"year": 2020, "area_type": 1}]
        ),
        create_area(
            org.analyst, "a2", households=300, classifications=[{"year": 2020, "area_type": 1}]
        ),
        create_area(
            org.analyst, "a3", households=600, classifications=[{"year": 2020, "area_type": 3}]
        ),
    ]
    data: dict[str, dict[int, list[dict[str, Any]]]] = {}
    for period, tilt in (("2024", 0.0), ("2025", 0.8)):
        round_id = make_round(org, version["id"], period, [a["id"] for a in areas])
        data[period] = {}
        for a in areas:
            sets = generate(rng, rng.randint(60, 120), tilt=tilt)
            upload(org.integrator, round_id, a["id"], sets)
            data[period][a["id"]] = sets

    def pooled(period: str, members: list[dict[str, Any]]) -> tuple[float, float]:
        total_h = sum(m["households"] for m in members)
        p = var = 0.0
        for m in members:
            x, n = indicator_reference(data[period][m["id"]], "andel_ofta_oroliga")
            w = m["households"] / total_h
            p += w * x / n
            var += w * w * (x / n) * (1 - x / n) / n
        return p, var

    for group, members in (("organisation", areas), ("area_type:1", areas[:2])):
        series = trends(org, group=group, indicator="andel_ofta_oroliga")
        assert series["group"] == group and len(series["points"]) == 2
        (p1, v1), (p2, v2) = pooled("2024", members), pooled("2025", members)
        for point, (p, v) in zip(series["points"], ((p1, v1), (p2, v2)), strict=True):
            assert point["weighting"] == "households" and point["areas"] == len(members)
            assert (point["estimate"], point["low"], point["high"]) == pytest.approx(
                (p, max(0, p - Z * math.sqrt(v)), min(1, p + Z * math.sqrt(v))), rel=1e-9
            )
        change = series["points"][1]["change"]
        assert change["method"] == "normal"
        half = Z * math.sqrt(v1 + v2)
        assert (change["delta"], change["low"], change["high"]) == pytest.approx(
            (p2 - p1, p2 - p1 - half, p2 - p1 + half), rel=1e-9
        )
    # A police group no area belongs to has no points.
    assert trends(org, group="police:risk", indicator="andel_ofta_oroliga")["points"] == []


def test_series_breaks_when_an_items_options_change(org: Org) -> None:
    rng = random.Random(10)
    v1 = publish_standard(org.analyst)
    changed = standard_definition()
    item = next(i for i in changed["items"] if i["key"] == "trygg_ute_kvall")
    item["options"] = [o for o in item["options"] if o["code"] != 5]  # drop "avstår från att gå ut"
    changed["indicators"] = [i for i in changed["indicators"] if i["key"] != "andel_avstar_ga_ut"]
    next(i for i in changed["indicators"] if i["key"] == "andel_otrygga_kvall")["codes"] = [3, 4]
    qid = v1["questionnaire_id"]
    ok(org.analyst.post(f"/api/v1/questionnaires/{qid}/versions"), 201)
    ok(org.analyst.put(f"/api/v1/questionnaires/{qid}/versions/2", json=changed))
    v2 = ok(org.analyst.post(f"/api/v1/questionnaires/{qid}/versions/2/publish"))
    area = create_area(org.analyst, "kvarnby")
    rounds = {}
    for period, version in (("2024", v1), ("2025", v1), ("2026", v2)):
        rounds[period] = make_round(org, version["id"], period, [area["id"]])
        sets = generate(rng, 80)
        if version is v2:
            for s in sets:
                if s.get("trygg_ute_kvall") == 5:
                    s["trygg_ute_kvall"] = 4
        upload(org.integrator, rounds[period], area["id"], sets)

    series = trends(org, area_id=area["id"], item="trygg_ute_kvall")
    assert [(p["period"], p["segment"]) for p in series["points"]] == [
        ("2024", 0),
        ("2025", 0),
        ("2026", 1),
    ]
    assert series["points"][1]["change"] is not None
    assert series["points"][2]["change"] is None
    assert len(series["breaks"]) == 1
    brk = series["breaks"][0]
    assert (brk["period"], brk["survey_round_id"]) == ("2026", rounds["2026"])
    assert "codes removed: 5" in brk["reason"] and "trygg_ute_kvall" in brk["reason"]

    for params in ({"index": "trygghetsindex"}, {"indicator": "andel_otrygga_kvall"}):
        assert [b["period"] for b in trends(org, area_id=area["id"], **params)["breaks"]] == [
            "2026"
        ]
    assert (
        "indicator codes 3, 4, 5 → 3, 4"
        in trends(org, area_id=area["id"], indicator="andel_otrygga_kvall")["breaks"][0]["reason"]
    )
    # Unchanged items keep one series; an indicator that no longer exists stops.
    trivsel = trends(org, area_id=area["id"], item="trivsel")
    assert trivsel["breaks"] == [] and all(p["change"] for p in trivsel["points"][1:])
    assert [
        p["period"]
        for p in trends(org, area_id=area["id"], indicator="andel_avstar_ga_ut")["points"]
    ] == ["2024", "2025"]


def test_suppressed_points_hide_figures_and_changes(org: Org) -> None:
    rng = random.Random(12)
    version = publish_standard(org.analyst)
    area = create_area(org.analyst, "liten")
    for period, n in (("2024", 40), ("2025", 6), ("2026", 40)):
        upload(
            org.integrator,
            make_round(org, version["id"], period, [area["id"]]),
            area["id"],
            generate(rng, n, skip=0.0),
        )
    points = trends(org, area_id=area["id"], item="trivsel")["points"]
    hidden = points[1]
    assert hidden["suppressed"] is True
    assert all(
        hidden[k] is None for k in ("n", "estimate", "low", "high", "change", "low_precision")
    )
    assert points[2]["change"] is None  # no change against a hidden point
    assert points[0]["suppressed"] is False and points[2]["suppressed"] is False


def test_trend_validation(org: Org, make_org: Any) -> None:
    version = publish_standard(org.analyst)
    area = create_area(org.analyst, "x")
    make_round(org, version["id"], "2026", [area["id"]])
    bad = [
        {"item": "trivsel"},  # neither area nor group
        {"item": "trivsel", "area_id": area["id"], "group": "organisation"},
        {"area_id": area["id"]},  # no target
        {"area_id": area["id"], "item": "trivsel", "index": "trygghetsindex"},
        {"group": "area_type:9", "item": "trivsel"},
        {"group": "police:elsewhere", "item": "trivsel"},
        {"area_id": area["id"], "item": "fritext_plats"},
    ]
    for params in bad:
        response = org.analyst.get("/api/v1/results/trends", params=params)
        assert response.status_code == 422, (params, response.text)
    assert (
        org.analyst.get(
            "/api/v1/results/trends", params={"area_id": area["id"], "item": "nope"}
        ).status_code
        == 404
    )
    other = make_org()
    assert (
        other.analyst.get(
            "/api/v1/results/trends", params={"area_id": area["id"], "item": "trivsel"}
        ).status_code
        == 404
    )
    # Every role may read.
    for client in (org.admin, org.integrator):
        ok(
            client.get(
                "/api/v1/results/trends", params={"group": "organisation", "item": "trivsel"}
            )
        )
