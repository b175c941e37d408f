"""Questionnaires over the API: the standard file as is, precise errors, drafts, publishing."""

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from survey_api.models import QuestionnaireVersion
from tests.api.support import error_locs, problem
from tests.conftest import Org
from tests.helpers import STANDARD, ok, standard_definition


def item_index(definition: dict[str, Any], key: str) -> int:
    return next(i for i, item in enumerate(definition["items"]) if item["key"] == key)


def test_the_standard_questionnaire_loads_as_it_is(org: Org, db: sessionmaker[Session]) -> None:
    created = ok(org.analyst.post("/api/v1/questionnaires", json=STANDARD), 201)
    assert created["questionnaire"]["key"] == STANDARD["key"]
    assert created["questionnaire"]["name"] == STANDARD["name"]
    version = created["version"]
    assert (version["number"], version["status"], version["published_at"]) == (1, "draft", None)
    # Lossless: what comes back (and what is stored) is the file, key for key.
    assert version["definition"] == STANDARD
    qid = created["questionnaire"]["id"]
    assert (
        ok(org.integrator.get(f"/api/v1/questionnaires/{qid}/versions/1"))["definition"] == STANDARD
    )
    with db() as session:
        stored = session.scalars(
            select(QuestionnaireVersion).where(QuestionnaireVersion.id == version["id"])
        ).one()
        assert stored.definition == STANDARD
    listed = ok(org.integrator.get("/api/v1/questionnaires"))["items"]
    assert [(q["id"], [v["number"] for v in q["versions"]]) for q in listed] == [(qid, [1])]


def test_a_second_questionnaire_with_the_same_key_is_a_conflict(org: Org) -> None:
    ok(org.analyst.post("/api/v1/questionnaires", json=STANDARD), 201)
    problem(org.analyst.post("/api/v1/questionnaires", json=STANDARD), 409)
    assert len(ok(org.analyst.get("/api/v1/questionnaires"))["items"]) == 1


# --- precise errors -----------------------------------------------------------------------------


def duplicate_item_key(d: dict[str, Any]) -> list[Any]:
    i = item_index(d, "trygg_bostad")
    d["items"][i]["key"] = "trygg_ute_kvall"
    return ["body", "items", i, "key"]


def unknown_favourable_code(d: dict[str, Any]) -> list[Any]:
    i = item_index(d, "trivsel")
    d["items"][i]["favourable"] = [3, 7]
    return ["body", "items", i, "favourable", 1]


def unknown_show_if_code(d: dict[str, Any]) -> list[Any]:
    i = item_index(d, "anmalt_polis")
    d["items"][i]["show_if"]["any_of"] = [1, 42]
    return ["body", "items", i, "show_if", "any_of", 1]


def show_if_to_a_later_item(d: dict[str, Any]) -> list[Any]:
    i = item_index(d, "anmalt_polis")
    d["items"][i]["show_if"] = {"item": "trivsel", "any_of": [1]}
    return ["body", "items", i, "show_if", "item"]


def show_if_to_a_missing_item(d: dict[str, Any]) -> list[Any]:
    i = item_index(d, "anmalt_polis")
    d["items"][i]["show_if"] = {"item": "finns_inte", "any_of": [1]}
    return ["body", "items", i, "show_if", "item"]


def unknown_indicator_code(d: dict[str, Any]) -> list[Any]:
    d["indicators"][2]["codes"] = [3, 8]
    return ["body", "indicators", 2, "codes", 1]


def unknown_indicator_item(d: dict[str, Any]) -> list[Any]:
    d["indicators"][0]["item"] = "finns_inte"
    return ["body", "indicators", 0, "item"]


def index_over_a_non_scale_item(d: dict[str, Any]) -> list[Any]:
    d["indices"][0]["items"].append("kon")
    return ["body", "indices", 0, "items", len(d["indices"][0]["items"]) - 1]


def missing_language_text(d: dict[str, Any]) -> list[Any]:
    i = item_index(d, "trivsel")
    del d["items"][i]["text"]["ar"]
    return ["body", "items", i, "text"]


def missing_option_label(d: dict[str, Any]) -> list[Any]:
    i = item_index(d, "trivsel")
    del d["items"][i]["options"][2]["label"]["en"]
    return ["body", "items", i, "options", 2, "label"]


def unknown_item_kind(d: dict[str, Any]) -> list[Any]:
    i = item_index(d, "trivsel")
    d["items"][i]["kind"] = "slider"
    return ["body", "items", i, "kind"]


def unknown_field(d: dict[str, Any]) -> list[Any]:
    i = item_index(d, "trivsel")
    d["items"][i]["colour"] = "red"
    return ["body", "items", i, "colour"]


BREAKAGES: list[Callable[[dict[str, Any]], list[Any]]] = [
    duplicate_item_key,
    unknown_favourable_code,
    unknown_show_if_code,
    show_if_to_a_later_item,
    show_if_to_a_missing_item,
    unknown_indicator_code,
    unknown_indicator_item,
    index_over_a_non_scale_item,
    missing_language_text,
    missing_option_label,
    unknown_item_kind,
    unknown_field,
]


@pytest.mark.parametrize("breakage", BREAKAGES, ids=lambda f: f.__name__)
def test_a_broken_definition_is_a_422_pointing_at_the_item_and_field(
    org: Org, breakage: Callable[[dict[str, Any]], list[Any]]
) -> None:
    definition = standard_definition()
    expected = breakage(definition)
    body = problem(org.analyst.post("/api/v1/questionnaires", json=definition), 422)
    assert expected in error_locs(body), body["errors"]
    assert ok(org.analyst.get("/api/v1/questionnaires"))["items"] == []


def test_every_problem_is_listed_not_only_the_first(org: Org) -> None:
    definition = standard_definition()
    expected = [
        breakage(definition)
        for breakage in (
            duplicate_item_key,
            unknown_favourable_code,
            missing_language_text,
            unknown_indicator_code,
        )
    ]
    body = problem(org.analyst.post("/api/v1/questionnaires", json=definition), 422)
    locs = error_locs(body)
    assert all(loc in locs for loc in expected), locs
    messages = " ".join(e["msg"] for e in body["errors"])
    assert "trygg_ute_kvall" in messages and "'ar'" in messages


def test_error_messages_name_the_item(org: Org) -> None:
    definition = standard_definition()
    show_if_to_a_later_item(definition)
    body = problem(org.analyst.post("/api/v1/questionnaires", json=definition), 422)
    assert "anmalt_polis" in body["detail"] and "trivsel" in body["detail"]


# --- drafts, publishing, versions ---------------------------------------------------------------


def create(org: Org, definition: dict[str, Any] | None = None) -> int:
    created = ok(org.analyst.post("/api/v1/questionnaires", json=definition or STANDARD), 201)
    return int(created["questionnaire"]["id"])


def test_a_draft_is_editable(org: Org) -> None:
    qid = create(org)
    changed = standard_definition()
    changed["items"][0]["text"]["en"] = "How safe do you feel outdoors late at night?"
    updated = ok(org.analyst.put(f"/api/v1/questionnaires/{qid}/versions/1", json=changed))
    assert updated["definition"] == changed
    assert ok(org.analyst.get(f"/api/v1/questionnaires/{qid}/versions/1"))["definition"] == changed


def test_an_invalid_edit_leaves_the_draft_unchanged(org: Org) -> None:
    qid = create(org)
    broken = standard_definition()
    index_over_a_non_scale_item(broken)
    problem(org.analyst.put(f"/api/v1/questionnaires/{qid}/versions/1", json=broken), 422)
    assert ok(org.analyst.get(f"/api/v1/questionnaires/{qid}/versions/1"))["definition"] == STANDARD


def test_an_edit_cannot_change_the_questionnaire_key(org: Org) -> None:
    qid = create(org)
    renamed = {**standard_definition(), "key": "another-key"}
    body = problem(org.analyst.put(f"/api/v1/questionnaires/{qid}/versions/1", json=renamed), 422)
    assert error_locs(body) == [["body", "key"]]


def test_publish_makes_a_version_immutable(org: Org, db: sessionmaker[Session]) -> None:
    qid = create(org)
    published = ok(org.analyst.post(f"/api/v1/questionnaires/{qid}/versions/1/publish"))
    assert published["status"] == "published" and published["published_at"]
    changed = standard_definition()
    changed["items"][0]["text"]["sv"] = "Ändrad"
    body = problem(org.analyst.put(f"/api/v1/questionnaires/{qid}/versions/1", json=changed), 409)
    assert "published" in body["detail"]
    problem(org.analyst.post(f"/api/v1/questionnaires/{qid}/versions/1/publish"), 409)
    assert ok(org.analyst.get(f"/api/v1/questionnaires/{qid}/versions/1"))["definition"] == STANDARD
    with db() as session:
        stored = session.scalars(
            select(QuestionnaireVersion).where(QuestionnaireVersion.id == published["id"])
        ).one()
        assert (stored.status, stored.definition) == ("published", STANDARD)


def test_a_new_draft_starts_from_the_latest_version_and_only_one_at_a_time(org: Org) -> None:
    qid = create(org)
    # While version 1 is a draft there can be no second draft.
    problem(org.analyst.post(f"/api/v1/questionnaires/{qid}/versions"), 409)
    ok(org.analyst.post(f"/api/v1/questionnaires/{qid}/versions/1/publish"))

    draft = ok(org.analyst.post(f"/api/v1/questionnaires/{qid}/versions"), 201)
    assert (draft["number"], draft["status"], draft["definition"]) == (2, "draft", STANDARD)
    problem(org.analyst.post(f"/api/v1/questionnaires/{qid}/versions"), 409)

    changed = standard_definition()
    changed["items"][0]["text"]["sv"] = "Hur trygg känner du dig en sen kväll?"
    ok(org.analyst.put(f"/api/v1/questionnaires/{qid}/versions/2", json=changed))
    ok(org.analyst.post(f"/api/v1/questionnaires/{qid}/versions/2/publish"))
    third = ok(org.analyst.post(f"/api/v1/questionnaires/{qid}/versions"), 201)
    assert (third["number"], third["definition"]) == (3, changed)

    assert ok(org.analyst.get(f"/api/v1/questionnaires/{qid}/versions/1"))["definition"] == STANDARD
    versions = ok(org.analyst.get(f"/api/v1/questionnaires/{qid}"))["versions"]
    assert [(v["number"], v["status"]) for v in versions] == [
        (1, "published"),
        (2, "published"),
        (3, "draft"),
    ]


def test_unknown_questionnaires_and_versions_are_404(org: Org) -> None:
    qid = create(org)
    problem(org.analyst.get("/api/v1/questionnaires/999999"), 404)
    problem(org.analyst.get(f"/api/v1/questionnaires/{qid}/versions/2"), 404)
    problem(org.analyst.put(f"/api/v1/questionnaires/{qid}/versions/2", json=STANDARD), 404)
    problem(org.analyst.post(f"/api/v1/questionnaires/{qid}/versions/2/publish"), 404)
    problem(org.analyst.post("/api/v1/questionnaires/999999/versions"), 404)
