"""The comparability report: the handmade pair gives the report worked out by hand, over the
API on both databases; the trends' break reason reads the same rule."""

from collections.abc import Callable
from typing import Any

from survey_api.questionnaires import comparability
from survey_api.questionnaires.definition import parse_definition
from tests.api.support import problem
from tests.conftest import Org
from tests.helpers import ok
from tests.questionnaires.pair import EXPECTED, version_1, version_2


def _rows(entries: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [
        (
            e["target"],
            e["key"],
            e["status"],
            [(c["type"], c["item"], c["codes"], c["before"], c["after"]) for c in e["changes"]],
        )
        for e in entries
    ]


def test_compare_gives_the_report_worked_out_by_hand() -> None:
    old, new = parse_definition(version_1()), parse_definition(version_2())
    got = [
        (
            c.target,
            c.key,
            c.status,
            [(x.type, x.item, list(x.codes), list(x.before), list(x.after)) for x in c.changes],
        )
        for c in comparability.compare(old, new)
    ]
    assert got == EXPECTED


def test_the_trend_break_reason_is_the_report_reason() -> None:
    old, new = parse_definition(version_1()), parse_definition(version_2())
    assert comparability.break_reason(old, new, "item", "e") == (
        "not comparable with the previous round: item 'e': kind single_choice → multi_choice"
    )
    assert comparability.break_reason(old, new, "index", "idx") == (
        "not comparable with the previous round: item 'c': codes added: 4"
    )
    assert comparability.break_reason(old, new, "indicator", "ind_b") == (
        "not comparable with the previous round: indicator codes 1 → 1, 2"
    )
    # A signature match is exactly "keeps its trend".
    for c in comparability.compare(old, new):
        if c.status in ("keeps_trend", "breaks"):
            same = comparability.target_signature(
                old, c.target, c.key
            ) == comparability.target_signature(new, c.target, c.key)
            assert same == (c.status == "keeps_trend")


def test_an_indicator_moved_to_another_item_with_the_same_options_breaks() -> None:
    old = version_1()
    old["items"].append(_same_as_a("a2"))
    new = version_1()
    new["items"].append(_same_as_a("a2"))
    new["indicators"][0]["item"] = "a2"  # the same options, another question
    before, after = parse_definition(old), parse_definition(new)
    (report,) = [c for c in comparability.compare(before, after) if c.key == "ind_a"]
    assert report.status == "breaks"
    assert comparability.break_reason(before, after, "indicator", "ind_a") == (
        "not comparable with the previous round: indicator now counts item 'a2' instead of 'a'"
    )


def _same_as_a(key: str) -> dict[str, Any]:
    (a,) = [item for item in version_1()["items"] if item["key"] == "a"]
    return {**a, "key": key, "text": {"sv": "En annan fråga?", "en": "Another question?"}}


def test_a_first_version_has_only_new_targets() -> None:
    statuses = {c.status for c in comparability.compare(None, parse_definition(version_1()))}
    assert statuses == {"new"}


def test_comparability_over_the_api(org: Org, make_org: Callable[[], Org]) -> None:
    created = ok(org.analyst.post("/api/v1/questionnaires", json=version_1()), 201)
    qid = created["questionnaire"]["id"]
    base = f"/api/v1/questionnaires/{qid}/versions"
    first = ok(org.integrator.get(f"{base}/1/comparability"))
    assert first["previous_number"] is None
    assert {e["status"] for e in first["entries"]} == {"new"}
    ok(org.analyst.post(f"{base}/1/publish"))
    ok(org.analyst.post(base), 201)
    ok(org.analyst.put(f"{base}/2", json=version_2()))

    report = ok(org.integrator.get(f"{base}/2/comparability"))
    assert (report["questionnaire_id"], report["number"], report["previous_number"]) == (qid, 2, 1)
    assert _rows(report["entries"]) == EXPECTED
    assert (report["keeps_trend"], report["breaks"], report["new"], report["removed"]) == (
        2,
        7,
        1,
        1,
    )
    by_key = {e["key"]: e for e in report["entries"]}
    assert by_key["a"]["reason"] is None
    assert by_key["e"]["reason"] == "item 'e': kind single_choice → multi_choice"
    assert by_key["d"]["reason"] == "item removed: its series ends with the previous version"

    # Publishing version 2 does not change the report (it still compares with version 1).
    ok(org.analyst.post(f"{base}/2/publish"))
    assert ok(org.integrator.get(f"{base}/2/comparability"))["entries"] == report["entries"]

    # Another organisation's questionnaire answers like a missing one.
    other = make_org()
    foreign = problem(other.admin.get(f"{base}/2/comparability"), 404)
    missing = problem(org.admin.get(f"{base}/99/comparability"), 404)
    assert foreign["status"] == missing["status"] == 404
    problem(org.admin.get(f"/api/v1/questionnaires/{qid + 10_000}/versions/1/comparability"), 404)
