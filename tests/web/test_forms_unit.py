"""Paging and reading posted fields, without a server."""

from typing import Any

import pytest

from survey_api.questionnaires.definition import load_standard_definition, parse_definition
from survey_api.web import forms, tokens
from tests.helpers import standard_definition

STANDARD = load_standard_definition()


def keys(pages: list[list[Any]]) -> list[list[str]]:
    return [[item.key for item in page] for page in pages]


def test_pages_follow_sections_and_put_follow_ups_on_a_later_page() -> None:
    pages = keys(forms.pages_of(STANDARD))
    assert pages[1] == ["utsatt_brott_12m"]
    assert pages[2] == ["anmalt_polis"]
    assert len(pages) == 10
    assert [k for page in pages for k in page] == [item.key for item in STANDARD.items]


def test_navigation_and_progress() -> None:
    nav = forms.Navigator(STANDARD)
    assert nav.progress(0, {}) == (1, 10)
    assert not nav.is_last(0, {})
    assert nav.next_page(1, {"utsatt_brott_12m": [6]}) == 3
    assert nav.next_page(1, {"utsatt_brott_12m": [2]}) == 2
    assert nav.progress(3, {"utsatt_brott_12m": [6]}) == (3, 9)
    assert nav.previous_page(3, {"utsatt_brott_12m": [6]}) == 1
    assert nav.previous_page(0, {}) is None
    assert nav.next_page(9, {}) is None and nav.is_last(9, {})


def test_a_chain_of_follow_ups_gets_one_page_each() -> None:
    data = standard_definition()
    texts = {"sv": "x", "en": "x", "ar": "x"}
    yes_no = [{"code": 1, "label": texts}, {"code": 2, "label": texts}]
    data["items"][1:1] = [
        {
            "key": "a",
            "kind": "single_choice",
            "section": "trygghet",
            "text": texts,
            "options": yes_no,
        },
        {
            "key": "b",
            "kind": "single_choice",
            "section": "trygghet",
            "text": texts,
            "options": yes_no,
            "show_if": {"item": "a", "any_of": [1]},
        },
        {
            "key": "c",
            "kind": "text",
            "section": "trygghet",
            "text": texts,
            "show_if": {"item": "b", "any_of": [1]},
        },
    ]
    definition = parse_definition(data)
    pages = keys(forms.pages_of(definition))
    assert pages[:3] == [
        ["trygg_ute_kvall", "a"],
        ["b"],
        ["c", "trygg_gemensamma_utr", "trygg_bostad", "oro_brott_omrade", "avstatt_pga_oro"],
    ]
    nav = forms.Navigator(definition)
    # On the first page, anything could still follow: "b" and "c" count.
    assert nav.progress(0, {}) == (1, len(pages))
    hidden = forms.prune_hidden(definition, {"a": 2, "b": 1, "c": "hidden"})
    assert hidden == {"a": 2}


def fields(**values: Any) -> dict[str, list[str]]:
    return {k: v if isinstance(v, list) else [v] for k, v in values.items()}


def test_read_page_parses_each_kind() -> None:
    items = [STANDARD.item(k) for k in ("trygg_bostad", "utsatt_brott_12m", "fritext_plats")]
    posted = forms.read_page(
        STANDARD,
        items,
        fields(trygg_bostad="9", utsatt_brott_12m=["1", "3", "3"], fritext_plats="a\r\nb  "),
        "sv",
    )
    assert posted.errors == {}
    assert posted.answers == {
        "trygg_bostad": 9,
        "utsatt_brott_12m": [1, 3],
        "fritext_plats": "a\nb  ",
    }


@pytest.mark.parametrize(
    ("values", "msgid"),
    [
        (fields(trygg_bostad="7"), forms.CHOOSE),
        (fields(trygg_bostad="x"), forms.CHOOSE),
        (fields(trygg_bostad=["1", "2"]), forms.CHOOSE),
        (fields(utsatt_brott_12m=["1", "6"]), forms.EXCLUSIVE),
        (fields(fritext_plats="x" * 2001), forms.TOO_LONG),
    ],
)
def test_read_page_errors(values: dict[str, list[str]], msgid: str) -> None:
    items = [STANDARD.item(k) for k in ("trygg_bostad", "utsatt_brott_12m", "fritext_plats")]
    posted = forms.read_page(STANDARD, items, values, "sv")
    assert [e.msgid for e in posted.errors.values()] == [msgid]


def test_blank_answers_are_no_answers() -> None:
    items = [STANDARD.item(k) for k in ("trygg_bostad", "fritext_plats")]
    posted = forms.read_page(STANDARD, items, fields(trygg_bostad="", fritext_plats=" \n "), "sv")
    assert posted.answers == {} and posted.errors == {}


def test_decode_state_drops_what_is_not_an_answer() -> None:
    raw = '{"trivsel": 4, "kon": true, "nope": 1, "utsatt_brott_12m": [1, "2"], "x": null}'
    assert forms.decode_state(STANDARD, raw) == {"trivsel": 4}
    assert forms.decode_state(STANDARD, "not json") == {}
    assert forms.decode_state(STANDARD, "[1]") == {}


def test_form_tokens_and_area_slugs() -> None:
    token = tokens.new_form_token(3, 4, "ACDEFHJKMNPQ")
    signed = tokens.sign_form_token("s", token)
    assert tokens.read_form_token("s", signed) == token
    assert tokens.read_form_token("other secret", signed) is None
    assert tokens.read_form_token("s", signed[:-2]) is None
    assert tokens.new_form_token(3, 4, None).nonce != token.nonce
    slug = tokens.area_slug("s", 12, 34)
    assert tokens.read_area_slug("s", slug) == (12, 34)
    assert tokens.read_area_slug("s", slug.upper()) == (12, 34)
    assert tokens.read_area_slug("s", slug.replace("12-", "13-")) is None
    assert tokens.read_area_slug("t", slug) is None
