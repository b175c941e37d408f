"""The shipped standard questionnaires (trygghetsmätning and kundenkät): each file loads through
the public API unchanged, the kundenkät reuses the trygghetsmätning's items and index word for
word, and every text is there in Swedish, English and Arabic."""

import json
import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from survey_api.models import QuestionnaireVersion
from survey_api.questionnaires.definition import (
    load_standard_definition,
    parse_definition,
    standard_definitions,
    standard_keys,
)
from survey_api.questionnaires.document import STANDARD_DEFINITION_FILES
from tests.conftest import Org
from tests.helpers import ok

DATA = Path(__file__).resolve().parents[2] / "src/survey_api/data"
FILES = [DATA / name for name in STANDARD_DEFINITION_FILES]
RAW = {path.stem: json.loads(path.read_text(encoding="utf-8")) for path in FILES}
TRYGG = RAW["trygghetsmatning-standard"]
KUND = RAW["kundenkat-standard"]
LANGUAGES = {"sv", "en", "ar"}
ARABIC_LETTER = re.compile(r"[\u0621-\u064A]")

REUSED = [
    "trivsel",
    "sammanhallning",
    "trygg_ute_kvall",
    "trygg_gemensamma_utr",
    "trygg_bostad",
    "oro_brott_omrade",
    "bo_kvar",
    "kon",
    "aldersgrupp",
    "boendetid",
    "barn_i_hushallet",
]
SATISFACTION = [
    "lgh_standard",
    "lgh_underhall",
    "tvattstuga",
    "stadning",
    "utemiljo_skotsel",
    "belysning_ute",
    "lekplatser",
    "service_na",
    "service_bemotande",
    "service_information",
    "nojd_totalt",
]


def items_of(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["key"]: item for item in definition["items"]}


def by_key(entries: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {entry["key"]: entry for entry in entries}


def texts(definition: dict[str, Any]) -> list[tuple[str, dict[str, str]]]:
    """Every localised text of a definition, with where it is."""
    found: list[tuple[str, dict[str, str]]] = [("name", definition["name"])]
    if "intro" in definition:
        found.append(("intro", definition["intro"]))
    found += [(f"section {s['key']}", s["title"]) for s in definition["sections"]]
    for item in definition["items"]:
        found.append((f"item {item['key']}", item["text"]))
        found += [
            (f"item {item['key']} option {o['code']}", o["label"]) for o in item.get("options", [])
        ]
    found += [(f"indicator {i['key']}", i["label"]) for i in definition.get("indicators", [])]
    found += [(f"index {i['key']}", i["label"]) for i in definition.get("indices", [])]
    return found


def test_every_shipped_file_is_a_standard_questionnaire_named_by_its_key() -> None:
    assert {path.name for path in FILES} == {
        "trygghetsmatning-standard.json",
        "kundenkat-standard.json",
    }
    assert [path.stem for path in FILES] == list(standard_keys())
    assert standard_keys()[0] == "trygghetsmatning-standard"
    assert [d.key for d in standard_definitions()] == list(standard_keys())
    for key, raw in RAW.items():
        assert raw["key"] == key
        parsed = parse_definition(raw)
        # The loader reads the same file, and the model keeps it key for key.
        assert load_standard_definition(key).to_json() == raw == parsed.to_json()
    assert load_standard_definition().key == "trygghetsmatning-standard"
    with pytest.raises(KeyError):
        load_standard_definition("nojdkundindex")


def test_both_standard_questionnaires_load_through_the_api_unchanged(
    org: Org, db: sessionmaker[Session]
) -> None:
    ids = {}
    for key, raw in RAW.items():
        created = ok(org.analyst.post("/api/v1/questionnaires", json=raw), 201)
        assert created["questionnaire"]["key"] == key
        assert created["questionnaire"]["name"] == raw["name"]
        assert created["version"]["definition"] == raw
        ids[key] = created["questionnaire"]["id"]
    for key, raw in RAW.items():
        path = f"/api/v1/questionnaires/{ids[key]}/versions/1"
        assert ok(org.integrator.get(path))["definition"] == raw
        published = ok(org.analyst.post(f"{path}/publish"))
        assert (published["status"], published["definition"]) == ("published", raw)
        with db() as session:
            stored = session.get(QuestionnaireVersion, published["id"])
            assert stored is not None and stored.definition == raw
    listed = ok(org.integrator.get("/api/v1/questionnaires"))["items"]
    assert sorted(q["key"] for q in listed) == sorted(RAW)


@pytest.mark.parametrize("key", sorted(RAW))
def test_every_text_is_in_swedish_english_and_arabic(key: str) -> None:
    definition = RAW[key]
    assert set(definition["languages"]) == LANGUAGES
    assert definition["default_language"] == "sv"
    for where, text in texts(definition):
        assert set(text) == LANGUAGES, where
        assert all(value.strip() for value in text.values()), where
        # Arabic in Arabic script, not a copy of the Swedish or English.
        assert ARABIC_LETTER.search(text["ar"]), where
        assert not ARABIC_LETTER.search(text["sv"] + text["en"]), where


@pytest.mark.parametrize("key", sorted(RAW))
def test_every_index_item_is_a_scale_with_scores(key: str) -> None:
    definition = RAW[key]
    items = items_of(definition)
    for index in definition["indices"]:
        assert index["orientation"] in ("higher_is_better", "higher_is_worse")
        assert index["label"]["sv"].endswith("(0–100)"), index["key"]
        for component in index["items"]:
            item = items[component]
            assert item["kind"] == "scale", (index["key"], component)
            scores = {o["score"] for o in item["options"] if o.get("score") is not None}
            assert len(scores) >= 2, (index["key"], component)
            assert all("score" in o for o in item["options"]), (index["key"], component)


def test_reused_items_are_the_trygghetsmatnings_own() -> None:
    trygg, kund = items_of(TRYGG), items_of(KUND)
    for key in REUSED:
        ours, theirs = dict(kund[key]), dict(trygg[key])
        ours.pop("section")
        theirs.pop("section")
        # Text in every language, options, codes, scores, favourable, group, background flag.
        assert ours == theirs, key
    assert [k for k, i in kund.items() if i.get("background")] == [
        k for k, i in trygg.items() if i.get("background")
    ]


def test_trygghetsindex_and_andel_otrygga_kvall_read_across_both_surveys() -> None:
    assert by_key(KUND["indices"])["trygghetsindex"] == by_key(TRYGG["indices"])["trygghetsindex"]
    assert (
        by_key(KUND["indicators"])["andel_otrygga_kvall"]
        == by_key(TRYGG["indicators"])["andel_otrygga_kvall"]
    )


def test_the_kundenkat_has_the_agreed_items_indices_and_indicators() -> None:
    items = items_of(KUND)
    assert KUND["key"] == "kundenkat-standard"
    assert KUND["name"]["sv"] == "Kundenkät för hyresgäster"
    assert KUND["name"]["en"] == "Tenant customer survey"
    assert "anonyma" in KUND["intro"]["sv"]
    assert [s["key"] for s in KUND["sections"]] == [
        "lagenheten",
        "huset_utemiljo",
        "service",
        "felanmalan",
        "prisvarde_inflytande",
        "grannar_trivsel",
        "trygghet",
        "helhet",
        "fritext",
        "bakgrund",
    ]
    assert len(items) == 29
    # The fault report questions on a page of their own, not under "how satisfied are you".
    assert {items[k]["section"] for k in ("felanmalan_12m", "felanmalan_atgardad")} == {
        "felanmalan"
    }
    # Items in the order of their sections, so the form's pages follow the sections.
    order = [s["key"] for s in KUND["sections"]]
    positions = [order.index(item["section"]) for item in KUND["items"]]
    assert positions == sorted(positions)
    assert set(items) == {
        *SATISFACTION,
        *REUSED,
        "felanmalan_12m",
        "felanmalan_atgardad",
        "prisvarde",
        "inflytande",
        "grannar_storningar",
        "rekommendera",
        "fritext_forbattring",
    }

    def codes_scores(key: str) -> list[tuple[int, Any]]:
        return [(o["code"], o.get("score", "absent")) for o in items[key]["options"]]

    five = [(1, 1), (2, 2), (3, 3), (4, 4), (5, 5), (9, None)]
    four = [(1, 1), (2, 2), (3, 3), (4, 4), (9, None)]
    for key in SATISFACTION:
        assert items[key]["kind"] == "scale", key
        assert codes_scores(key) == five, key
        assert items[key]["favourable"] == [4, 5], key
        assert items[key]["options"][0]["label"]["sv"] == "Mycket missnöjd"
        assert items[key]["options"][4]["label"]["sv"] == "Mycket nöjd"
    assert items["nojd_totalt"]["section"] == "helhet"
    assert (codes_scores("prisvarde"), items["prisvarde"]["favourable"]) == (five, [4, 5])
    for key in ("inflytande", "grannar_storningar", "rekommendera"):
        assert (codes_scores(key), items[key]["favourable"]) == (four, [3, 4]), key
    assert items["inflytande"]["options"] == items["sammanhallning"]["options"]
    assert [o["label"]["sv"] for o in items["rekommendera"]["options"][:4]] == [
        "Nej, absolut inte",
        "Nej, troligen inte",
        "Ja, troligen",
        "Ja, absolut",
    ]
    assert items["felanmalan_12m"]["kind"] == "single_choice"
    assert codes_scores("felanmalan_12m") == [(1, "absent"), (2, "absent"), (9, None)]
    follow_up = items["felanmalan_atgardad"]
    assert follow_up["show_if"] == {"item": "felanmalan_12m", "any_of": [1]}
    assert codes_scores("felanmalan_atgardad") == [(1, 1), (2, 2), (3, 3), (9, None)]
    assert follow_up["favourable"] == [3]
    free = items["fritext_forbattring"]
    assert (free["kind"], free["max_length"], free["sensitive"]) == ("text", 2000, True)

    # A group is drawn as one grid under one set of answer options.
    groups: dict[str, list[dict[str, Any]]] = {}
    for item in KUND["items"]:
        if "group" in item:
            groups.setdefault(item["group"], []).append(item)
    assert {item["key"] for item in groups["nojdhet"]} == set(SATISFACTION) - {"nojd_totalt"}
    for members in groups.values():
        assert all(m["options"] == members[0]["options"] for m in members)

    assert {i["key"]: (i["items"], i["orientation"]) for i in KUND["indices"]} == {
        "serviceindex": (
            ["service_na", "service_bemotande", "felanmalan_atgardad", "service_information"],
            "higher_is_better",
        ),
        "produktindex": (
            [
                "lgh_standard",
                "lgh_underhall",
                "tvattstuga",
                "stadning",
                "utemiljo_skotsel",
                "belysning_ute",
                "lekplatser",
            ],
            "higher_is_better",
        ),
        "trivselindex": (
            ["trivsel", "sammanhallning", "grannar_storningar", "bo_kvar"],
            "higher_is_better",
        ),
        "trygghetsindex": (
            ["trygg_ute_kvall", "trygg_gemensamma_utr", "trygg_bostad", "oro_brott_omrade"],
            "higher_is_better",
        ),
    }
    assert {i["key"]: (i["item"], i["codes"]) for i in KUND["indicators"]} == {
        "andel_nojda_totalt": ("nojd_totalt", [4, 5]),
        "andel_rekommenderar": ("rekommendera", [3, 4]),
        "andel_ratt_forsta_gangen": ("felanmalan_atgardad", [3]),
        "andel_prisvart": ("prisvarde", [4, 5]),
        "andel_otrygga_kvall": ("trygg_ute_kvall", [3, 4, 5]),
    }


def test_the_api_serves_each_standard_questionnaire_as_shipped(org: Org) -> None:
    """GET /standard-questionnaires lists them with their open indicators and indices; each
    definition comes back byte for byte as the file has it and can be posted as it is."""
    listed = ok(org.integrator.get("/api/v1/standard-questionnaires"))["items"]
    assert [q["key"] for q in listed] == ["trygghetsmatning-standard", "kundenkat-standard"]
    for summary in listed:
        raw = RAW[summary["key"]]
        assert summary["name"] == raw["name"] and summary["languages"] == raw["languages"]
        assert summary["items"] == len(raw["items"])
        assert summary["indicators"] == raw["indicators"]
        assert summary["indices"] == raw["indices"]
        served = org.integrator.get(f"/api/v1/standard-questionnaires/{raw['key']}")
        assert served.status_code == 200 and served.json() == raw
    served = ok(org.analyst.get("/api/v1/standard-questionnaires/kundenkat-standard"))
    created = ok(org.analyst.post("/api/v1/questionnaires", json=served), 201)
    assert created["version"]["definition"] == KUND
    missing = org.analyst.get("/api/v1/standard-questionnaires/kundenkat")
    assert missing.status_code == 404
    assert "there are: trygghetsmatning-standard, kundenkat-standard" in missing.json()["detail"]
    assert org.analyst.get("/api/v1/standard-questionnaires/Ka%20y").status_code == 422
