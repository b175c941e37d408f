"""How a file of past responses maps onto a round's questionnaire: the import mapping.

A mapping names the column that holds the area (and how it is matched), the column(s) of each
item and how each source value becomes an option code, the language and the channel. Nothing
outside the mapping is ever read from a row, so a column the mapping does not name (LimeSurvey's
``id``, ``token``, ``ipaddr``, ``submitdate``…) is never stored anywhere.

Two ready-made mappings (``PRESETS``), both for the bundled standard questionnaire:

``limesurvey_standard``
    A LimeSurvey CSV export ("question code" headings, "answer codes") of the standard
    questionnaire set up in LimeSurvey as the README describes it. LimeSurvey question codes
    are letters and digits only, so each item key is written in camelCase
    (``trygg_ute_kvall`` → ``tryggUteKvall``) and cut to LimeSurvey's 20 characters where
    needed (``kannedom_fritidsbanken`` → ``kannedomFritidsbank``). Answer codes are ``A1``…``An``
    in the order of the item's options in the questionnaire, exactly as a LimeSurvey export of
    it has them: for a 1–4 + "Vet inte" (9) item ``A5`` is 9, for a 1–5 + 9 item ``A5`` is 5
    and ``A6`` is 9 (:func:`limesurvey_answer_codes`). A multiple-choice item is one column per
    option, ``utsattBrott12m[SQ001]``…, ticked with ``Y``. The area is the column ``omrade``
    (a question or a token attribute you add to the survey; rename it with an override, or give
    one area for the whole file with ``{"area": {"fixed": "<code>"}}`` when the company ran one
    survey per area), the language ``startlanguage``, the channel ``web``. LimeSurvey's own
    columns are listed in ``ignore`` so the report does not list them as unmapped.

``item_columns``
    A plain sheet (Excel or CSV): a column ``area`` with the area code and one column per item
    key holding option codes (numbers; a multiple-choice item as ``1;3``), every item of the
    round's questionnaire that has a column; the questionnaire's default language and the
    channel ``paper``.

A client may send ``{"preset": "limesurvey_standard", ...overrides}``: each top-level field
given replaces the preset's, except ``items``, which replaces the preset's mapping item by item
(``null`` drops an item, for example to leave free text out).
"""

from __future__ import annotations

import hashlib
import json
import re
from functools import cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from survey_api.exceptions import ValidationFailed
from survey_api.languages import LanguageCode
from survey_api.questionnaires.definition import Item, QuestionnaireDefinition
from survey_api.questionnaires.definition import load_standard_definition as _standard

#: A source value's target: an option code, "missing" (not answered) or "non_substantive" (the
#: item's "Vet inte": its option 9, else its one option without a score).
Target = int | Literal["missing", "non_substantive"]
MAX_VALUES = 200
LIMESURVEY_CODE_LENGTH = 20
#: LimeSurvey's own columns in a response export: never stored, not even read.
LIMESURVEY_OWN_COLUMNS = (
    "id",
    "submitdate",
    "lastpage",
    "startlanguage",
    "seed",
    "token",
    "ipaddr",
    "refurl",
    "startdate",
    "datestamp",
)
# Where camelCase and the 20-character cut disagree with the survey structure we publish.
_LIMESURVEY_CODE_EXCEPTIONS = {"kannedom_fritidsbanken": "kannedomFritidsbank"}
_Column = Field(min_length=1, max_length=200)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AreaMapping(_Strict):
    """Where each row's area comes from: a column, or one area for the whole file."""

    column: str | None = Field(
        default=None, min_length=1, max_length=200, description="The column with the area."
    )
    fixed: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="One area for every row (matched like a cell), when the file has no column.",
    )
    by: Literal["code", "deso_code", "name"] = Field(
        default="code", description="What the cell holds: the area's code, DeSO code or name."
    )
    values: dict[str, str] = Field(
        default_factory=dict,
        max_length=10_000,
        description="Optional: source value → the area's code/DeSO code/name.",
    )

    @model_validator(mode="after")
    def _one_source(self) -> AreaMapping:
        if (self.column is None) == (self.fixed is None):
            raise ValueError("give the area's `column` or one `fixed` area, not both or neither")
        return self


class LanguageMapping(_Strict):
    """Each response's language: from a column (optionally through `values`), one `fixed`
    language, or neither (the questionnaire's default language). A blank cell is the
    default language."""

    column: str | None = Field(default=None, min_length=1, max_length=200)
    fixed: LanguageCode | None = None
    values: dict[str, LanguageCode] = Field(default_factory=dict, max_length=MAX_VALUES)

    @model_validator(mode="after")
    def _at_most_one_source(self) -> LanguageMapping:
        if self.column is not None and self.fixed is not None:
            raise ValueError("give the language's `column` or one `fixed` language, not both")
        return self


class ItemMapping(_Strict):
    """The column(s) of one item and how a cell becomes an answer.

    One `column`: a scale or single-choice cell is an option code, through `values` when it
    is given (then a value outside it is a problem), else read as a whole number; a
    multiple-choice cell lists codes split by `separator`; a number is read with `.` or `,`
    as decimal mark; text is kept as it is. A blank cell is not answered unless `values`
    maps "". Or `columns` (multiple choice only): one column per option code, ticked when
    the cell is one of `ticked`, not ticked when blank or one of `unticked`."""

    column: str | None = Field(default=None, min_length=1, max_length=200)
    columns: dict[str, int] | None = Field(
        default=None, min_length=1, max_length=100, description="Column → option code."
    )
    values: dict[str, Target] = Field(default_factory=dict, max_length=MAX_VALUES)
    separator: str = Field(default=";", min_length=1, max_length=3)
    ticked: list[str] = Field(default_factory=lambda: ["Y"], max_length=20)
    unticked: list[str] = Field(default_factory=lambda: ["N"], max_length=20)

    @model_validator(mode="after")
    def _one_source(self) -> ItemMapping:
        if (self.column is None) == (self.columns is None):
            raise ValueError("give the item's `column`, or `columns` per option, not both")
        return self


class ImportMapping(_Strict):
    """How the columns of a file of past responses become responses (see the module)."""

    area: AreaMapping
    items: dict[str, ItemMapping] = Field(
        default_factory=dict, max_length=1000, description="Item key → its column(s)."
    )
    all_items_by_key: bool = Field(
        default=False,
        description="Also read every item the mapping does not list from the column named "
        "by its key, when the file has one (codes as numbers, multiple choice as `1;3`).",
    )
    language: LanguageMapping = Field(default_factory=LanguageMapping)
    channel: Literal["web", "paper", "phone"] = "web"
    ignore: list[str] = Field(
        default_factory=list,
        max_length=1000,
        description="Columns known and deliberately not imported (not listed as unmapped).",
    )

    def sha256(self) -> str:
        """The hash of the mapping's canonical JSON: with the file's hash, the identity of an
        import (the same file with the same mapping is imported once)."""
        canonical = json.dumps(
            self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        )
        return hashlib.sha256(canonical.encode()).hexdigest()


# ---------------------------------------------------------------------------------------------
# Presets
# ---------------------------------------------------------------------------------------------


def limesurvey_code(key: str) -> str:
    """The LimeSurvey question code of an item key: camelCase, at most 20 characters."""
    if key in _LIMESURVEY_CODE_EXCEPTIONS:
        return _LIMESURVEY_CODE_EXCEPTIONS[key]
    head, *rest = key.split("_")
    return (head + "".join(part[:1].upper() + part[1:] for part in rest))[:LIMESURVEY_CODE_LENGTH]


def limesurvey_answer_codes(item: Item) -> dict[str, Target]:
    """``A1``…``An`` → the item's option codes, in the questionnaire's option order."""
    return {f"A{i}": option.code for i, option in enumerate(item.options, start=1)}


def _limesurvey_standard(definition: QuestionnaireDefinition) -> ImportMapping:
    items: dict[str, ItemMapping] = {}
    for item in definition.items:
        code = limesurvey_code(item.key)
        if item.kind == "multi_choice":
            items[item.key] = ItemMapping(
                columns={
                    f"{code}[SQ{i:03d}]": option.code
                    for i, option in enumerate(item.options, start=1)
                }
            )
        elif item.kind in ("scale", "single_choice"):
            items[item.key] = ItemMapping(column=code, values=limesurvey_answer_codes(item))
        else:
            items[item.key] = ItemMapping(column=code)
    return ImportMapping(
        area=AreaMapping(column="omrade", by="code"),
        items=items,
        language=LanguageMapping(column="startlanguage"),
        channel="web",
        ignore=list(LIMESURVEY_OWN_COLUMNS),
    )


def _item_columns(definition: QuestionnaireDefinition) -> ImportMapping:
    return ImportMapping(
        area=AreaMapping(column="area", by="code"), all_items_by_key=True, channel="paper"
    )


PRESETS = {
    "limesurvey_standard": "A LimeSurvey CSV export (question codes, answer codes) of the "
    "standard questionnaire; the area in the column `omrade`.",
    "item_columns": "A plain Excel or CSV sheet: `area` (the area code) and one column per "
    "item key holding option codes.",
}


@cache
def _preset(name: str) -> ImportMapping:
    definition = _standard()
    return (
        _limesurvey_standard(definition)
        if name == "limesurvey_standard"
        else _item_columns(definition)
    )


def preset(name: str) -> ImportMapping:
    """A ready-made mapping by name (a copy: callers may change it); KeyError if unknown."""
    if name not in PRESETS:
        raise KeyError(name)
    return _preset(name).model_copy(deep=True)


# ---------------------------------------------------------------------------------------------
# Reading a mapping sent by a client
# ---------------------------------------------------------------------------------------------


def _invalid(errors: list[dict[str, Any]]) -> ValidationFailed:
    shown = "; ".join(f"{'.'.join(map(str, e['loc'][1:]))}: {e['msg']}" for e in errors[:5])
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return ValidationFailed(
        f"the mapping is invalid: {shown}{more}; nothing was imported", errors=errors
    )


def parse_mapping(text: str | bytes) -> ImportMapping:
    """The mapping from the JSON text of the form's `mapping` part, with its preset (if it
    names one) and overrides resolved; a 422 locating every problem under `mapping`."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise _invalid(
                [{"loc": ["body", "mapping"], "msg": "not UTF-8 text", "type": "json_invalid"}]
            ) from None
    if "\x00" in text:
        raise _invalid(
            [
                {
                    "loc": ["body", "mapping"],
                    "msg": "the mapping contains a NUL character",
                    "type": "invalid_character",
                }
            ]
        )
    try:
        raw = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise _invalid(
            [
                {
                    "loc": ["body", "mapping"],
                    "msg": f"not valid JSON: {exc}",
                    "type": "json_invalid",
                }
            ]
        ) from None
    return mapping_from(raw)


def mapping_from(raw: object) -> ImportMapping:
    """A mapping from decoded JSON (see :func:`parse_mapping`)."""
    if not isinstance(raw, dict):
        raise _invalid(
            [
                {
                    "loc": ["body", "mapping"],
                    "msg": "the mapping must be a JSON object",
                    "type": "object_type",
                }
            ]
        )
    if "preset" in raw:
        name = raw["preset"]
        if not isinstance(name, str) or name not in PRESETS:
            raise _invalid(
                [
                    {
                        "loc": ["body", "mapping", "preset"],
                        "msg": f"unknown preset {str(name)[:50]!r}; presets: " + ", ".join(PRESETS),
                        "type": "unknown_preset",
                    }
                ]
            )
        raw = _merged(preset(name).model_dump(mode="json", exclude_unset=False), raw)
    try:
        return ImportMapping.model_validate(raw)
    except ValidationError as exc:
        raise _invalid(
            [
                {
                    "loc": ["body", "mapping", *[p for p in e["loc"]]],
                    "msg": e["msg"],
                    "type": e["type"],
                }
                for e in exc.errors(include_url=False)
            ]
        ) from None


def _merged(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in overrides.items():
        if key == "preset":
            continue
        if key == "items" and isinstance(value, dict):
            items = dict(base.get("items") or {})
            for item_key, item in value.items():
                if item is None:
                    items.pop(item_key, None)
                else:
                    items[item_key] = item
            merged["items"] = items
        else:
            merged[key] = value
    return merged


# ---------------------------------------------------------------------------------------------
# Checking a mapping against the round's questionnaire
# ---------------------------------------------------------------------------------------------

_WHOLE_NUMBER = re.compile(r"[+-]?\d{1,15}")


def non_substantive_code(item: Item) -> int | None:
    """The item's "Vet inte": option 9 if it has one, else its only option without a score."""
    if 9 in item.options_by_code:
        return 9
    unscored = [o.code for o in item.options if o.score is None]
    return unscored[0] if len(unscored) == 1 and item.kind == "scale" else None


def check_against(mapping: ImportMapping, definition: QuestionnaireDefinition) -> None:
    """Every item the mapping names must be in the questionnaire, with codes it has; a 422
    locating each problem under `mapping` otherwise."""
    errors: list[dict[str, Any]] = []

    def add(loc: list[str | int], msg: str, kind: str) -> None:
        errors.append({"loc": ["body", "mapping", *loc], "msg": msg, "type": kind})

    for key, item_mapping in mapping.items.items():
        item = definition.items_by_key.get(key)
        if item is None:
            add(["items", key], f"the questionnaire has no item {key[:63]!r}", "unknown_item")
            continue
        if item_mapping.columns is not None and item.kind != "multi_choice":
            add(
                ["items", key, "columns"],
                f"`columns` per option is for multiple-choice items; {key!r} is {item.kind}",
                "not_multi_choice",
            )
        for column, code in (item_mapping.columns or {}).items():
            if code not in item.options_by_code:
                add(
                    ["items", key, "columns", column],
                    f"{key!r} has no option {code}",
                    "unknown_code",
                )
        if item_mapping.values and item.kind in ("number", "text"):
            add(["items", key, "values"], f"{key!r} is {item.kind}: it takes no `values`", "values")
        for source, target in item_mapping.values.items():
            if target == "non_substantive" and non_substantive_code(item) is None:
                add(
                    ["items", key, "values", source],
                    f"{key!r} has no single non-substantive option; name its code",
                    "no_non_substantive",
                )
            elif isinstance(target, int) and target not in item.options_by_code:
                add(
                    ["items", key, "values", source],
                    f"{key!r} has no option {target}",
                    "unknown_code",
                )
    language = mapping.language
    targets: list[tuple[list[str | int], str | None]] = [(["language", "fixed"], language.fixed)]
    targets += [(["language", "values", k], v) for k, v in language.values.items()]
    for loc, name in targets:
        if name is not None and name not in definition.languages:
            add(
                loc,
                f"the questionnaire has no language {name!r} ({', '.join(definition.languages)})",
                "unknown_language",
            )
    if errors:
        raise _invalid(errors)


def read_code(text: str) -> int | None:
    """A cell as an option code, or None when it is not a whole number."""
    return int(text) if _WHOLE_NUMBER.fullmatch(text) else None
