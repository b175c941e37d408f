"""A handmade pair of questionnaire definitions whose comparability report is stated by hand."""

from typing import Any

Data = dict[str, Any]


def _t(sv: str, en: str | None = None) -> dict[str, str]:
    return {"sv": sv, "en": en or sv + " (en)"}


def _options(*specs: tuple[int, float | None] | int) -> list[Data]:
    options: list[Data] = []
    for spec in specs:
        if isinstance(spec, tuple):
            code, score = spec
            options.append({"code": code, "label": _t(f"Svar {code}"), "score": score})
        else:
            options.append({"code": spec, "label": _t(f"Svar {spec}")})
    return options


def _item(key: str, kind: str, options: list[Data] | None = None, **extra: Any) -> Data:
    item: Data = {"key": key, "kind": kind, "section": "s", "text": _t(f"Fråga {key}?")}
    if options is not None:
        item["options"] = options
    item.update(extra)
    return item


def version_1() -> Data:
    return {
        "key": "jamforbar",
        "name": _t("Jämförbarhet", "Comparability"),
        "default_language": "sv",
        "languages": ["sv", "en"],
        "sections": [{"key": "s", "title": _t("Avsnitt")}],
        "items": [
            _item(
                "a", "scale", _options((1, 4), (2, 3), (3, 2), (4, 1), (9, None)), favourable=[1, 2]
            ),
            _item("b", "single_choice", _options(1, 2, 3), favourable=[1]),
            _item("c", "scale", _options((1, 3), (2, 2), (3, 1))),
            _item("d", "scale", _options((1, 2), (2, 1))),
            _item("e", "single_choice", _options(1, 2), favourable=[1]),
            _item("f", "text"),
            _item("h", "scale", _options((1, 2), (2, 1), (3, 0))),
        ],
        "indicators": [
            {"key": "ind_a", "item": "a", "codes": [3, 4], "label": _t("Andel a")},
            {"key": "ind_b", "item": "b", "codes": [1], "label": _t("Andel b")},
        ],
        "indices": [
            {
                "key": "idx",
                "items": ["a", "c"],
                "orientation": "higher_is_better",
                "label": _t("Index"),
            },
            {
                "key": "idx2",
                "items": ["a", "h"],
                "orientation": "higher_is_better",
                "label": _t("Index 2"),
            },
        ],
    }


def version_2() -> Data:
    d = version_1()
    items = {item["key"]: item for item in d["items"]}
    # a: only wording changes, which never breaks a trend.
    items["a"]["text"] = _t("Hur trygg känner du dig?", "How safe do you feel?")
    items["a"]["options"][0]["label"] = _t("Väldigt trygg", "Really safe")
    # b: favourable codes widened.
    items["b"]["favourable"] = [1, 2]
    # c: a fourth option.
    items["c"]["options"].append({"code": 4, "label": _t("Svar 4"), "score": 0})
    # e: single choice becomes multi choice.
    items["e"]["kind"] = "multi_choice"
    # h: code 3 rescored.
    items["h"]["options"][2]["score"] = 0.5
    # d removed, g new.
    d["items"] = [
        items["a"],
        items["b"],
        items["c"],
        items["e"],
        items["f"],
        _item("g", "single_choice", _options(1, 2)),
        items["h"],
    ]
    d["indicators"][1]["codes"] = [1, 2]
    d["indices"][1]["orientation"] = "higher_is_worse"
    return d


def change(
    type_: str,
    item: str | None = None,
    codes: list[int] | None = None,
    before: list[str] | None = None,
    after: list[str] | None = None,
) -> tuple[Any, ...]:
    return (type_, item, codes or [], before or [], after or [])


# (target, key, status, [(type, item, codes, before, after), ...]) — worked out by hand.
EXPECTED: list[tuple[str, str, str, list[tuple[Any, ...]]]] = [
    ("item", "a", "keeps_trend", []),
    ("item", "b", "breaks", [change("favourable_changed", "b", before=["1"], after=["1", "2"])]),
    ("item", "c", "breaks", [change("codes_added", "c", codes=[4])]),
    (
        "item",
        "e",
        "breaks",
        [change("kind_changed", "e", before=["single_choice"], after=["multi_choice"])],
    ),
    ("item", "g", "new", []),
    ("item", "h", "breaks", [change("scores_changed", "h", codes=[3])]),
    ("item", "d", "removed", []),
    ("indicator", "ind_a", "keeps_trend", []),
    (
        "indicator",
        "ind_b",
        "breaks",
        [change("indicator_codes_changed", before=["1"], after=["1", "2"])],
    ),
    ("index", "idx", "breaks", [change("codes_added", "c", codes=[4])]),
    (
        "index",
        "idx2",
        "breaks",
        [
            change(
                "index_orientation_changed", before=["higher_is_better"], after=["higher_is_worse"]
            )
        ],
    ),
]
