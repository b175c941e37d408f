"""GET /areas/{id}/overview: one area, one period, every survey with a round there side by side.

Two questionnaires (the standard trygghetsmätning under two keys) have rounds in 2026 (one of
them twice: a re-run) and one in 2025. The overview's figures are checked against the rounds'
own results for the area, and one share independently against statsmodels' Wilson interval.
"""

import json
import random
import time
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import STANDARD_PATH, Org
from tests.helpers import STANDARD, create_area, ok, publish_standard, standard_definition
from tests.results.support import (
    area_of,
    by_key,
    generate,
    indicator_reference,
    results,
    upload,
    wilson_ref,
)

OTHER_KEY = "kundenkat-test"


def _other_definition() -> dict[str, Any]:
    """A second questionnaire: the standard one under another key and name, with fewer
    indicators (so the two surveys differ)."""
    definition = standard_definition()
    definition["key"] = OTHER_KEY
    definition["name"] = {"sv": "Kundenkät (test)", "en": "Customer survey (test)", "ar": "استبيان"}
    definition["indicators"] = definition["indicators"][:3]
    return definition


def _round(client: httpx.Client, name: str, version_id: int, period: str, areas: list[int]) -> int:
    body = {
        "name": name,
        "questionnaire_version_id": version_id,
        "period": period,
        "area_ids": areas,
        "open_date": (date.today() - timedelta(days=5)).isoformat(),
        "close_date": (date.today() + timedelta(days=30)).isoformat(),
    }
    return int(ok(client.post("/api/v1/rounds", json=body), 201)["id"])


@dataclass
class World:
    big: int  # answered well in every 2026 round
    small: int  # 3 answers in the standard round: suppressed there; 12 in the other survey
    silent: int  # in the standard 2026 round, no answers at all
    elsewhere: int  # only in the 2025 round
    standard: int  # round ids
    rerun: int
    other: int
    earlier: int
    answers: dict[tuple[int, int], list[dict[str, Any]]]  # (round, area) -> answer sets


def _world(org: Org) -> World:
    client = org.analyst
    standard_version = publish_standard(client)["id"]
    other_version = publish_standard(client, _other_definition())["id"]
    big, small, silent, elsewhere = (
        create_area(client, code)["id"] for code in ("stora", "lilla", "tysta", "annat")
    )
    standard = _round(client, "Trygghet 2026", standard_version, "2026", [big, small, silent])
    rerun = _round(client, "Trygghet 2026, omtag", standard_version, "2026", [big])
    other = _round(client, "Kundenkät 2026", other_version, "2026", [big, small])
    earlier = _round(client, "Trygghet 2025", standard_version, "2025", [big, elsewhere])
    rng = random.Random(12)
    plan = {
        (standard, big): generate(rng, 60),
        (standard, small): generate(rng, 3),
        (rerun, big): generate(rng, 25, tilt=0.5),
        (other, big): generate(rng, 40, tilt=-0.2),
        (other, small): generate(rng, 12),
        (earlier, big): generate(rng, 20),
        (earlier, elsewhere): generate(rng, 15),
    }
    for (round_id, area_id), answers in plan.items():
        upload(org.admin, round_id, area_id, answers)
    return World(big, small, silent, elsewhere, standard, rerun, other, earlier, plan)


def _overview(client: httpx.Client, area_id: int, **params: Any) -> dict[str, Any]:
    return ok(client.get(f"/api/v1/areas/{area_id}/overview", params=params))


def _without(cell: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in cell.items() if k not in keys}


def test_figures_are_the_round_results_for_the_area(backend: str, org: Org) -> None:
    world = _world(org)
    overview = _overview(org.integrator, world.big, period="2026")

    assert overview["area_id"] == world.big and overview["period"] == "2026"
    assert overview["available_periods"] == ["2026", "2025"]
    assert overview["min_cell_size"] == 10
    # By questionnaire key; the standard survey's two rounds of 2026 both, the 2025 one not.
    assert [s["questionnaire_key"] for s in overview["surveys"]] == [
        OTHER_KEY,
        STANDARD["key"],
    ]
    other, standard = overview["surveys"]
    assert other["name"] == _other_definition()["name"]
    assert standard["name"] == STANDARD["name"]
    assert standard["default_language"] == "sv" and standard["label_language"] == "sv"
    assert [r["survey_round_id"] for r in standard["rounds"]] == [world.standard, world.rerun]
    assert [r["survey_round_id"] for r in other["rounds"]] == [world.other]
    assert {r["name"] for r in standard["rounds"]} == {"Trygghet 2026", "Trygghet 2026, omtag"}

    for survey in overview["surveys"]:
        for entry in survey["rounds"]:
            assert entry["period"] == "2026" and entry["status"] == "open"
            assert entry["source"] == "collected"
            assert entry["questionnaire_version_number"] == 1
            own = results(org.analyst, entry["survey_round_id"])
            area = area_of(own, world.big)
            assert entry["responses"] == area["responses"]
            assert entry["questionnaire_version_id"] == own["questionnaire_version_id"]
            # Every indicator and index of the version, in its order, each the very figure
            # the round's results give (the overview adds only the label).
            assert [i["key"] for i in entry["indicators"]] == [i["key"] for i in area["indicators"]]
            assert [i["key"] for i in entry["indices"]] == [i["key"] for i in area["indices"]]
            for mine, theirs in zip(entry["indicators"], area["indicators"], strict=True):
                assert _without(mine, "label", "benchmark") == _without(theirs, "breakdown")
            for mine, theirs in zip(entry["indices"], area["indices"], strict=True):
                assert _without(mine, "label", "benchmark") == _without(theirs, "breakdown")
    assert len(other["rounds"][0]["indicators"]) == 3
    assert len(standard["rounds"][0]["indicators"]) == len(STANDARD["indicators"])

    # Independently: the first indicator's share against statsmodels' Wilson interval.
    first = STANDARD["indicators"][0]
    x, n = indicator_reference(world.answers[(world.standard, world.big)], first["key"])
    low, high = wilson_ref(x, n)
    share = by_key(standard["rounds"][0]["indicators"])[first["key"]]
    assert share["suppressed"] is False and share["n"] == n
    assert share["share"]["x"] == x
    assert share["share"]["p"] == pytest.approx(x / n, rel=1e-12)
    assert share["share"]["low"] == pytest.approx(low, rel=1e-9)
    assert share["share"]["high"] == pytest.approx(high, rel=1e-9)
    assert share["label"] == first["label"]["sv"]
    assert standard["rounds"][0]["responses"]["responses"] == 60


def test_labels_follow_the_language_asked(backend: str, org: Org) -> None:
    world = _world(org)
    english = _overview(org.analyst, world.big, period="2026", language="en")
    assert english["language"] == "en"
    for survey in english["surveys"]:
        assert survey["label_language"] == "en"
    standard = english["surveys"][1]
    labels = {i["key"]: i["label"] for i in standard["rounds"][0]["indicators"]}
    assert labels == {i["key"]: i["label"]["en"] for i in STANDARD["indicators"]}
    index_labels = {i["key"]: i["label"] for i in standard["rounds"][0]["indices"]}
    assert index_labels == {i["key"]: i["label"]["en"] for i in STANDARD["indices"]}
    arabic = _overview(org.analyst, world.big, period="2026", language="ar")
    first = arabic["surveys"][1]["rounds"][0]["indicators"][0]
    assert first["label"] == STANDARD["indicators"][0]["label"]["ar"]
    # A language the questionnaire lacks: its default language, and it says so.
    somali = _overview(org.analyst, world.big, period="2026", language="so")
    assert somali["language"] == "so"
    assert [s["label_language"] for s in somali["surveys"]] == ["sv", "sv"]
    first = somali["surveys"][1]["rounds"][0]["indicators"][0]
    assert first["label"] == STANDARD["indicators"][0]["label"]["sv"]


def test_a_small_area_is_suppressed_and_leaks_nothing(backend: str, org: Org) -> None:
    world = _world(org)
    small = _overview(org.analyst, world.small, period="2026")
    silent = _overview(org.analyst, world.silent, period="2026")
    assert [s["questionnaire_key"] for s in small["surveys"]] == [OTHER_KEY, STANDARD["key"]]
    other, standard = small["surveys"]
    (suppressed,) = standard["rounds"]
    assert suppressed["responses"]["suppressed"] is True
    assert suppressed["responses"]["responses"] is None
    assert suppressed["responses"]["response_rate"] is None
    for cell in suppressed["indicators"]:
        assert cell["suppressed"] is True
        assert cell["n"] is None and cell["share"] is None
    for cell in suppressed["indices"]:
        assert cell["suppressed"] is True
        assert cell["n"] is None and cell["index"] is None
    # Three answers look exactly like none: the silent area's round serialises the same.
    (nothing,) = silent["surveys"][0]["rounds"]
    assert json.dumps(_without(suppressed, "as_of")) == json.dumps(_without(nothing, "as_of"))
    # The same area's twelve answers to the other survey are shown.
    shown = other["rounds"][0]
    assert shown["responses"] == {
        **shown["responses"],
        "suppressed": False,
        "responses": 12,
    }
    assert any(not cell["suppressed"] for cell in shown["indicators"])
    # The round results hide the same cells.
    own = area_of(results(org.analyst, world.standard), world.small)
    assert all(cell["suppressed"] for cell in own["indicators"])


def test_empty_period_other_organisation_and_bad_input(
    backend: str, org: Org, make_org: Any
) -> None:
    world = _world(org)
    # In no round of 2026: 200, no surveys, the periods that exist.
    empty = _overview(org.analyst, world.elsewhere, period="2026")
    assert empty["surveys"] == [] and empty["available_periods"] == ["2025"]
    never = create_area(org.analyst, "aldrig")["id"]
    assert _overview(org.analyst, never, period="2026")["available_periods"] == []
    # Without a period: the newest one that has a round with the area; none at all: null.
    assert _overview(org.analyst, world.elsewhere)["period"] == "2025"
    newest = _overview(org.analyst, world.big)
    assert newest["period"] == "2026"
    assert [r["survey_round_id"] for s in newest["surveys"] for r in s["rounds"]] == [
        world.other,
        world.standard,
        world.rerun,
    ]
    nothing = _overview(org.analyst, never)
    assert nothing["period"] is None and nothing["surveys"] == []
    assert _overview(org.analyst, world.elsewhere, period="2025")["surveys"][0]["rounds"][0][
        "survey_round_id"
    ] == (world.earlier)
    # Another organisation's area, and one that does not exist: the same 404.
    stranger = make_org()
    for client, area_id in ((stranger.admin, world.big), (org.admin, 99_999_999)):
        response = client.get(f"/api/v1/areas/{area_id}/overview", params={"period": "2026"})
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["detail"] == f"no area with id {area_id}"
    # Bad periods and languages: 422 naming the parameter.
    for params in (
        {"period": "2026-13"},
        {"period": "26"},
        {"period": "2026-H3"},
        {"period": ""},
        {"period": "2026", "language": "svenska!"},
    ):
        response = org.analyst.get(f"/api/v1/areas/{world.big}/overview", params=params)
        assert response.status_code == 422, params
        problem = response.json()
        name = "language" if "language" in params else "period"
        assert f"query.{name}" in problem["detail"], problem
        assert problem["errors"][0]["loc"] == ["query", name]


def test_every_role_that_reads_results_reads_it(backend: str, org: Org, anonymous: Any) -> None:
    area = create_area(org.analyst, "roller")["id"]
    for client in (org.admin, org.analyst, org.integrator):
        assert _overview(client, area, period="2026")["surveys"] == []
    response = anonymous.get(f"/api/v1/areas/{area}/overview", params={"period": "2026"})
    assert response.status_code == 401


def test_queries_per_round_not_per_item(
    backend: str, org: Org, engine: Engine, db: sessionmaker[Session]
) -> None:
    """The overview costs a fixed number of statements per round, whatever the number of
    items, indicators or indices; with the payloads cached, fewer still."""
    from survey_api.results import overview, payload

    world = _world(org)
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    def measure(area_id: int, period: str) -> tuple[int, float]:
        statements.clear()
        start = time.perf_counter()
        with db() as session:
            overview.area_overview(session, org.id, area_id, period)
            session.rollback()
        return len(statements), time.perf_counter() - start

    # Fold every round first (folding new answers is the same work as a round read does).
    measure(world.elsewhere, "2025")
    measure(world.big, "2026")
    event.listen(engine, "before_cursor_execute", count)
    try:
        payload.results_cache().clear()
        one_round, _ = measure(world.elsewhere, "2025")
        payload.results_cache().clear()
        three_rounds, elapsed = measure(world.big, "2026")
        listed = [s.split("\n")[0][:80] for s in statements]
        cached, _ = measure(world.big, "2026")
    finally:
        event.remove(engine, "before_cursor_execute", count)
    per_round = (three_rounds - one_round) / 2
    # 27 items, 7 indicators, 2 indices in the standard questionnaire: a query per item or
    # per figure would show here at once.
    assert per_round <= 12, listed
    assert three_rounds <= 3 * 12 + 8, listed
    assert cached <= three_rounds
    assert elapsed < 5


def _answers_for(definition: dict[str, Any], rng: random.Random, n: int) -> list[dict[str, Any]]:
    """n answer sets of any questionnaire: a random code for every choice item (show_if kept)."""
    out = []
    for _ in range(n):
        answers: dict[str, Any] = {}
        for item in definition["items"]:
            if item["kind"] not in ("scale", "single_choice", "multi_choice"):
                continue
            condition = item.get("show_if")
            if condition and answers.get(condition["item"]) not in condition["any_of"]:
                continue
            codes = [o["code"] for o in item["options"] if not o.get("exclusive")]
            code = rng.choice(codes)
            answers[item["key"]] = [code] if item["kind"] == "multi_choice" else code
        out.append(answers)
    return out


def test_the_standard_kundenkat_beside_the_trygghetsmatning(backend: str, org: Org) -> None:
    """The two shipped standard questionnaires, one round each in 2026, read side by side."""
    kundenkat = json.loads(
        (STANDARD_PATH.parent / "kundenkat-standard.json").read_text(encoding="utf-8")
    )
    client = org.analyst
    area = create_area(client, "gardsten")["id"]
    trygghet = _round(client, "Trygghet 2026", publish_standard(client)["id"], "2026", [area])
    kund_version = publish_standard(client, kundenkat)["id"]
    kund = _round(client, "Kundenkät 2026", kund_version, "2026", [area])
    rng = random.Random(7)
    upload(org.admin, trygghet, area, generate(rng, 30))
    kund_answers = _answers_for(kundenkat, rng, 30)
    upload(org.admin, kund, area, kund_answers)

    overview = _overview(client, area, period="2026", language="en")
    assert [s["questionnaire_key"] for s in overview["surveys"]] == [
        "kundenkat-standard",
        "trygghetsmatning-standard",
    ]
    first, second = overview["surveys"]
    assert first["name"] == kundenkat["name"]
    (entry,) = first["rounds"]
    assert [i["key"] for i in entry["indicators"]] == [
        "andel_nojda_totalt",
        "andel_rekommenderar",
        "andel_ratt_forsta_gangen",
        "andel_prisvart",
        "andel_otrygga_kvall",
    ]
    assert [i["key"] for i in entry["indices"]] == [
        "serviceindex",
        "produktindex",
        "trivselindex",
        "trygghetsindex",
    ]
    labels = {i["key"]: i["label"]["en"] for i in kundenkat["indicators"]}
    assert {i["key"]: i["label"] for i in entry["indicators"]} == labels
    # andel_nojda_totalt independently: x of n over its item's substantive answers.
    indicator = kundenkat["indicators"][0]
    item = next(i for i in kundenkat["items"] if i["key"] == indicator["item"])
    substantive = {o["code"] for o in item["options"] if not ("score" in o and o["score"] is None)}
    given = [a[item["key"]] for a in kund_answers if a.get(item["key"]) in substantive]
    x = sum(1 for code in given if code in indicator["codes"])
    low, high = wilson_ref(x, len(given))
    cell = entry["indicators"][0]
    assert cell["n"] == len(given) and cell["share"]["x"] == x
    assert cell["share"]["low"] == pytest.approx(low, rel=1e-9)
    assert cell["share"]["high"] == pytest.approx(high, rel=1e-9)
    # Each the round results' own figure, both surveys.
    for survey, round_id in ((first, kund), (second, trygghet)):
        own = area_of(results(client, round_id), area)
        (mine,) = survey["rounds"]
        for a, b in zip(mine["indicators"], own["indicators"], strict=True):
            assert _without(a, "label", "benchmark") == _without(b, "breakdown")
        for a, b in zip(mine["indices"], own["indices"], strict=True):
            assert _without(a, "label", "benchmark") == _without(b, "breakdown")
