"""Every result says which survey (questionnaire) it comes from, and a trend can keep to one.

Two standard questionnaires run in the same period: the trygghetsmätning and the kundenkät,
which reuses trygg_ute_kvall and others by key with identical definitions (issue 12).
"""

import json
import random
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from statsmodels.stats.proportion import confint_proportions_2indep

from tests.conftest import Org
from tests.helpers import STANDARD, create_area, ok, publish_standard
from tests.results.support import generate, item_reference, upload, wilson_ref

KUNDENKAT = json.loads(
    (Path(__file__).resolve().parents[2] / "src/survey_api/data/kundenkat-standard.json").read_text(
        encoding="utf-8"
    )
)
TRYGG_KEY, KUND_KEY = STANDARD["key"], KUNDENKAT["key"]
# Items the kundenkät asks exactly as the trygghetsmätning does (same key, same definition).
SHARED = [
    "trygg_ute_kvall",
    "trygg_gemensamma_utr",
    "trygg_bostad",
    "oro_brott_omrade",
    "trivsel",
    "sammanhallning",
    "bo_kvar",
]


def make_round(org: Org, version_id: int, name: str, period: str, area_ids: list[int]) -> int:
    body = {
        "name": name,
        "questionnaire_version_id": version_id,
        "period": period,
        "area_ids": area_ids,
        "open_date": (date.today() - timedelta(days=5)).isoformat(),
        "close_date": (date.today() + timedelta(days=30)).isoformat(),
    }
    return int(ok(org.analyst.post("/api/v1/rounds", json=body), 201)["id"])


def shared_only(answers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Standard answer sets cut to the items the kundenkät shares (valid kundenkät answers)."""
    return [{k: v for k, v in a.items() if k in SHARED} for a in answers]


@pytest.fixture
def two_surveys(org: Org) -> dict[str, Any]:
    """A trygghetsmätning in 2025 and 2026 and a kundenkät in 2026, over the same two areas.

    The 2026 trygghetsmätning is created before the 2026 kundenkät, so its round id is lower:
    the series must still put the kundenkät first (period, then questionnaire key)."""
    rng = random.Random(1212)
    trygg = publish_standard(org.analyst)
    kund = publish_standard(org.analyst, KUNDENKAT)
    area = create_area(org.analyst, "centrum")["id"]
    other = create_area(org.analyst, "hamnen")["id"]
    rounds: dict[str, int] = {}
    answers: dict[str, list[dict[str, Any]]] = {}
    for label, version, period, n, tilt in (
        ("trygg-2025", trygg, "2025", 150, 1.2),
        ("trygg-2026", trygg, "2026", 160, -0.1),
        ("kund-2026", kund, "2026", 140, 0.6),
    ):
        round_id = make_round(org, version["id"], f"Enkät {label}", period, [area, other])
        sets = generate(rng, n, tilt=tilt)
        if label.startswith("kund"):
            sets = shared_only(sets)
        upload(org.integrator, round_id, area, sets)
        upload(org.integrator, round_id, other, generate(rng, 12) if label[0] == "t" else [])
        rounds[label], answers[label] = round_id, sets
    return {
        "area": area,
        "rounds": rounds,
        "answers": answers,
        "versions": {TRYGG_KEY: trygg["id"], KUND_KEY: kund["id"]},
    }


def questionnaire_ids(org: Org) -> dict[str, int]:
    listed = ok(org.analyst.get("/api/v1/questionnaires"))["items"]
    return {q["key"]: q["id"] for q in listed}


def test_round_results_and_round_reads_name_their_survey(
    org: Org, two_surveys: dict[str, Any]
) -> None:
    ids = questionnaire_ids(org)
    kund_round = two_surveys["rounds"]["kund-2026"]
    url = f"/api/v1/rounds/{kund_round}/results"
    first = ok(org.analyst.get(url))
    assert first["questionnaire"] == {
        "id": ids[KUND_KEY],
        "key": KUND_KEY,
        "name": KUNDENKAT["name"],
    }
    assert first["questionnaire_version_id"] == two_surveys["versions"][KUND_KEY]
    # The second read is served from the payload cache: the same survey, the same payload.
    second = ok(org.analyst.get(url))
    assert {**second, "as_of": None} == {**first, "as_of": None}
    filtered = ok(org.analyst.get(url, params={"item": "trygg_ute_kvall"}))
    assert filtered["questionnaire"]["key"] == KUND_KEY

    trygg_round = two_surveys["rounds"]["trygg-2026"]
    read = ok(org.analyst.get(f"/api/v1/rounds/{trygg_round}"))
    assert read["questionnaire"] == {
        "id": ids[TRYGG_KEY],
        "key": TRYGG_KEY,
        "name": STANDARD["name"],
    }
    assert read["questionnaire_id"] == ids[TRYGG_KEY]

    every = ok(org.analyst.get("/api/v1/rounds"))["items"]
    assert {r["id"]: r["questionnaire"]["key"] for r in every} == {
        two_surveys["rounds"]["trygg-2025"]: TRYGG_KEY,
        trygg_round: TRYGG_KEY,
        kund_round: KUND_KEY,
    }
    only = ok(org.analyst.get("/api/v1/rounds", params={"questionnaire": KUND_KEY}))
    assert [r["id"] for r in only["items"]] == [kund_round] and only["total"] == 1
    unknown = org.analyst.get("/api/v1/rounds", params={"questionnaire": "hyresgastenkat"})
    assert unknown.status_code == 404
    assert unknown.headers["content-type"].startswith("application/problem+json")
    assert "hyresgastenkat" in unknown.json()["detail"]
    assert KUND_KEY in unknown.json()["detail"] and TRYGG_KEY in unknown.json()["detail"]
    bad = org.analyst.get("/api/v1/rounds", params={"questionnaire": "Not a key!"})
    assert bad.status_code == 422


def trends(org: Org, **params: Any) -> Any:
    return org.analyst.get("/api/v1/results/trends", params=params)


def test_a_trend_spans_both_surveys_in_a_fixed_order_and_can_keep_to_one(
    org: Org, two_surveys: dict[str, Any]
) -> None:
    rounds, answers, area = two_surveys["rounds"], two_surveys["answers"], two_surveys["area"]
    series = ok(trends(org, area_id=area, item="trygg_ute_kvall"))
    assert series["questionnaire"] is None
    order = ["trygg-2025", "kund-2026", "trygg-2026"]
    assert [p["survey_round_id"] for p in series["points"]] == [rounds[o] for o in order]
    assert [(p["period"], p["questionnaire_key"]) for p in series["points"]] == [
        ("2025", TRYGG_KEY),
        ("2026", KUND_KEY),
        ("2026", TRYGG_KEY),
    ]
    assert series["points"][1]["questionnaire_name"] == KUNDENKAT["name"]
    # Identical definitions: one comparable series, no break between the surveys.
    assert series["breaks"] == [] and {p["segment"] for p in series["points"]} == {0}
    refs = [item_reference(answers[o], "trygg_ute_kvall") for o in order]
    for point, ref in zip(series["points"], refs, strict=True):
        low, high = wilson_ref(ref["x"], ref["n"])
        assert point["n"] == ref["n"]
        assert (point["estimate"], point["low"], point["high"]) == pytest.approx(
            (ref["x"] / ref["n"], low, high), rel=1e-9
        )
    # Each change is against the previous point, whichever survey that point comes from.
    assert series["points"][0]["change"] is None
    for i in (1, 2):
        before, after = refs[i - 1], refs[i]
        c_low, c_high = confint_proportions_2indep(
            after["x"], after["n"], before["x"], before["n"], method="newcomb", compare="diff"
        )
        change = series["points"][i]["change"]
        assert change["delta"] == pytest.approx(after["x"] / after["n"] - before["x"] / before["n"])
        assert (change["low"], change["high"]) == pytest.approx((c_low, c_high), rel=1e-9)
    assert "independent samples" in series["method"]
    # The same series again: the same order (deterministic).
    assert ok(trends(org, area_id=area, item="trygg_ute_kvall"))["points"] == series["points"]

    kund = ok(trends(org, area_id=area, item="trygg_ute_kvall", questionnaire=KUND_KEY))
    assert kund["questionnaire"] == KUND_KEY
    assert [p["survey_round_id"] for p in kund["points"]] == [rounds["kund-2026"]]
    assert kund["points"][0]["change"] is None

    trygg = ok(trends(org, area_id=area, item="trygg_ute_kvall", questionnaire=TRYGG_KEY))
    assert [p["survey_round_id"] for p in trygg["points"]] == [
        rounds["trygg-2025"],
        rounds["trygg-2026"],
    ]
    assert {p["questionnaire_key"] for p in trygg["points"]} == {TRYGG_KEY}
    c_low, c_high = confint_proportions_2indep(
        refs[2]["x"], refs[2]["n"], refs[0]["x"], refs[0]["n"], method="newcomb", compare="diff"
    )
    assert (trygg["points"][1]["change"]["low"], trygg["points"][1]["change"]["high"]) == (
        pytest.approx((c_low, c_high), rel=1e-9)
    )

    # A shared indicator and index, for the whole organisation, also span both surveys.
    group = ok(trends(org, group="organisation", indicator="andel_otrygga_kvall"))
    assert [p["questionnaire_key"] for p in group["points"]] == [TRYGG_KEY, KUND_KEY, TRYGG_KEY]
    index = ok(trends(org, area_id=area, index="trygghetsindex", questionnaire=KUND_KEY))
    assert [p["survey_round_id"] for p in index["points"]] == [rounds["kund-2026"]]


def test_the_questionnaire_filter_s_errors(
    org: Org, two_surveys: dict[str, Any], make_org: Callable[[], Org]
) -> None:
    area = two_surveys["area"]
    unknown = trends(org, area_id=area, item="trygg_ute_kvall", questionnaire="hyresgastenkat")
    assert unknown.status_code == 404
    assert unknown.headers["content-type"].startswith("application/problem+json")
    assert "no questionnaire of yours has key 'hyresgastenkat'" in unknown.json()["detail"]
    # An item only the trygghetsmätning asks, kept to the kundenkät: nothing to show.
    absent = trends(org, area_id=area, item="problem_klotter", questionnaire=KUND_KEY)
    assert absent.status_code == 404
    assert absent.json()["detail"] == (
        f"no survey round of yours has item 'problem_klotter' for area {area} in "
        f"questionnaire '{KUND_KEY}'"
    )
    malformed = trends(org, area_id=area, item="trygg_ute_kvall", questionnaire="../etc")
    assert malformed.status_code == 422
    assert ok(trends(org, area_id=area, item="problem_klotter", questionnaire=TRYGG_KEY))
    # Another organisation's questionnaires are not this one's: its keys are unknown here.
    stranger = make_org()
    foreign = stranger.analyst.get(
        "/api/v1/results/trends",
        params={"group": "organisation", "item": "trygg_ute_kvall", "questionnaire": KUND_KEY},
    )
    assert foreign.status_code == 404
    assert "yours: none" in foreign.json()["detail"]
