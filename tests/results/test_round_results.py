"""GET /rounds/{id}/results against figures computed independently from the raw answers."""

import json
import math
import random
from typing import Any

import numpy as np
import pytest
from statsmodels.stats.proportion import proportion_confint

from tests.conftest import Org
from tests.helpers import create_area, full_answers, ok, open_round, publish_standard
from tests.results.support import (
    INDICES,
    ITEMS,
    Z,
    area_of,
    by_key,
    composite_values,
    generate,
    indicator_reference,
    item_reference,
    results,
    t_interval,
    upload,
    wilson_ref,
)

APPROX = {"rel": 1e-9, "abs": 1e-12}


def _round_over(org: Org, areas: list[dict[str, Any]], period: str = "2026") -> int:
    from datetime import date, timedelta

    version = publish_standard(org.analyst)
    body = {
        "name": f"Round {period}",
        "questionnaire_version_id": version["id"],
        "period": period,
        "area_ids": [a["id"] for a in areas],
        "open_date": (date.today() - timedelta(days=5)).isoformat(),
        "close_date": (date.today() + timedelta(days=30)).isoformat(),
    }
    return int(ok(org.analyst.post("/api/v1/rounds", json=body), 201)["id"])


def _check_item(cell: dict[str, Any], answers: list[dict[str, Any]], key: str) -> None:
    ref = item_reference(answers, key)
    item = ITEMS[key]
    assert cell["suppressed"] is False
    assert cell["n"] == ref["n"]
    assert cell["non_substantive"] == ref["non_substantive"]
    for option in cell["distribution"]:
        assert option["count"] == ref["counts"][option["code"]]
        if option["substantive"]:
            assert option["share"] == pytest.approx(option["count"] / ref["n"], **APPROX)
        else:
            assert option["share"] is None
    if item.get("favourable"):
        low, high = wilson_ref(ref["x"], ref["n"])
        fav = cell["favourable"]
        assert fav["x"] == ref["x"]
        assert fav["p"] == pytest.approx(ref["x"] / ref["n"], **APPROX)
        assert fav["low"] == pytest.approx(low, rel=1e-9)
        assert fav["high"] == pytest.approx(high, rel=1e-9)
        assert fav["low_precision"] == ((high - low) / 2 > 0.10)
    else:
        assert cell["favourable"] is None
    if item["kind"] == "scale":
        mean, low, high = t_interval(ref["scores"])
        assert cell["mean"]["mean"] == pytest.approx(mean, rel=1e-9)
        assert cell["mean"]["sd"] == pytest.approx(float(ref["scores"].std(ddof=1)), rel=1e-9)
        assert cell["mean"]["low"] == pytest.approx(low, rel=1e-9)
        assert cell["mean"]["high"] == pytest.approx(high, rel=1e-9)
        scores = [o["score"] for o in item["options"] if o.get("score") is not None]
        lo, hi = min(scores), max(scores)
        assert cell["index"]["index"] == pytest.approx(100 * (mean - lo) / (hi - lo), rel=1e-9)
        assert cell["index"]["low"] == pytest.approx(100 * (low - lo) / (hi - lo), rel=1e-9)
        assert cell["index"]["high"] == pytest.approx(100 * (high - lo) / (hi - lo), rel=1e-9)
    else:
        assert cell["mean"] is None and cell["index"] is None


def test_every_figure_matches_an_independent_computation(org: Org) -> None:
    rng = random.Random(20260401)
    areas = [
        create_area(
            org.analyst,
            "norr",
            households=800,
            classifications=[{"year": 2024, "area_type": 2, "police_classification": "utsatt"}],
        ),
        create_area(
            org.analyst,
            "soder",
            households=300,
            classifications=[
                {"year": 2026, "area_type": 2, "police_classification": "none"},
                {"year": 2027, "area_type": 4},
            ],
        ),
        create_area(
            org.analyst,
            "vaster",
            households=1200,
            classifications=[{"year": 2025, "area_type": 4, "police_classification": "none"}],
        ),
    ]
    round_id = _round_over(org, areas)
    answers = {
        areas[0]["id"]: generate(rng, 260, tilt=0.8),
        areas[1]["id"]: generate(rng, 180),
        areas[2]["id"]: generate(rng, 410, tilt=-0.1),
    }
    for area_id, sets in answers.items():
        upload(org.integrator, round_id, area_id, sets)
    ok(
        org.analyst.post(
            f"/api/v1/rounds/{round_id}/invitations", json={"area_id": areas[2]["id"], "count": 500}
        ),
        201,
    )

    payload = results(org.analyst, round_id)
    assert payload["min_cell_size"] == 10 and payload["by"] is None
    for area in areas:
        got = area_of(payload, area["id"])
        sets = answers[area["id"]]
        items = by_key(got["items"])
        assert set(items) == {k for k, i in ITEMS.items() if i["kind"] != "text"}
        for key in items:
            _check_item(items[key], sets, key)
        for key, cell in by_key(got["indicators"]).items():
            x, n = indicator_reference(sets, key)
            low, high = wilson_ref(x, n)
            assert (cell["n"], cell["share"]["x"]) == (n, x)
            assert cell["share"]["low"] == pytest.approx(low, rel=1e-9)
            assert cell["share"]["high"] == pytest.approx(high, rel=1e-9)
        for key, cell in by_key(got["indices"]).items():
            values = composite_values(sets, key)
            mean, low, high = t_interval(values)
            assert cell["n"] == len(values)
            if INDICES[key]["orientation"] == "higher_is_worse":
                expected = (100 - 100 * mean, 100 - 100 * high, 100 - 100 * low)
            else:
                expected = (100 * mean, 100 * low, 100 * high)
            got_index = (cell["index"]["index"], cell["index"]["low"], cell["index"]["high"])
            assert got_index == pytest.approx(expected, rel=1e-9)
        assert got["responses"]["responses"] == len(sets)

    # Response rate: invitations where issued, else households.
    rate = {a["area_id"]: a["responses"] for a in payload["areas"]}
    assert rate[areas[0]["id"]]["rate_base"] == "households"
    assert rate[areas[0]["id"]]["response_rate"] == pytest.approx(260 / 800)
    assert rate[areas[2]["id"]]["rate_base"] == "invitations"
    assert rate[areas[2]["id"]]["response_rate"] == pytest.approx(410 / 500)
    assert rate[areas[2]["id"]]["invitations_issued"] == 500

    # Classification of the round's year (2026), else the latest earlier year.
    classes = {
        a["area_id"]: (a["area_type"], a["police_classification"], a["classification_year"])
        for a in payload["areas"]
    }
    assert classes[areas[0]["id"]] == (2, "utsatt", 2024)
    assert classes[areas[1]["id"]] == (2, "none", 2026)
    assert classes[areas[2]["id"]] == (4, "none", 2025)

    # Pooled groups: household-weighted per DESIGN.md.
    pooled = {g["group"]: g for g in payload["pooled"]}
    assert set(pooled) == {
        "organisation",
        "area_type:2",
        "area_type:4",
        "police:none",
        "police:utsatt",
    }
    assert pooled["area_type:2"]["area_ids"] == sorted([areas[0]["id"], areas[1]["id"]])

    def weighted(members: list[dict[str, Any]], x_n: Any) -> tuple[float, float, float]:
        total_h = sum(m["households"] for m in members)
        p = var = 0.0
        for m in members:
            x, n = x_n(answers[m["id"]])
            w = m["households"] / total_h
            p += w * x / n
            var += w * w * (x / n) * (1 - x / n) / n
        half = Z * math.sqrt(var)
        return p, max(0.0, p - half), min(1.0, p + half)

    for group, members in (("organisation", areas), ("area_type:2", areas[:2])):
        for key in ("trygg_ute_kvall", "trivsel"):
            cell = by_key(pooled[group]["items"])[key]
            ref = weighted(
                members,
                lambda sets, key=key: (
                    item_reference(sets, key)["x"],
                    item_reference(sets, key)["n"],
                ),
            )
            fav = cell["favourable"]
            assert (fav["p"], fav["low"], fav["high"]) == pytest.approx(ref, rel=1e-9)
            assert cell["weighting"] == "households" and cell["note"] is None
            assert cell["areas"] == len(members)
            assert cell["n"] == sum(item_reference(answers[m["id"]], key)["n"] for m in members)
        cell = by_key(pooled[group]["indicators"])["andel_otrygga_kvall"]
        ref = weighted(members, lambda sets: indicator_reference(sets, "andel_otrygga_kvall"))
        assert (cell["share"]["p"], cell["share"]["low"], cell["share"]["high"]) == pytest.approx(
            ref, rel=1e-9
        )

    # Pooled mean: Σ w·mean, Var = Σ w²·s²/n, normal interval.
    cell = by_key(pooled["organisation"]["items"])["trivsel"]
    total_h = sum(a["households"] for a in areas)
    mean = var = 0.0
    for a in areas:
        s = item_reference(answers[a["id"]], "trivsel")["scores"]
        w = a["households"] / total_h
        mean += w * s.mean()
        var += w * w * s.var(ddof=1) / len(s)
    assert cell["mean"]["mean"] == pytest.approx(mean, rel=1e-9)
    assert cell["mean"]["low"] == pytest.approx(mean - Z * math.sqrt(var), rel=1e-9)
    assert cell["index"]["index"] == pytest.approx(100 * (mean - 1) / 3, rel=1e-9)


def test_pools_fall_back_to_unweighted_and_say_so(org: Org) -> None:
    rng = random.Random(7)
    areas = [
        create_area(org.analyst, "a", households=400),
        create_area(org.analyst, "b", households=None),
    ]
    round_id = _round_over(org, areas)
    answers = {a["id"]: generate(rng, 60) for a in areas}
    for area_id, sets in answers.items():
        upload(org.integrator, round_id, area_id, sets)
    payload = results(org.analyst, round_id, item="trivsel")
    cell = by_key(payload["pooled"][0]["items"])["trivsel"]
    assert cell["weighting"] == "unweighted"
    assert "without a household count" in cell["note"]
    refs = [item_reference(answers[a["id"]], "trivsel") for a in areas]
    x, n = sum(r["x"] for r in refs), sum(r["n"] for r in refs)
    low, high = proportion_confint(x, n, method="wilson")
    assert (
        cell["favourable"]["p"],
        cell["favourable"]["low"],
        cell["favourable"]["high"],
    ) == pytest.approx((x / n, low, high), rel=1e-9)
    # The area without households has no response rate (no invitations, no households).
    b = area_of(payload, areas[1]["id"])["responses"]
    assert b["response_rate"] is None and b["rate_base"] is None and b["responses"] == 60


def test_a_worked_example_by_hand(org: Org) -> None:
    """12 respondents answer 'trivsel' (scores 1–4, favourable 3 and 4, 9 = Vet inte)."""
    survey_round = open_round(org.analyst, n_areas=1)
    codes = [4, 4, 4, 3, 3, 3, 3, 2, 2, 1, 9, 9]
    upload(
        org.integrator, survey_round.id, survey_round.area_ids[0], [{"trivsel": c} for c in codes]
    )
    cell = by_key(results(org.analyst, survey_round.id, item="trivsel")["areas"][0]["items"])[
        "trivsel"
    ]
    # n = 10 valid (two "Vet inte"); x = 7 favourable; p = 0.7.
    assert (cell["n"], cell["non_substantive"], cell["favourable"]["x"]) == (10, 2, 7)
    # Wilson: z² = 3.841459; centre = (0.7 + 3.841459/20)/(1 + 3.841459/10) = 0.644493;
    # half = 1.959964/1.384146 · √(0.7·0.3/10 + 3.841459/400) = 0.247715.
    assert cell["favourable"]["p"] == pytest.approx(0.7)
    assert cell["favourable"]["low"] == pytest.approx(0.396778, abs=2e-6)
    assert cell["favourable"]["high"] == pytest.approx(0.892209, abs=2e-6)
    assert cell["favourable"]["low_precision"] is True
    # Scores 4,4,4,3,3,3,3,2,2,1: mean 2.9, s² = (Σy² − 10·2.9²)/9 = (93 − 84.1)/9 = 0.988889,
    # s = 0.994429; t(0.975, 9) = 2.262157; half = 2.262157·0.994429/√10 = 0.711372.
    assert cell["mean"]["mean"] == pytest.approx(2.9)
    assert cell["mean"]["sd"] == pytest.approx(0.994429, abs=1e-6)
    assert cell["mean"]["low"] == pytest.approx(2.188628, abs=1e-6)
    assert cell["mean"]["high"] == pytest.approx(3.611372, abs=1e-6)
    # Index 0–100 over the score range 1–4: 100·(2.9 − 1)/3 = 63.333…
    assert cell["index"]["index"] == pytest.approx(63.333333, abs=1e-6)
    assert cell["index"]["low"] == pytest.approx(39.620947, abs=1e-6)
    assert [(o["code"], o["count"]) for o in cell["distribution"]] == [
        (1, 1),
        (2, 2),
        (3, 4),
        (4, 3),
        (9, 2),
    ]


def test_filters_and_validation(org: Org, make_org: Any) -> None:
    survey_round = open_round(org.analyst, n_areas=2)
    upload(org.integrator, survey_round.id, survey_round.area_ids[0], [full_answers()] * 12)
    payload = results(
        org.integrator,
        survey_round.id,
        area_id=[survey_round.area_ids[1]],
        item=["trivsel", "utsatt_brott_12m"],
        indicator="andel_utsatta_12m",
    )
    assert [a["area_id"] for a in payload["areas"]] == [survey_round.area_ids[1]]
    area = payload["areas"][0]
    assert [i["key"] for i in area["items"]] == ["utsatt_brott_12m", "trivsel"]
    assert [i["key"] for i in area["indicators"]] == ["andel_utsatta_12m"] and area["indices"] == []
    # Pools still cover the whole round.
    assert payload["pooled"][0]["area_ids"] == survey_round.area_ids
    assert by_key(payload["pooled"][0]["items"])["trivsel"]["n"] == 12

    for params, status in (
        ({"item": "fritext_plats"}, 422),
        ({"item": "nope"}, 422),
        ({"index": "nope"}, 422),
        ({"by": "trivsel"}, 422),
        ({"area_id": 999999}, 422),
        ({"item": "Bad Key"}, 422),
    ):
        response = org.analyst.get(f"/api/v1/rounds/{survey_round.id}/results", params=params)
        assert response.status_code == status, (params, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
    other = make_org()
    assert other.analyst.get(f"/api/v1/rounds/{survey_round.id}/results").status_code == 404


def test_multi_choice_counts_ticks_and_respondents(org: Org) -> None:
    survey_round = open_round(org.analyst, n_areas=1)
    sets = [{"utsatt_brott_12m": [1, 2, 3]}] * 5 + [{"utsatt_brott_12m": [6]}] * 7
    upload(org.integrator, survey_round.id, survey_round.area_ids[0], sets)
    area = results(org.analyst, survey_round.id)["areas"][0]
    cell = by_key(area["items"])["utsatt_brott_12m"]
    assert cell["n"] == 12
    assert {o["code"]: o["count"] for o in cell["distribution"]} == {
        1: 5,
        2: 5,
        3: 5,
        4: 0,
        5: 0,
        6: 7,
    }
    indicator = by_key(area["indicators"])["andel_utsatta_12m"]
    assert (indicator["n"], indicator["share"]["x"]) == (12, 5)  # respondents, not 15 ticks


# --- suppression -------------------------------------------------------------------------------


def _strip(cell: dict[str, Any], *keys: str) -> str:
    return json.dumps({k: v for k, v in cell.items() if k not in keys}, sort_keys=True)


def test_suppressed_cells_look_the_same_whatever_their_n(org: Org) -> None:
    rng = random.Random(3)
    survey_round = open_round(org.analyst, n_areas=2)
    small, empty = survey_round.area_ids
    # Area `small`: 9 answer trivsel (min − 1); area `empty`: 30 respond, nobody answers trivsel.
    upload(
        org.integrator,
        survey_round.id,
        small,
        [{"trivsel": rng.choice([1, 2, 3, 4])} for _ in range(9)],
    )
    empty_sets = generate(rng, 30)
    for s in empty_sets:
        s.pop("trivsel", None)
    upload(org.integrator, survey_round.id, empty, empty_sets)
    payload = results(org.analyst, survey_round.id, by="kon")
    a = by_key(area_of(payload, small)["items"])["trivsel"]
    b = by_key(area_of(payload, empty)["items"])["trivsel"]
    assert a["suppressed"] is True
    assert _strip(a) == _strip(b)  # identical, n = 9 or n = 0
    assert a == {
        "key": "trivsel",
        "kind": "scale",
        "suppressed": True,
        "n": None,
        "non_substantive": None,
        "distribution": None,
        "favourable": None,
        "mean": None,
        "index": None,
        "unavailable_reason": None,
        "breakdown": a["breakdown"],
    }
    groups = a["breakdown"] + b["breakdown"]
    assert len({_strip(g, "code") for g in groups}) == 1
    # An area with fewer respondents than the minimum shows no count either.
    assert area_of(payload, small)["responses"]["suppressed"] is True
    assert area_of(payload, small)["responses"]["responses"] is None
    # Its indices, indicators and pooled figures are suppressed the same way.
    assert all(i["suppressed"] for i in area_of(payload, small)["indicators"])
    pooled_trivsel = by_key(payload["pooled"][0]["items"])["trivsel"]
    assert pooled_trivsel["suppressed"] is True and pooled_trivsel["n"] is None


def test_min_cell_size_setting_applies(org: Org) -> None:
    survey_round = open_round(org.analyst, n_areas=1)
    upload(org.integrator, survey_round.id, survey_round.area_ids[0], [full_answers()] * 7)
    assert by_key(results(org.analyst, survey_round.id)["areas"][0]["items"])["trivsel"][
        "suppressed"
    ]
    ok(org.admin.patch("/api/v1/organisation", json={"min_cell_size": 5}))
    payload = results(org.analyst, survey_round.id)
    assert payload["min_cell_size"] == 5
    assert by_key(payload["areas"][0]["items"])["trivsel"]["n"] == 7


def test_breakdown_groups_match_and_resist_differencing(org: Org) -> None:
    rng = random.Random(11)
    survey_round = open_round(org.analyst, n_areas=1)
    area_id = survey_round.area_ids[0]
    sets = generate(rng, 140, skip=0.0)
    for s in sets:
        s["aldersgrupp"] = rng.choice([1, 2, 3])
    # Three respondents aged 80+ (code 5): the group an attacker wants to isolate.
    small = generate(rng, 3, skip=0.0)
    for s in small:
        s["aldersgrupp"] = 5
    # And a few who did not answer the age question (-1).
    missing = generate(rng, 25, skip=0.0)
    for s in missing:
        s.pop("aldersgrupp", None)
    upload(org.integrator, survey_round.id, area_id, sets + small + missing)
    everyone = sets + small + missing
    payload = results(org.analyst, survey_round.id, by="aldersgrupp")
    assert payload["breakdown_codes"] == [1, 2, 3, 4, 5, 9, -1]
    area = payload["areas"][0]
    groups_of = {
        1: [s for s in everyone if s.get("aldersgrupp") == 1],
        2: [s for s in everyone if s.get("aldersgrupp") == 2],
        3: [s for s in everyone if s.get("aldersgrupp") == 3],
        5: small,
        -1: missing,
    }
    for item in area["items"]:
        key = item["key"]
        shown = [g for g in item["breakdown"] if not g["suppressed"]]
        hidden = [g for g in item["breakdown"] if g["suppressed"]]
        for g in shown:
            _check_item(g, groups_of.get(g["code"], []), key)
        # The 80+ group (n ≤ 3) is always hidden, and never alone.
        assert 5 in {g["code"] for g in hidden}
        assert len(hidden) >= 2
        # Differencing attack: total minus the shown groups yields only the sum of the hidden
        # groups, which is never the small group's own value.
        derived_n = item["n"] - sum(g["n"] for g in shown)
        true_small = item_reference(small, key)["n"]
        true_hidden = sum(item_reference(groups_of.get(g["code"], []), key)["n"] for g in hidden)
        assert derived_n == true_hidden
        assert derived_n != true_small
        assert derived_n >= 10
        if item["distribution"]:
            for option in item["distribution"]:
                derived = option["count"] - sum(
                    next(o for o in g["distribution"] if o["code"] == option["code"])["count"]
                    for g in shown
                )
                assert derived == sum(
                    item_reference(groups_of.get(g["code"], []), key)["counts"][option["code"]]
                    for g in hidden
                )
    for indicator in area["indicators"]:
        hidden = [g for g in indicator["breakdown"] if g["suppressed"]]
        assert len(hidden) >= 2 and 5 in {g["code"] for g in hidden}
    for index in area["indices"]:
        hidden = [g for g in index["breakdown"] if g["suppressed"]]
        assert len(hidden) >= 2 and 5 in {g["code"] for g in hidden}
        for g in index["breakdown"]:
            if not g["suppressed"]:
                values = composite_values(groups_of[g["code"]], index["key"])
                assert g["n"] == len(values)
                assert g["index"]["index"] == pytest.approx(
                    100 - 100 * values.mean()
                    if index["orientation"] == "higher_is_worse"
                    else 100 * values.mean(),
                    rel=1e-9,
                )


def test_pooled_figures_never_reveal_a_suppressed_area(org: Org) -> None:
    rng = random.Random(5)
    survey_round = open_round(org.analyst, n_areas=3)
    big1, big2, tiny = survey_round.area_ids
    sets = {
        big1: generate(rng, 50, skip=0.0),
        big2: generate(rng, 40, skip=0.0),
        tiny: generate(rng, 6, skip=0.0),
    }
    for area_id, s in sets.items():
        upload(org.integrator, survey_round.id, area_id, s)
    payload = results(org.analyst, survey_round.id)
    assert by_key(area_of(payload, tiny)["items"])["trivsel"]["suppressed"]
    pooled = by_key(payload["pooled"][0]["items"])["trivsel"]
    shown_n = sum(by_key(area_of(payload, a)["items"])["trivsel"]["n"] for a in (big1, big2))
    # The pool is built from the shown areas only: pool − shown areas reveals nothing.
    assert pooled["n"] == shown_n
    assert pooled["areas"] == 2
    assert "1 of 3 areas left out" in pooled["note"]
    refs = [item_reference(sets[a], "trivsel") for a in (big1, big2)]
    w = np.array([500, 500]) / 1000  # helpers.create_area gives 500 households
    p = float(sum(wi * r["x"] / r["n"] for wi, r in zip(w, refs, strict=True)))
    assert pooled["favourable"]["p"] == pytest.approx(p, rel=1e-9)


def test_payload_conforms_to_the_published_schema(org: Org) -> None:
    """The API serialises plain data for speed; it must be exactly the RoundResults contract."""
    from survey_api.results.schemas import RoundResults

    rng = random.Random(17)
    survey_round = open_round(org.analyst, n_areas=2)
    for area_id in survey_round.area_ids:
        upload(org.integrator, survey_round.id, area_id, generate(rng, 40))
    for params in ({}, {"by": "kon"}, {"item": "trivsel", "by": "barn_i_hushallet"}):
        payload = results(org.analyst, survey_round.id, **params)
        assert RoundResults.model_validate(payload).model_dump(mode="json") == payload


def test_more_responses_than_invitations_are_a_share_of_households(org: Org) -> None:
    # 20 letters, but 30 answers (the poster's area link, paper uploads): a rate of 150 % of
    # the invitations would mislead, so the households are the base, or nothing without them.
    rng = random.Random(7)
    areas = [
        create_area(org.analyst, "med-hushall", households=600),
        create_area(org.analyst, "utan-hushall", households=None),
    ]
    round_id = _round_over(org, areas)
    for area in areas:
        upload(org.integrator, round_id, area["id"], generate(rng, 30))
        ok(
            org.analyst.post(
                f"/api/v1/rounds/{round_id}/invitations", json={"area_id": area["id"], "count": 20}
            ),
            201,
        )
    rate = {a["area_id"]: a["responses"] for a in results(org.analyst, round_id)["areas"]}
    assert rate[areas[0]["id"]]["rate_base"] == "households"
    assert rate[areas[0]["id"]]["response_rate"] == pytest.approx(30 / 600)
    assert rate[areas[1]["id"]]["rate_base"] is None
    assert rate[areas[1]["id"]]["response_rate"] is None
    assert rate[areas[1]["id"]]["invitations_issued"] == 20
