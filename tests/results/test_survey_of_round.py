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
from sqlalchemy import insert
from sqlalchemy.orm import Session, sessionmaker
from statsmodels.stats.proportion import confint_proportions_2indep

from survey_api.models import Response, SurveyRound, SurveyRoundArea
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


def make_round(
    org: Org, version_id: int, name: str, period: str, area_ids: list[int], opened: int = 5
) -> int:
    """A round open today, opened ``opened`` days ago."""
    body = {
        "name": name,
        "questionnaire_version_id": version_id,
        "period": period,
        "area_ids": area_ids,
        "open_date": (date.today() - timedelta(days=opened)).isoformat(),
        "close_date": (date.today() + timedelta(days=30)).isoformat(),
    }
    return int(ok(org.analyst.post("/api/v1/rounds", json=body), 201)["id"])


def shared_only(answers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Standard answer sets cut to the items the kundenkät shares (valid kundenkät answers)."""
    return [{k: v for k, v in a.items() if k in SHARED} for a in answers]


@pytest.fixture
def two_surveys(org: Org) -> dict[str, Any]:
    """A trygghetsmätning in 2025 and 2026 and a kundenkät in 2026, over the same two areas.

    The 2026 trygghetsmätning is created before the 2026 kundenkät, so its round id is lower,
    but the kundenkät opened earlier: the series puts the kundenkät first (time order)."""
    rng = random.Random(1212)
    trygg = publish_standard(org.analyst)
    kund = publish_standard(org.analyst, KUNDENKAT)
    area = create_area(org.analyst, "centrum")["id"]
    other = create_area(org.analyst, "hamnen")["id"]
    rounds: dict[str, int] = {}
    answers: dict[str, list[dict[str, Any]]] = {}
    for label, version, period, n, tilt, opened in (
        ("trygg-2025", trygg, "2025", 150, 1.2, 5),
        ("trygg-2026", trygg, "2026", 160, -0.1, 5),
        ("kund-2026", kund, "2026", 140, 0.6, 20),
    ):
        round_id = make_round(org, version["id"], f"Enkät {label}", period, [area, other], opened)
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


def newcombe_ref(before: dict[str, Any], after: dict[str, Any]) -> tuple[float, float]:
    """Newcombe's hybrid score interval of after − before, as statsmodels computes it."""
    low, high = confint_proportions_2indep(
        after["x"], after["n"], before["x"], before["n"], method="newcomb", compare="diff"
    )
    return float(low), float(high)


def test_a_trend_spans_both_surveys_in_time_order_and_can_keep_to_one(
    org: Org, two_surveys: dict[str, Any]
) -> None:
    rounds, answers, area = two_surveys["rounds"], two_surveys["answers"], two_surveys["area"]
    series = ok(trends(org, area_id=area, item="trygg_ute_kvall"))
    assert series["questionnaire"] is None
    # 2026: the kundenkät opened first, though its round id is the higher one.
    order = ["trygg-2025", "kund-2026", "trygg-2026"]
    assert [p["survey_round_id"] for p in series["points"]] == [rounds[o] for o in order]
    assert [(p["period"], p["questionnaire_key"]) for p in series["points"]] == [
        ("2025", TRYGG_KEY),
        ("2026", KUND_KEY),
        ("2026", TRYGG_KEY),
    ]
    assert series["points"][1]["questionnaire_name"] == KUNDENKAT["name"]
    # Identical definitions, so no break; but each survey is a segment of its own.
    assert series["breaks"] == []
    assert [p["segment"] for p in series["points"]] == [0, 1, 0]
    refs = [item_reference(answers[o], "trygg_ute_kvall") for o in order]
    for point, ref in zip(series["points"], refs, strict=True):
        low, high = wilson_ref(ref["x"], ref["n"])
        assert point["n"] == ref["n"]
        assert (point["estimate"], point["low"], point["high"]) == pytest.approx(
            (ref["x"] / ref["n"], low, high), rel=1e-9
        )
    # A change is against the previous point of the same survey: the kundenkät's first point
    # has none, and the 2026 trygghetsmätning is compared with 2025, not with the kundenkät.
    assert series["points"][0]["change"] is None
    assert series["points"][1]["change"] is None
    change = series["points"][2]["change"]
    assert change["delta"] == pytest.approx(
        refs[2]["x"] / refs[2]["n"] - refs[0]["x"] / refs[0]["n"]
    )
    assert (change["low"], change["high"]) == pytest.approx(
        newcombe_ref(refs[0], refs[2]), rel=1e-9
    )
    assert "previous point of the same survey" in series["method"]
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
    # Kept to one survey, the same change as in the series that spans both.
    assert trygg["points"][1]["change"] == change
    assert [p["segment"] for p in trygg["points"]] == [0, 0]

    # A shared indicator and index, for the whole organisation, also span both surveys.
    group = ok(trends(org, group="organisation", indicator="andel_otrygga_kvall"))
    assert [p["questionnaire_key"] for p in group["points"]] == [TRYGG_KEY, KUND_KEY, TRYGG_KEY]
    assert [p["change"] is None for p in group["points"]] == [True, True, False]
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


# The demo's calendar: a trygghetsmätning every spring, a kundenkät every autumn. Per round:
# (survey, period, open month, of N answers how many feel safe out late (code 1, else 3)).
N_CALENDAR = 60
CALENDAR = [
    ("kund-2024", KUND_KEY, "2024", 10, 40),  # created first: the lowest round id of 2024
    ("trygg-2023", TRYGG_KEY, "2023", 3, 30),
    ("trygg-2024", TRYGG_KEY, "2024", 3, 41),
    ("trygg-2026", TRYGG_KEY, "2026", 3, 45),
    ("kund-2026", KUND_KEY, "2026", 10, 20),  # a new kundenkät version: favourable codes differ
]


def test_points_in_a_period_come_in_time_order_and_changes_and_breaks_stay_in_their_survey(
    org: Org, db: sessionmaker[Session]
) -> None:
    trygg = publish_standard(org.analyst)
    kund = publish_standard(org.analyst, KUNDENKAT)
    changed = json.loads(json.dumps(KUNDENKAT))
    next(i for i in changed["items"] if i["key"] == "trygg_ute_kvall")["favourable"] = [1]
    qid = kund["questionnaire_id"]
    ok(org.analyst.post(f"/api/v1/questionnaires/{qid}/versions"), 201)
    ok(org.analyst.put(f"/api/v1/questionnaires/{qid}/versions/2", json=changed))
    kund2 = ok(org.analyst.post(f"/api/v1/questionnaires/{qid}/versions/2/publish"))
    area = create_area(org.analyst, "hjallbo")["id"]
    versions = {"trygg": trygg["id"], "kund": kund["id"], "kund-2026": kund2["id"]}
    ids: dict[str, int] = {}
    with db() as session:
        for label, _, period, month, safe in CALENDAR:
            year = int(period)
            survey_round = SurveyRound(
                organisation_id=org.id,
                questionnaire_version_id=versions.get(label, versions[label.split("-")[0]]),
                name=label,
                period=period,
                open_date=date(year, month, 1),
                close_date=date(year, month, 28),
            )
            session.add(survey_round)
            session.flush()
            ids[label] = survey_round.id
            session.add(SurveyRoundArea(survey_round_id=survey_round.id, area_id=area))
            session.execute(
                insert(Response),
                [
                    {
                        "survey_round_id": survey_round.id,
                        "area_id": area,
                        "language": "sv",
                        "channel": "paper",
                        "entry": "api",
                        "submitted_date": date(year, month, 15),
                        "answers": {"trygg_ute_kvall": 1 if i < safe else 3},
                    }
                    for i in range(N_CALENDAR)
                ],
            )
        session.commit()

    series = ok(trends(org, area_id=area, item="trygg_ute_kvall"))
    points = {p["survey_round_id"]: p for p in series["points"]}
    # 2024: the spring trygghetsmätning before the autumn kundenkät, though the kundenkät's key
    # sorts first and its round id is lower.
    order = ["trygg-2023", "trygg-2024", "kund-2024", "trygg-2026", "kund-2026"]
    assert [p["survey_round_id"] for p in series["points"]] == [ids[o] for o in order]
    safe = {label: {"x": x, "n": N_CALENDAR} for label, _, _, _, x in CALENDAR}
    # Changes within the trygghetsmätning only: 2024 against 2023, 2026 against 2024 (the
    # kundenkät in between is not what 2026 is compared with).
    for before, after in (("trygg-2023", "trygg-2024"), ("trygg-2024", "trygg-2026")):
        change = points[ids[after]]["change"]
        p1, p2 = safe[before]["x"] / N_CALENDAR, safe[after]["x"] / N_CALENDAR
        assert change["delta"] == pytest.approx(p2 - p1, abs=1e-12)
        assert (change["low"], change["high"]) == pytest.approx(
            newcombe_ref(safe[before], safe[after]), rel=1e-9
        )
        assert change["significant"] == (change["low"] > 0 or change["high"] < 0)
    assert points[ids["trygg-2023"]]["change"] is None
    # The kundenkät's first point starts its series; its new version breaks only its series.
    assert points[ids["kund-2024"]]["change"] is None
    assert points[ids["kund-2026"]]["change"] is None
    [brk] = series["breaks"]
    assert (brk["survey_round_id"], brk["period"]) == (ids["kund-2026"], "2026")
    assert "trygg_ute_kvall" in brk["reason"]
    assert [points[ids[o]]["segment"] for o in order] == [0, 0, 1, 0, 2]
    # Kept to the kundenkät, the break is the same and its segments are 0 and 1.
    kund_only = ok(trends(org, area_id=area, item="trygg_ute_kvall", questionnaire=KUND_KEY))
    assert [p["segment"] for p in kund_only["points"]] == [0, 1]
    assert kund_only["breaks"] == series["breaks"]
