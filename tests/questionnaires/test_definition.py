"""Tests for the questionnaire definition format, its semantic checks and answer validation."""

import copy
import json
import math
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from survey_api.questionnaires.definition import (
    DefinitionError,
    Item,
    Option,
    QuestionnaireDefinition,
    is_visible,
    item_signature,
    load_standard_definition,
    parse_definition,
    validate_answers,
    visible_items,
)

STANDARD_PATH = (
    Path(__file__).resolve().parents[2]
    / "src"
    / "survey_api"
    / "data"
    / "trygghetsmatning-standard.json"
)

Data = dict[str, Any]
Loc = list[str | int]


@cache
def _standard_text() -> str:
    return STANDARD_PATH.read_text(encoding="utf-8")


def standard() -> Data:
    """A fresh, mutable copy of the standard file."""
    data: Data = json.loads(_standard_text())
    return data


def pos(data: Data, key: str) -> int:
    """Position of item ``key`` in ``data['items']``."""
    return next(i for i, item in enumerate(data["items"]) if item["key"] == key)


def item_of(data: Data, key: str) -> dict[str, Any]:
    item: dict[str, Any] = data["items"][pos(data, key)]
    return item


def texts(sv: str) -> dict[str, str]:
    return {"sv": sv, "en": sv + " (en)", "ar": sv + " (ar)"}


def errors_of(data: object) -> list[dict[str, Any]]:
    with pytest.raises(DefinitionError) as info:
        parse_definition(data)
    assert info.value.errors, "DefinitionError without errors"
    return [dict(error) for error in info.value.errors]


def assert_error(data: object, loc: Loc, fragment: str = "", type_: str | None = None) -> None:
    errors = errors_of(data)
    matching = [
        e
        for e in errors
        if e["loc"] == loc and fragment in e["msg"] and (type_ is None or e["type"] == type_)
    ]
    assert matching, f"no error at {loc} containing {fragment!r}; got {errors}"


def with_item(data: Data, item: dict[str, Any], after: str | None = None) -> Data:
    """Insert ``item`` after item ``after`` (or at the end)."""
    at = len(data["items"]) if after is None else pos(data, after) + 1
    data["items"].insert(at, item)
    return data


def number_item(**extra: Any) -> dict[str, Any]:
    return {
        "key": "antal_ar",
        "kind": "number",
        "section": "bakgrund",
        "text": texts("År"),
        **extra,
    }


def definition_with(*items: dict[str, Any]) -> QuestionnaireDefinition:
    data = standard()
    for item in items:
        with_item(data, item)
    return parse_definition(data)


# --- the standard file -----------------------------------------------------------------------


def test_standard_file_loads() -> None:
    definition = parse_definition(standard())
    assert definition.key == "trygghetsmatning-standard"
    assert len(definition.items) == 27
    assert definition.languages == ["sv", "en", "ar"]
    assert [i.key for i in definition.indices] == ["trygghetsindex", "problemindex"]
    assert len(definition.indicators) == 6
    assert {i.key for i in definition.background_items} == {
        "kon",
        "aldersgrupp",
        "boendetid",
        "barn_i_hushallet",
    }


def test_standard_file_round_trips_losslessly() -> None:
    original = standard()
    definition = parse_definition(copy.deepcopy(original))
    assert definition.to_json() == original
    assert definition.model_dump(mode="json", exclude_unset=True) == original
    # Absent keys stay absent: no invented "score", "exclusive", "options" or defaults.
    dumped_kon = item_of(definition.to_json(), "kon")
    assert "score" not in dumped_kon["options"][0]
    assert dumped_kon["options"][3]["score"] is None
    assert "show_if" not in dumped_kon and "max_length" not in dumped_kon
    assert "options" not in item_of(definition.to_json(), "fritext_plats")
    assert parse_definition(definition.to_json()) == definition


def test_load_standard_definition_is_the_bundled_file() -> None:
    loaded = load_standard_definition()
    assert loaded.to_json() == standard()
    assert load_standard_definition() is loaded


def test_option_substantiveness() -> None:
    definition = parse_definition(standard())
    kon = definition.item("kon")
    assert kon.option(1).is_substantive  # no score key: a category
    assert not kon.option(9).is_substantive  # explicit null: "Vill inte svara"
    assert kon.substantive_codes == (1, 2, 3)
    trygg = definition.item("trygg_ute_kvall")
    assert trygg.option(1).is_substantive  # numeric score
    assert trygg.substantive_codes == (1, 2, 3, 4, 5)
    assert trygg.codes == (1, 2, 3, 4, 5, 8, 9)
    assert definition.item("utsatt_brott_12m").substantive_codes == (1, 2, 3, 4, 5, 6)
    label = texts("x")
    assert Option.model_validate({"code": 1, "label": label}).is_substantive
    assert not Option.model_validate({"code": 1, "label": label, "score": None}).is_substantive
    assert Option.model_validate({"code": 1, "label": label, "score": 0}).is_substantive


def test_lookup_helpers() -> None:
    definition = parse_definition(standard())
    assert definition.items_by_key is definition.items_by_key  # cached
    assert definition.item("trivsel").section == "boende"
    assert definition.sections_by_key["boende"].title["en"] == "Living in the area"
    with pytest.raises(KeyError):
        definition.item("nope")
    trygg = definition.item("trygg_ute_kvall")
    assert trygg.option(5).score == 1
    with pytest.raises(KeyError):
        trygg.option(7)
    assert trygg.score_range() == (1, 4)
    assert definition.item("fortroende_polis").score_range() == (1, 5)
    assert definition.item("kon").score_range() is None
    assert definition.item("fritext_plats").effective_max_length == 2000
    assert definition.item("trygg_ute_kvall").is_choice
    assert not definition.item("fritext_plats").is_choice


def test_number_item_fields() -> None:
    data = with_item(standard(), number_item(min=0, max=120))
    definition = parse_definition(data)
    item = definition.item("antal_ar")
    assert item.integer is True and item.min == 0 and item.max == 120
    assert "integer" not in item_of(definition.to_json(), "antal_ar")
    assert definition.to_json() == data


def test_text_item_default_max_length() -> None:
    item = {"key": "ovrigt", "kind": "text", "section": "fritext", "text": texts("Övrigt")}
    definition = definition_with(item)
    assert definition.item("ovrigt").max_length is None
    assert definition.item("ovrigt").effective_max_length == 2000


# --- structural errors (pydantic) ------------------------------------------------------------


def _set_option_code(value: object) -> Callable[[Data], None]:
    def mutate(data: Data) -> None:
        data["items"][0]["options"][0]["code"] = value

    return mutate


@pytest.mark.parametrize(
    ("mutate", "loc", "type_"),
    [
        pytest.param(
            _set_option_code(True), ["items", 0, "options", 0, "code"], "int_type", id="bool-code"
        ),
        pytest.param(
            _set_option_code("1"), ["items", 0, "options", 0, "code"], "int_type", id="str-code"
        ),
        pytest.param(
            _set_option_code(1.0), ["items", 0, "options", 0, "code"], "int_type", id="float-code"
        ),
        pytest.param(
            lambda d: d["items"][0]["options"][0].update(score=True),
            ["items", 0, "options", 0, "score"],
            "number_type",
            id="bool-score",
        ),
        pytest.param(
            lambda d: d["items"][0]["options"][0].update(score="4"),
            ["items", 0, "options", 0, "score"],
            "number_type",
            id="str-score",
        ),
        pytest.param(
            lambda d: d["items"][0]["options"][0].update(score=math.nan),
            ["items", 0, "options", 0, "score"],
            "finite_number",
            id="nan-score",
        ),
        pytest.param(
            lambda d: d["items"][3].update(kind="likert"),
            ["items", 3, "kind"],
            "literal_error",
            id="kind",
        ),
        pytest.param(
            lambda d: d["items"][3].update(colour="red"),
            ["items", 3, "colour"],
            "extra_forbidden",
            id="extra-item-key",
        ),
        pytest.param(
            lambda d: d.update(version=2), ["version"], "extra_forbidden", id="extra-top-key"
        ),
        pytest.param(
            lambda d: d["items"][0].update(required=1),
            ["items", 0, "required"],
            "bool_type",
            id="int-bool",
        ),
        pytest.param(
            lambda d: d["items"][0]["text"].update(sv=5),
            ["items", 0, "text", "sv"],
            "string_type",
            id="text",
        ),
        pytest.param(lambda d: d.pop("items"), ["items"], "missing", id="missing-items"),
        pytest.param(
            lambda d: d["indices"][0].update(orientation="up"),
            ["indices", 0, "orientation"],
            "literal_error",
            id="orientation",
        ),
        pytest.param(
            lambda d: d["items"][6]["show_if"].update(any_of=[]),
            ["items", 6, "show_if", "any_of"],
            "too_short",
            id="empty-any_of",
        ),
    ],
)
def test_structural_errors(mutate: Callable[[Data], object], loc: Loc, type_: str) -> None:
    data = standard()
    mutate(data)
    assert_error(data, loc, type_=type_)


def test_structural_error_shape() -> None:
    errors = errors_of([])
    assert errors == [
        {"loc": [], "msg": errors[0]["msg"], "type": "model_type"},
    ]
    for error in errors_of({"key": 1}):
        assert set(error) == {"loc", "msg", "type"}
        assert isinstance(error["loc"], list)


# --- semantic errors -------------------------------------------------------------------------


def _dup_key(collection: str) -> Callable[[Data], None]:
    def mutate(data: Data) -> None:
        data[collection][1]["key"] = data[collection][0]["key"]

    return mutate


def _drop_score(data: Data) -> None:
    del data["items"][0]["options"][0]["score"]


def _same_scores(data: Data) -> None:
    for option in data["items"][2]["options"]:
        if option["score"] is not None:
            option["score"] = 2


def _show_if_target(target: str) -> Callable[[Data], None]:
    def mutate(data: Data) -> None:
        item_of(data, "anmalt_polis")["show_if"]["item"] = target

    return mutate


def _kon_show_if_on_text(data: Data) -> None:
    item_of(data, "kon")["show_if"] = {"item": "fritext_plats", "any_of": [1]}


def _add_number(**extra: Any) -> Callable[[Data], None]:
    def mutate(data: Data) -> None:
        with_item(data, number_item(**extra))

    return mutate


SEMANTIC_CASES = [
    # (id, mutate, loc, message fragment, type)
    ("dup-item", _dup_key("items"), ["items", 1, "key"], "duplicate item key", "duplicate_key"),
    (
        "dup-section",
        _dup_key("sections"),
        ["sections", 1, "key"],
        "duplicate section",
        "duplicate_key",
    ),
    (
        "dup-indicator",
        _dup_key("indicators"),
        ["indicators", 1, "key"],
        "duplicate",
        "duplicate_key",
    ),
    ("dup-index", _dup_key("indices"), ["indices", 1, "key"], "duplicate index", "duplicate_key"),
    (
        "unknown-section",
        lambda d: d["items"][4].update(section="nowhere"),
        ["items", 4, "section"],
        "item 'avstatt_pga_oro': section 'nowhere' does not exist",
        "unknown_section",
    ),
    (
        "item-key-pattern",
        lambda d: d["items"][0].update(key="Trygg-ute"),
        ["items", 0, "key"],
        "must match",
        "invalid_key",
    ),
    (
        "item-key-newline",
        lambda d: d["items"][0].update(key="trygg\n"),
        ["items", 0, "key"],
        "must match",
        "invalid_key",
    ),
    (
        "item-key-too-long",
        lambda d: d["items"][0].update(key="a" * 64),
        ["items", 0, "key"],
        "must match",
        "invalid_key",
    ),
    (
        "section-key-pattern",
        lambda d: d["sections"][0].update(key="1trygghet"),
        ["sections", 0, "key"],
        "must match",
        "invalid_key",
    ),
    (
        "indicator-key-pattern",
        lambda d: d["indicators"][0].update(key="andel otrygga"),
        ["indicators", 0, "key"],
        "must match",
        "invalid_key",
    ),
    (
        "index-key-pattern",
        lambda d: d["indices"][0].update(key="Index"),
        ["indices", 0, "key"],
        "must match",
        "invalid_key",
    ),
    (
        "questionnaire-key",
        lambda d: d.update(key="Standard enkät"),
        ["key"],
        "questionnaire key",
        "invalid_key",
    ),
    (
        "default-language",
        lambda d: d.update(default_language="fi"),
        ["default_language"],
        "'fi' is not in languages",
        "unknown_language",
    ),
    (
        "duplicate-language",
        lambda d: d["languages"].append("en"),
        ["languages", 3],
        "listed twice",
        "duplicate_key",
    ),
    (
        "bad-language-code",
        lambda d: d["languages"].append("Svenska"),
        ["languages", 3],
        "not a language code",
        "invalid_language",
    ),
    (
        "missing-translation-item",
        lambda d: d["items"][0]["text"].pop("ar"),
        ["items", 0, "text"],
        "item 'trygg_ute_kvall': text lacks a translation for 'ar'",
        "missing_translation",
    ),
    (
        "missing-translation-name",
        lambda d: d["name"].pop("en"),
        ["name"],
        "'en'",
        "missing_translation",
    ),
    (
        "missing-translation-intro",
        lambda d: d["intro"].pop("sv"),
        ["intro"],
        "'sv'",
        "missing_translation",
    ),
    (
        "extra-language-option",
        lambda d: d["items"][0]["options"][0]["label"].update(fi="Hyvin turvallinen"),
        ["items", 0, "options", 0, "label", "fi"],
        "'fi'",
        "unknown_language",
    ),
    (
        "empty-section-title",
        lambda d: d["sections"][0]["title"].update(sv="  "),
        ["sections", 0, "title", "sv"],
        "empty",
        "empty_text",
    ),
    (
        "indicator-label",
        lambda d: d["indicators"][2]["label"].pop("ar"),
        ["indicators", 2, "label"],
        "indicator 'andel_ofta_oroliga'",
        "missing_translation",
    ),
    (
        "index-label",
        lambda d: d["indices"][1]["label"].update(en=""),
        ["indices", 1, "label", "en"],
        "index 'problemindex'",
        "empty_text",
    ),
    (
        "too-few-options",
        lambda d: d["items"][6].update(options=d["items"][6]["options"][:1]),
        ["items", 6, "options"],
        "at least 2 options",
        "too_short",
    ),
    (
        "text-with-options",
        lambda d: item_of(d, "fritext_plats").update(options=d["items"][0]["options"]),
        ["items", 22, "options"],
        "text items have no options",
        "not_allowed",
    ),
    (
        "number-with-empty-options",
        _add_number(options=[]),
        ["items", 27, "options"],
        "number items have no options",
        "not_allowed",
    ),
    (
        "duplicate-option-code",
        lambda d: d["items"][0]["options"][1].update(code=1),
        ["items", 0, "options", 1, "code"],
        "duplicate option code 1",
        "duplicate_code",
    ),
    (
        "scale-option-without-score",
        _drop_score,
        ["items", 0, "options", 0, "score"],
        "needs a score",
        "missing_score",
    ),
    (
        "scale-one-distinct-score",
        _same_scores,
        ["items", 2, "options"],
        "distinct non-null scores",
        "too_few_scores",
    ),
    (
        "exclusive-on-single-choice",
        lambda d: d["items"][6]["options"][2].update(exclusive=True),
        ["items", 6, "options", 2, "exclusive"],
        "only meaningful on multi_choice",
        "not_allowed",
    ),
    (
        "favourable-unknown-code",
        lambda d: d["items"][0].update(favourable=[1, 7]),
        ["items", 0, "favourable", 1],
        "code 7 is not an option",
        "unknown_code",
    ),
    (
        "favourable-non-substantive",
        lambda d: d["items"][0].update(favourable=[1, 9]),
        ["items", 0, "favourable", 1],
        "non-substantive",
        "non_substantive_code",
    ),
    (
        "favourable-duplicate",
        lambda d: d["items"][0].update(favourable=[1, 1]),
        ["items", 0, "favourable", 1],
        "listed twice",
        "duplicate_code",
    ),
    (
        "unfavourable-unknown",
        lambda d: d["items"][20].update(unfavourable=[0]),
        ["items", 20, "unfavourable", 0],
        "code 0 is not an option",
        "unknown_code",
    ),
    (
        "favourable-unfavourable-overlap",
        lambda d: d["items"][20].update(unfavourable=[1, 4]),
        ["items", 20, "unfavourable"],
        "both favourable and unfavourable",
        "overlapping_codes",
    ),
    (
        "favourable-on-text",
        lambda d: item_of(d, "fritext_plats").update(favourable=[1]),
        ["items", 22, "favourable"],
        "need a choice or scale item",
        "not_allowed",
    ),
    (
        "show_if-missing-item",
        _show_if_target("x"),
        ["items", 6, "show_if", "item"],
        "item 'anmalt_polis': show_if refers to 'x', which is not an earlier item",
        "invalid_show_if",
    ),
    (
        "show_if-later-item",
        _show_if_target("trivsel"),
        ["items", 6, "show_if", "item"],
        "show_if refers to 'trivsel', which is not an earlier item",
        "invalid_show_if",
    ),
    (
        "show_if-self",
        _show_if_target("anmalt_polis"),
        ["items", 6, "show_if", "item"],
        "not an earlier item",
        "invalid_show_if",
    ),
    (
        "show_if-unknown-code",
        lambda d: d["items"][6]["show_if"].update(any_of=[1, 42]),
        ["items", 6, "show_if", "any_of", 1],
        "code 42 is not an option of 'utsatt_brott_12m'",
        "unknown_code",
    ),
    (
        "show_if-text-target",
        _kon_show_if_on_text,
        ["items", 23, "show_if", "item"],
        "text item without options",
        "invalid_show_if",
    ),
    (
        "indicator-unknown-item",
        lambda d: d["indicators"][0].update(item="nope"),
        ["indicators", 0, "item"],
        "indicator 'andel_otrygga_kvall': item 'nope' does not exist",
        "unknown_item",
    ),
    (
        "indicator-unknown-code",
        lambda d: d["indicators"][1].update(codes=[6]),
        ["indicators", 1, "codes", 0],
        "code 6 is not an option of 'trygg_ute_kvall'",
        "unknown_code",
    ),
    (
        "indicator-non-substantive-code",
        lambda d: d["indicators"][1].update(codes=[5, 9]),
        ["indicators", 1, "codes", 1],
        "non-substantive",
        "non_substantive_code",
    ),
    (
        "indicator-no-codes",
        lambda d: d["indicators"][1].update(codes=[]),
        ["indicators", 1, "codes"],
        "at least one code",
        "too_short",
    ),
    (
        "indicator-on-text-item",
        lambda d: d["indicators"][0].update(item="fritext_plats"),
        ["indicators", 0, "item"],
        "indicators need options",
        "invalid_item_kind",
    ),
    (
        "index-one-item",
        lambda d: d["indices"][0].update(items=["trygg_bostad"]),
        ["indices", 0, "items"],
        "at least 2 items",
        "too_short",
    ),
    (
        "index-non-scale-item",
        lambda d: d["indices"][0]["items"].append("kon"),
        ["indices", 0, "items", 4],
        "index 'trygghetsindex': item 'kon' is single_choice",
        "invalid_item_kind",
    ),
    (
        "index-unknown-item",
        lambda d: d["indices"][0]["items"].__setitem__(1, "nope"),
        ["indices", 0, "items", 1],
        "item 'nope' does not exist",
        "unknown_item",
    ),
    (
        "index-duplicate-item",
        lambda d: d["indices"][1]["items"].append("problem_klotter"),
        ["indices", 1, "items", 7],
        "listed twice",
        "duplicate_key",
    ),
    (
        "number-min-above-max",
        _add_number(min=10, max=5),
        ["items", 27, "max"],
        "item 'antal_ar': max 5 is less than min 10",
        "invalid_range",
    ),
    (
        "min-on-text",
        lambda d: item_of(d, "fritext_plats").update(min=1),
        ["items", 22, "min"],
        "only for number items",
        "not_allowed",
    ),
    (
        "integer-on-scale",
        lambda d: d["items"][0].update(integer=False),
        ["items", 0, "integer"],
        "only for number items",
        "not_allowed",
    ),
    (
        "max_length-zero",
        lambda d: item_of(d, "fritext_plats").update(max_length=0),
        ["items", 22, "max_length"],
        "between 1 and 10000",
        "invalid_range",
    ),
    (
        "max_length-too-big",
        lambda d: item_of(d, "fritext_plats").update(max_length=10001),
        ["items", 22, "max_length"],
        "between 1 and 10000",
        "invalid_range",
    ),
    (
        "max_length-on-scale",
        lambda d: d["items"][0].update(max_length=100),
        ["items", 0, "max_length"],
        "only for text items",
        "not_allowed",
    ),
    (
        "background-multi-choice",
        lambda d: d["items"][5].update(background=True),
        ["items", 5, "background"],
        "item 'utsatt_brott_12m': background items must be single_choice",
        "not_allowed",
    ),
    (
        "no-items",
        lambda d: d.update(items=[], indicators=[], indices=[]),
        ["items"],
        "at least one item",
        "too_short",
    ),
]


@pytest.mark.parametrize(
    ("mutate", "loc", "fragment", "type_"),
    [pytest.param(*case[1:], id=case[0]) for case in SEMANTIC_CASES],
)
def test_semantic_errors(
    mutate: Callable[[Data], object], loc: Loc, fragment: str, type_: str
) -> None:
    data = standard()
    mutate(data)
    assert_error(data, loc, fragment, type_)


def test_all_semantic_errors_are_collected() -> None:
    data = standard()
    data["default_language"] = "fi"
    data["items"][4]["section"] = "nowhere"
    item_of(data, "anmalt_polis")["show_if"]["item"] = "x"
    data["indices"][0]["items"].append("kon")
    data["items"][0]["favourable"] = [1, 9]
    locs = [error["loc"] for error in errors_of(data)]
    assert ["default_language"] in locs
    assert ["items", 4, "section"] in locs
    assert ["items", 6, "show_if", "item"] in locs
    assert ["indices", 0, "items", 4] in locs
    assert ["items", 0, "favourable", 1] in locs
    assert len(locs) == 5


def test_definition_error_message() -> None:
    data = standard()
    data["items"][4]["section"] = "nowhere"
    with pytest.raises(DefinitionError, match="section 'nowhere' does not exist") as info:
        parse_definition(data)
    assert isinstance(info.value, ValueError)


def test_multi_choice_score_and_exclusive_are_accepted() -> None:
    data = standard()
    data["items"][5]["options"][0]["score"] = None
    # The victimisation indicator counts code 1, which may not be non-substantive.
    data["indicators"] = [i for i in data["indicators"] if i["item"] != "utsatt_brott_12m"]
    definition = parse_definition(data)
    assert not definition.item("utsatt_brott_12m").option(1).is_substantive
    assert definition.item("utsatt_brott_12m").option(6).exclusive


# --- item signatures -------------------------------------------------------------------------


def _item(data: Data, key: str) -> Item:
    return parse_definition(data).item(key)


def test_item_signature_ignores_wording_but_not_scoring() -> None:
    base = item_signature(_item(standard(), "trygg_ute_kvall"))

    reworded = standard()
    reworded["items"][0]["text"]["sv"] = "Ny formulering"
    reworded["items"][0]["options"][0]["label"]["en"] = "Really safe"
    reworded["items"][0]["options"][0]["score"] = 4.0
    assert item_signature(_item(reworded, "trygg_ute_kvall")) == base

    rescored = standard()
    rescored["items"][0]["options"][4]["score"] = 2  # "not going out" scored as fairly unsafe
    assert item_signature(_item(rescored, "trygg_ute_kvall")) != base

    refavoured = standard()
    refavoured["items"][0]["favourable"] = [1]
    assert item_signature(_item(refavoured, "trygg_ute_kvall")) != base

    recoded = standard()
    recoded["items"][0]["options"][6]["code"] = 99
    assert item_signature(_item(recoded, "trygg_ute_kvall")) != base

    reordered = standard()
    reordered["items"][0]["options"].reverse()
    assert item_signature(_item(reordered, "trygg_ute_kvall")) == base


def test_item_signature_separates_missing_score_from_null() -> None:
    data = standard()
    data["items"][pos(data, "kon")]["options"][0]["score"] = None
    changed = item_signature(_item(data, "kon"))
    assert changed != item_signature(_item(standard(), "kon"))


# --- answers ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def definition() -> QuestionnaireDefinition:
    return parse_definition(standard())


def full_answers() -> dict[str, object]:
    """A complete, valid response to the standard questionnaire."""
    answers: dict[str, object] = {
        key: 2
        for key in [
            "trygg_ute_kvall",
            "trygg_gemensamma_utr",
            "trygg_bostad",
            "oro_brott_omrade",
            "avstatt_pga_oro",
            "problem_nedskrapning",
            "problem_klotter",
            "problem_belysning",
            "problem_grupper",
            "problem_narkotika",
            "problem_trafik",
            "problem_brak",
            "sammanhallning",
            "kollektiv_formaga",
            "fortroende_polis",
            "fortroende_vard",
            "trivsel",
            "bo_kvar",
            "utveckling_12m",
            "kannedom_fritidsbanken",
            "kon",
            "aldersgrupp",
            "boendetid",
            "barn_i_hushallet",
        ]
    }
    answers["trygg_bostad"] = 9  # non-substantive answers are valid answers
    answers["utsatt_brott_12m"] = [1, 3]
    answers["anmalt_polis"] = 3
    answers["fritext_plats"] = "Gångtunneln vid skolan, den är mörk på kvällen."
    return answers


def answer_errors(
    definition: QuestionnaireDefinition, answers: object
) -> list[tuple[Loc, str, str]]:
    return [(e["loc"], e["msg"], e["type"]) for e in validate_answers(definition, answers)]


def assert_one_error(
    definition: QuestionnaireDefinition,
    answers: object,
    loc: Loc,
    fragment: str = "",
    type_: str | None = None,
) -> None:
    errors = answer_errors(definition, answers)
    assert len(errors) == 1, errors
    got_loc, msg, got_type = errors[0]
    assert got_loc == loc
    assert fragment in msg, msg
    if type_ is not None:
        assert got_type == type_


def test_full_valid_answers(definition: QuestionnaireDefinition) -> None:
    answers = full_answers()
    assert len(answers) == 27
    assert validate_answers(definition, answers) == []


def test_empty_answers_are_valid_when_nothing_is_required(
    definition: QuestionnaireDefinition,
) -> None:
    assert validate_answers(definition, {}) == []


@pytest.mark.parametrize("answers", [[], "x", None, 3])
def test_answers_must_be_an_object(definition: QuestionnaireDefinition, answers: object) -> None:
    assert_one_error(definition, answers, ["answers"], "object", "object_type")


def test_unknown_item_key(definition: QuestionnaireDefinition) -> None:
    answers = full_answers() | {"favoritfarg": 1}
    assert_one_error(
        definition, answers, ["answers", "favoritfarg"], "unknown item", "unknown_item"
    )


@pytest.mark.parametrize(
    ("key", "value", "type_"),
    [
        ("trivsel", True, "int_type"),
        ("trivsel", "3", "int_type"),
        ("trivsel", 3.0, "int_type"),
        ("trivsel", [3], "int_type"),
        ("kon", False, "int_type"),
        ("utsatt_brott_12m", 1, "list_type"),
        ("utsatt_brott_12m", [True], "int_type"),
        ("utsatt_brott_12m", ["1"], "int_type"),
        ("fritext_plats", 5, "string_type"),
        ("fritext_plats", ["text"], "string_type"),
    ],
)
def test_wrong_answer_types(
    definition: QuestionnaireDefinition, key: str, value: object, type_: str
) -> None:
    answers = full_answers() | {key: value}
    # An unreadable trigger answer hides the follow-up; that is covered by its own test.
    del answers["anmalt_polis"]
    assert_one_error(definition, answers, ["answers", key], type_=type_)


def test_unknown_option_code_names_allowed_codes(definition: QuestionnaireDefinition) -> None:
    answers = full_answers() | {"trygg_bostad": 7}
    assert_one_error(
        definition,
        answers,
        ["answers", "trygg_bostad"],
        "unknown option code 7; allowed codes: 1, 2, 3, 4, 9",
        "unknown_code",
    )


def test_multi_choice_unknown_code(definition: QuestionnaireDefinition) -> None:
    answers = full_answers() | {"utsatt_brott_12m": [1, 7]}
    assert_one_error(
        definition, answers, ["answers", "utsatt_brott_12m"], "allowed codes", "unknown_code"
    )


def test_multi_choice_duplicates(definition: QuestionnaireDefinition) -> None:
    answers = full_answers() | {"utsatt_brott_12m": [1, 3, 1]}
    assert_one_error(
        definition, answers, ["answers", "utsatt_brott_12m"], "duplicate", "duplicate_code"
    )


def test_multi_choice_empty_list(definition: QuestionnaireDefinition) -> None:
    answers = full_answers()
    answers["utsatt_brott_12m"] = []
    del answers["anmalt_polis"]
    assert_one_error(definition, answers, ["answers", "utsatt_brott_12m"], "omit", "empty_list")


def test_exclusive_option_cannot_be_combined(definition: QuestionnaireDefinition) -> None:
    answers = full_answers() | {"utsatt_brott_12m": [2, 6]}
    assert_one_error(
        definition, answers, ["answers", "utsatt_brott_12m"], "code 6 is exclusive", "exclusive"
    )


def test_exclusive_option_alone_is_valid(definition: QuestionnaireDefinition) -> None:
    answers = full_answers() | {"utsatt_brott_12m": [6]}
    del answers["anmalt_polis"]
    assert validate_answers(definition, answers) == []


def test_null_is_rejected(definition: QuestionnaireDefinition) -> None:
    answers = full_answers() | {"kon": None}
    assert_one_error(definition, answers, ["answers", "kon"], "omit the item instead", "null")


def test_hidden_item_answered_is_rejected(definition: QuestionnaireDefinition) -> None:
    answers = full_answers() | {"utsatt_brott_12m": [6]}  # "none of these": anmalt_polis hidden
    assert_one_error(
        definition,
        answers,
        ["answers", "anmalt_polis"],
        "hidden item answered",
        "hidden_item_answered",
    )
    without_trigger = full_answers()
    del without_trigger["utsatt_brott_12m"]
    assert_one_error(
        definition, without_trigger, ["answers", "anmalt_polis"], type_="hidden_item_answered"
    )


def test_follow_up_accepted_when_visible(definition: QuestionnaireDefinition) -> None:
    for trigger in ([1], [5], [2, 4]):
        answers = {"utsatt_brott_12m": trigger, "anmalt_polis": 1}
        assert validate_answers(definition, answers) == []


def test_empty_text_is_rejected(definition: QuestionnaireDefinition) -> None:
    for value in ("", "   \n\t"):
        answers = full_answers() | {"fritext_plats": value}
        assert_one_error(
            definition,
            answers,
            ["answers", "fritext_plats"],
            "empty text: omit the item instead",
            "empty_text",
        )


def test_text_length_counts_stripped_text() -> None:
    item = {
        "key": "ovrigt",
        "kind": "text",
        "section": "fritext",
        "text": texts("Övrigt"),
        "max_length": 5,
    }
    definition = definition_with(item)
    assert validate_answers(definition, {"ovrigt": "  abcde  "}) == []
    assert_one_error(
        definition, {"ovrigt": "abcdef"}, ["answers", "ovrigt"], "at most 5", "too_long"
    )


def test_text_default_max_length(definition: QuestionnaireDefinition) -> None:
    assert validate_answers(definition, {"fritext_plats": "x" * 2000}) == []
    assert_one_error(
        definition, {"fritext_plats": "x" * 2001}, ["answers", "fritext_plats"], type_="too_long"
    )


def test_text_with_nul_is_rejected(definition: QuestionnaireDefinition) -> None:
    assert_one_error(
        definition,
        {"fritext_plats": "a\x00b"},
        ["answers", "fritext_plats"],
        type_="invalid_character",
    )


def test_required_visible_item_missing() -> None:
    data = standard()
    item_of(data, "kon")["required"] = True
    definition = parse_definition(data)
    answers = full_answers()
    del answers["kon"]
    assert_one_error(definition, answers, ["answers", "kon"], "required", "missing")


def test_required_hidden_item_may_be_missing() -> None:
    data = standard()
    item_of(data, "anmalt_polis")["required"] = True
    definition = parse_definition(data)
    assert validate_answers(definition, {}) == []
    assert validate_answers(definition, {"utsatt_brott_12m": [6]}) == []
    assert_one_error(
        definition, {"utsatt_brott_12m": [2]}, ["answers", "anmalt_polis"], type_="missing"
    )


def test_number_answers() -> None:
    definition = definition_with(number_item(min=0, max=120))
    loc: Loc = ["answers", "antal_ar"]
    assert validate_answers(definition, {"antal_ar": 0}) == []
    assert validate_answers(definition, {"antal_ar": 120}) == []
    assert_one_error(definition, {"antal_ar": 3.5}, loc, "whole number", "int_type")
    assert_one_error(definition, {"antal_ar": 3.0}, loc, "whole number", "int_type")
    assert_one_error(definition, {"antal_ar": True}, loc, type_="number_type")
    assert_one_error(definition, {"antal_ar": "12"}, loc, type_="number_type")
    assert_one_error(definition, {"antal_ar": -1}, loc, "minimum 0", "out_of_range")
    assert_one_error(definition, {"antal_ar": 121}, loc, "maximum 120", "out_of_range")


def test_number_answers_non_integer() -> None:
    definition = definition_with(number_item(integer=False, max=10.5))
    loc: Loc = ["answers", "antal_ar"]
    assert validate_answers(definition, {"antal_ar": 3.5}) == []
    assert validate_answers(definition, {"antal_ar": 3}) == []
    assert_one_error(definition, {"antal_ar": 10.75}, loc, type_="out_of_range")
    assert_one_error(definition, {"antal_ar": math.inf}, loc, "finite", "number_type")
    assert_one_error(definition, {"antal_ar": math.nan}, loc, "finite", "number_type")


def test_several_answer_errors_are_all_reported(definition: QuestionnaireDefinition) -> None:
    answers = full_answers() | {"x": 1, "trivsel": 7, "kon": None, "utsatt_brott_12m": [6]}
    locs = [loc for loc, _, _ in answer_errors(definition, answers)]
    assert sorted(map(tuple, locs)) == sorted(
        [
            ("answers", "x"),
            ("answers", "trivsel"),
            ("answers", "kon"),
            ("answers", "anmalt_polis"),
        ]
    )


# --- visibility ------------------------------------------------------------------------------


def _chained_definition() -> QuestionnaireDefinition:
    """Standard plus an item shown only when anmalt_polis is "Nej" (a two-step chain)."""
    follow_up = {
        "key": "varfor_inte_anmalt",
        "kind": "single_choice",
        "section": "utsatthet",
        "text": texts("Varför anmälde du inte?"),
        "options": [
            {"code": 1, "label": texts("Lönar sig inte")},
            {"code": 2, "label": texts("Rädd")},
        ],
        "show_if": {"item": "anmalt_polis", "any_of": [3]},
    }
    return parse_definition(with_item(standard(), follow_up, after="anmalt_polis"))


def test_visibility_single_and_list_values(definition: QuestionnaireDefinition) -> None:
    anmalt = definition.item("anmalt_polis")
    assert not is_visible(definition, anmalt, {})
    assert not is_visible(definition, anmalt, {"utsatt_brott_12m": [6]})
    assert is_visible(definition, anmalt, {"utsatt_brott_12m": [6, 2]})
    assert is_visible(definition, anmalt, {"utsatt_brott_12m": 3})  # a single value works too
    assert not is_visible(definition, anmalt, {"utsatt_brott_12m": True})  # True is not code 1
    assert not is_visible(definition, anmalt, {"utsatt_brott_12m": [True]})
    assert is_visible(definition, definition.item("trivsel"), {})


def test_visible_items(definition: QuestionnaireDefinition) -> None:
    keys = [item.key for item in visible_items(definition, {})]
    assert "anmalt_polis" not in keys
    assert len(keys) == 26
    keys = [item.key for item in visible_items(definition, {"utsatt_brott_12m": [1]})]
    assert len(keys) == 27
    assert keys == [item.key for item in definition.items]


def test_chained_show_if_hides_when_target_hidden() -> None:
    definition = _chained_definition()
    follow_up = definition.item("varfor_inte_anmalt")
    assert is_visible(definition, follow_up, {"utsatt_brott_12m": [1], "anmalt_polis": 3})
    assert not is_visible(definition, follow_up, {"utsatt_brott_12m": [1], "anmalt_polis": 1})
    # A stale answer to a hidden target must not reveal the follow-up.
    stale = {"utsatt_brott_12m": [6], "anmalt_polis": 3}
    assert not is_visible(definition, follow_up, stale)
    assert (
        validate_answers(
            definition, {"utsatt_brott_12m": [1], "anmalt_polis": 3, "varfor_inte_anmalt": 2}
        )
        == []
    )
    errors = answer_errors(definition, stale | {"varfor_inte_anmalt": 2})
    assert [loc for loc, _, _ in errors] == [
        ["answers", "anmalt_polis"],
        ["answers", "varfor_inte_anmalt"],
    ]
