"""The questionnaire definition format: models, semantic checks and answer validation.

A definition is the JSON document shipped as ``data/trygghetsmatning-standard.json``. This module
is pure (no database, no web framework) so the API, the tenant web form, bulk upload and the
results code all share one reading of it.

Substantiveness: an option is non-substantive ("Vet inte", "Vill inte svara") iff it carries an
explicit ``"score": null``. An option without a ``score`` key is a plain category and counts in
the valid base n. To keep that distinction (and every other absent key) the models are dumped
with ``exclude_unset=True``, which makes the JSON round-trip lossless.
"""

import json
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from functools import cache, cached_property
from importlib import resources
from typing import Annotated, Any, Literal, TypedDict

from pydantic import (
    ConfigDict,
    Field,
    PlainValidator,
    ValidationError,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from survey_api.input_types import RequestModel

__all__ = [
    "CHOICE_KINDS",
    "DEFAULT_TEXT_MAX_LENGTH",
    "DefinitionError",
    "FieldErrorDict",
    "Index",
    "Indicator",
    "Item",
    "ItemKind",
    "ItemSignature",
    "LocalisedText",
    "Option",
    "QuestionnaireDefinition",
    "Section",
    "ShowIf",
    "is_visible",
    "item_signature",
    "load_standard_definition",
    "parse_definition",
    "validate_answers",
    "visible_items",
]

ItemKind = Literal["scale", "single_choice", "multi_choice", "number", "text"]
Orientation = Literal["higher_is_better", "higher_is_worse"]
CHOICE_KINDS: frozenset[str] = frozenset({"scale", "single_choice", "multi_choice"})

DEFAULT_TEXT_MAX_LENGTH = 2000
MAX_TEXT_MAX_LENGTH = 10000
# Option codes are stored in 32-bit INTEGER columns (tallies).
MAX_CODE = 2_147_483_647
# Numbers are summed and squared as floats in results; beyond this they lose precision
# or overflow (float(10**400) raises).
MAX_ABS_NUMBER = 10**15
STANDARD_DEFINITION_FILE = "trygghetsmatning-standard.json"

# Item/section/indicator/index keys end up in URLs, CSV headers and `?by=` parameters.
KEY_RE = re.compile(r"[a-z][a-z0-9_]{0,62}")
# The questionnaire key is a slug; the standard file's own key contains a hyphen.
QUESTIONNAIRE_KEY_RE = re.compile(r"[a-z][a-z0-9_-]{0,62}")
# BCP 47-like: "sv", "ar", "so", "fa", "sr-Latn", "zh-Hans".
LANGUAGE_RE = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})*")


Loc = list[str | int]


class FieldErrorDict(TypedDict):
    """One error, in the shape of ``survey_api.exceptions.FieldError``."""

    loc: Loc
    msg: str
    type: str


class DefinitionError(ValueError):
    """A questionnaire definition is invalid; ``errors`` lists every problem found."""

    def __init__(self, errors: list[FieldErrorDict]) -> None:
        self.errors = errors
        first = errors[0]["msg"] if errors else "no details"
        count = f"{len(errors)} error" + ("" if len(errors) == 1 else "s")
        super().__init__(f"invalid questionnaire definition ({count}): {first}")


def _number(value: object) -> int | float:
    """Accept a JSON number as int or float, keeping which one it was (lossless dump)."""
    # bool is an int subclass: a JSON `true` must not slip through as the number 1.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PydanticCustomError("number_type", "Input should be a number")
    if isinstance(value, float) and not math.isfinite(value):
        raise PydanticCustomError("finite_number", "Input should be a finite number")
    if abs(value) > MAX_ABS_NUMBER:
        raise PydanticCustomError(
            "number_too_large", "Input should be between -1e15 and 1e15 (inclusive)"
        )
    return value


Number = Annotated[int | float, PlainValidator(_number), WithJsonSchema({"type": "number"})]
LocalisedText = dict[str, str]


class _Model(RequestModel):
    # Strict: a bool is not an int and "1" is not an int; no text with a NUL character
    # (RequestModel). Frozen: a published version is immutable, and frozen models make the
    # cached lookups below safe.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    def to_json(self) -> dict[str, Any]:
        """The JSON document this model was read from (absent keys stay absent)."""
        return self.model_dump(mode="json", exclude_unset=True)


class Option(_Model):
    """One answer option of a choice or scale item."""

    code: int = Field(ge=-MAX_CODE, le=MAX_CODE)
    label: LocalisedText
    score: Number | None = None
    exclusive: bool = False

    @property
    def has_score_key(self) -> bool:
        """Whether the definition gave a ``score`` key at all (null included)."""
        return "score" in self.model_fields_set

    @property
    def is_substantive(self) -> bool:
        """Whether answers with this option count in the valid base n."""
        # Only an explicit null marks "don't know"-style options; a missing score is a category.
        return not self.has_score_key or self.score is not None


class ShowIf(_Model):
    """Show an item only when an earlier item's answer contains one of ``any_of``."""

    item: str
    any_of: list[int] = Field(min_length=1)


class Item(_Model):
    """One question."""

    key: str
    kind: ItemKind
    section: str
    group: str | None = None
    text: LocalisedText
    options: list[Option] = Field(default_factory=list)
    favourable: list[int] = Field(default_factory=list)
    unfavourable: list[int] = Field(default_factory=list)
    show_if: ShowIf | None = None
    required: bool = False
    background: bool = False
    sensitive: bool = False
    max_length: int | None = None
    min: Number | None = None
    max: Number | None = None
    integer: bool = True

    @property
    def is_choice(self) -> bool:
        """Whether answers are option codes (scale, single or multi choice)."""
        return self.kind in CHOICE_KINDS

    @cached_property
    def options_by_code(self) -> dict[int, Option]:
        """Options keyed by code."""
        return {option.code: option for option in self.options}

    def option(self, code: int) -> Option:
        """The option with this code; KeyError if there is none."""
        return self.options_by_code[code]

    @cached_property
    def codes(self) -> tuple[int, ...]:
        """All option codes, in display order."""
        return tuple(option.code for option in self.options)

    @cached_property
    def substantive_codes(self) -> tuple[int, ...]:
        """Codes of substantive options, in display order."""
        return tuple(option.code for option in self.options if option.is_substantive)

    def score_range(self) -> tuple[float, float] | None:
        """(min, max) of the non-null option scores, or None when no option has a score."""
        scores = [option.score for option in self.options if option.score is not None]
        if not scores:
            return None
        return min(scores), max(scores)

    @property
    def effective_max_length(self) -> int:
        """Longest text answer accepted for a text item."""
        return DEFAULT_TEXT_MAX_LENGTH if self.max_length is None else self.max_length


class Section(_Model):
    """A titled group of items on the form."""

    key: str
    title: LocalisedText


class Indicator(_Model):
    """A named share: respondents choosing any of ``codes`` among the valid answers to ``item``."""

    key: str
    item: str
    codes: list[int]
    label: LocalisedText


class Index(_Model):
    """A composite 0-100 index over scale items."""

    key: str
    items: list[str]
    orientation: Orientation
    label: LocalisedText


class QuestionnaireDefinition(_Model):
    """A whole questionnaire version, as in the JSON format."""

    key: str
    name: LocalisedText
    intro: LocalisedText | None = None
    default_language: str
    languages: list[str]
    sections: list[Section]
    items: list[Item]
    indicators: list[Indicator] = Field(default_factory=list)
    indices: list[Index] = Field(default_factory=list)

    @cached_property
    def items_by_key(self) -> dict[str, Item]:
        """Items keyed by item key."""
        return {item.key: item for item in self.items}

    def item(self, key: str) -> Item:
        """The item with this key; KeyError if there is none."""
        return self.items_by_key[key]

    @cached_property
    def sections_by_key(self) -> dict[str, Section]:
        """Sections keyed by section key."""
        return {section.key: section for section in self.sections}

    @property
    def background_items(self) -> list[Item]:
        """Items usable as a breakdown (`?by=`)."""
        return [item for item in self.items if item.background]


# --- parsing and semantic checks -------------------------------------------------------------


def parse_definition(data: object) -> QuestionnaireDefinition:
    """Read and check a questionnaire definition; raise DefinitionError listing every problem."""
    try:
        definition = QuestionnaireDefinition.model_validate(data)
    except ValidationError as exc:
        raise DefinitionError(_from_pydantic(exc)) from None
    errors = _Checker(definition).run()
    if errors:
        raise DefinitionError(errors)
    return definition


@cache
def load_standard_definition() -> QuestionnaireDefinition:
    """The bundled standard questionnaire (trygghetsmätning), parsed and checked."""
    text = (
        resources.files("survey_api")
        .joinpath("data", STANDARD_DEFINITION_FILE)
        .read_text(encoding="utf-8")
    )
    return parse_definition(json.loads(text))


def _from_pydantic(exc: ValidationError) -> list[FieldErrorDict]:
    return [
        {"loc": list(error["loc"]), "msg": error["msg"], "type": error["type"]}
        for error in exc.errors(include_url=False, include_input=False, include_context=False)
    ]


def _error(loc: Sequence[str | int], msg: str, type_: str) -> FieldErrorDict:
    return {"loc": list(loc), "msg": msg, "type": type_}


def _codes_text(codes: Iterable[int]) -> str:
    return ", ".join(str(code) for code in codes) or "none"


def _duplicates(values: Iterable[Any]) -> set[Any]:
    return {value for value, count in Counter(values).items() if count > 1}


class _Checker:
    """Collects every semantic error of a structurally valid definition."""

    def __init__(self, definition: QuestionnaireDefinition) -> None:
        self.d = definition
        self.errors: list[FieldErrorDict] = []
        # Deduplicated so a duplicated language is reported once, not on every text.
        self.languages = list(dict.fromkeys(definition.languages))
        # First occurrence wins, so a duplicate key does not shift show_if positions.
        self.positions: dict[str, int] = {}
        for index, item in enumerate(definition.items):
            self.positions.setdefault(item.key, index)

    def add(self, loc: Loc, msg: str, type_: str) -> None:
        self.errors.append(_error(loc, msg, type_))

    def run(self) -> list[FieldErrorDict]:
        self.check_header()
        section_keys = self.check_sections()
        self.check_items(section_keys)
        self.check_indicators()
        self.check_indices()
        return self.errors

    # -- shared checks

    def check_key(self, loc: Loc, what: str, key: str, seen: set[str]) -> None:
        if not KEY_RE.fullmatch(key):
            self.add(
                loc,
                f"{what} key '{key}' must match ^[a-z][a-z0-9_]{{0,62}}$",
                "invalid_key",
            )
        if key in seen:
            self.add(loc, f"duplicate {what} key '{key}'", "duplicate_key")
        seen.add(key)

    def check_text(self, loc: Loc, owner: str, text: LocalisedText) -> None:
        """Every language of the questionnaire, no other, none empty."""
        missing = [lang for lang in self.languages if lang not in text]
        if missing:
            self.add(
                loc,
                f"{owner} lacks a translation for {', '.join(repr(m) for m in missing)}",
                "missing_translation",
            )
        for lang, value in text.items():
            if lang not in self.languages:
                self.add(
                    [*loc, lang],
                    f"{owner} has language '{lang}', which is not in languages",
                    "unknown_language",
                )
            elif not value.strip():
                self.add([*loc, lang], f"{owner} is empty in '{lang}'", "empty_text")

    def check_codes(
        self, loc: Loc, owner: str, item: Item, codes: Sequence[int], *, substantive: bool
    ) -> None:
        """Each code is an option of ``item`` (and substantive when asked), listed once."""
        seen: set[int] = set()
        for j, code in enumerate(codes):
            option = item.options_by_code.get(code)
            if option is None:
                self.add(
                    [*loc, j],
                    f"{owner}: code {code} is not an option of '{item.key}' "
                    f"(codes: {_codes_text(item.codes)})",
                    "unknown_code",
                )
            elif substantive and not option.is_substantive:
                # Non-substantive answers are excluded from n, so a share over them is undefined.
                self.add(
                    [*loc, j],
                    f"{owner}: code {code} of '{item.key}' is non-substantive (score null)",
                    "non_substantive_code",
                )
            if code in seen:
                self.add([*loc, j], f"{owner}: code {code} is listed twice", "duplicate_code")
            seen.add(code)

    # -- sections of the document

    def check_header(self) -> None:
        d = self.d
        if not QUESTIONNAIRE_KEY_RE.fullmatch(d.key):
            self.add(
                ["key"],
                f"questionnaire key '{d.key}' must match ^[a-z][a-z0-9_-]{{0,62}}$",
                "invalid_key",
            )
        if not d.languages:
            self.add(["languages"], "at least one language is needed", "too_short")
        seen: set[str] = set()
        for i, lang in enumerate(d.languages):
            if not LANGUAGE_RE.fullmatch(lang):
                self.add(["languages", i], f"'{lang}' is not a language code", "invalid_language")
            if lang in seen:
                self.add(["languages", i], f"language '{lang}' is listed twice", "duplicate_key")
            seen.add(lang)
        if d.default_language not in d.languages:
            self.add(
                ["default_language"],
                f"default_language '{d.default_language}' is not in languages",
                "unknown_language",
            )
        self.check_text(["name"], "name", d.name)
        if d.intro is not None:
            self.check_text(["intro"], "intro", d.intro)

    def check_sections(self) -> set[str]:
        seen: set[str] = set()
        for i, section in enumerate(self.d.sections):
            self.check_key(["sections", i, "key"], "section", section.key, seen)
            self.check_text(
                ["sections", i, "title"], f"section '{section.key}': title", section.title
            )
        return seen

    def check_items(self, section_keys: set[str]) -> None:
        if not self.d.items:
            self.add(["items"], "a questionnaire needs at least one item", "too_short")
        seen: set[str] = set()
        for i, item in enumerate(self.d.items):
            loc: Loc = ["items", i]
            owner = f"item '{item.key}'"
            self.check_key([*loc, "key"], "item", item.key, seen)
            if item.section not in section_keys:
                self.add(
                    [*loc, "section"],
                    f"{owner}: section '{item.section}' does not exist",
                    "unknown_section",
                )
            if item.group is not None and not KEY_RE.fullmatch(item.group):
                self.add(
                    [*loc, "group"],
                    f"{owner}: group '{item.group}' must match ^[a-z][a-z0-9_]{{0,62}}$",
                    "invalid_key",
                )
            self.check_text([*loc, "text"], f"{owner}: text", item.text)
            self.check_options(loc, owner, item)
            self.check_favourable(loc, owner, item)
            self.check_show_if(i, owner, item)
            self.check_kind_fields(loc, owner, item)

    def check_options(self, loc: Loc, owner: str, item: Item) -> None:
        if not item.is_choice:
            if "options" in item.model_fields_set:
                self.add(
                    [*loc, "options"], f"{owner}: {item.kind} items have no options", "not_allowed"
                )
            return
        if len(item.options) < 2:
            self.add(
                [*loc, "options"], f"{owner}: {item.kind} needs at least 2 options", "too_short"
            )
        seen: set[int] = set()
        for j, option in enumerate(item.options):
            oloc: Loc = [*loc, "options", j]
            if option.code in seen:
                self.add(
                    [*oloc, "code"],
                    f"{owner}: duplicate option code {option.code}",
                    "duplicate_code",
                )
            seen.add(option.code)
            self.check_text([*oloc, "label"], f"{owner}: option {option.code} label", option.label)
            if option.exclusive and item.kind != "multi_choice":
                self.add(
                    [*oloc, "exclusive"],
                    f"{owner}: exclusive is only meaningful on multi_choice items",
                    "not_allowed",
                )
            if item.kind == "scale" and not option.has_score_key:
                self.add(
                    [*oloc, "score"],
                    f"{owner}: scale option {option.code} needs a score (a number, or null "
                    "for a non-substantive answer)",
                    "missing_score",
                )
        if item.kind == "scale":
            scores = {option.score for option in item.options if option.score is not None}
            if len(scores) < 2:
                self.add(
                    [*loc, "options"],
                    f"{owner}: a scale needs at least 2 distinct non-null scores",
                    "too_few_scores",
                )

    def check_favourable(self, loc: Loc, owner: str, item: Item) -> None:
        for field in ("favourable", "unfavourable"):
            codes: list[int] = getattr(item, field)
            if codes and not item.is_choice:
                self.add(
                    [*loc, field],
                    f"{owner}: {field} codes need a choice or scale item",
                    "not_allowed",
                )
            elif codes:
                self.check_codes([*loc, field], owner, item, codes, substantive=True)
        overlap = sorted(set(item.favourable) & set(item.unfavourable))
        if overlap:
            self.add(
                [*loc, "unfavourable"],
                f"{owner}: codes {_codes_text(overlap)} are both favourable and unfavourable",
                "overlapping_codes",
            )

    def check_show_if(self, i: int, owner: str, item: Item) -> None:
        if item.show_if is None:
            return
        loc: Loc = ["items", i, "show_if"]
        target_key = item.show_if.item
        position = self.positions.get(target_key)
        # Only earlier items: the form is filled in order and this rules out cycles.
        if position is None or position >= i:
            self.add(
                [*loc, "item"],
                f"{owner}: show_if refers to '{target_key}', which is not an earlier item",
                "invalid_show_if",
            )
            return
        target = self.d.items[position]
        if not target.is_choice:
            self.add(
                [*loc, "item"],
                f"{owner}: show_if refers to '{target_key}', a {target.kind} item without options",
                "invalid_show_if",
            )
            return
        self.check_codes(
            [*loc, "any_of"], f"{owner}: show_if", target, item.show_if.any_of, substantive=False
        )

    def check_kind_fields(self, loc: Loc, owner: str, item: Item) -> None:
        fields_set = item.model_fields_set
        if item.kind != "number":
            for field in ("min", "max", "integer"):
                if field in fields_set:
                    self.add(
                        [*loc, field], f"{owner}: {field} is only for number items", "not_allowed"
                    )
        elif item.min is not None and item.max is not None and item.min > item.max:
            self.add(
                [*loc, "max"],
                f"{owner}: max {item.max} is less than min {item.min}",
                "invalid_range",
            )
        if item.max_length is not None:
            if item.kind != "text":
                self.add(
                    [*loc, "max_length"],
                    f"{owner}: max_length is only for text items",
                    "not_allowed",
                )
            elif not 1 <= item.max_length <= MAX_TEXT_MAX_LENGTH:
                self.add(
                    [*loc, "max_length"],
                    f"{owner}: max_length must be between 1 and {MAX_TEXT_MAX_LENGTH}",
                    "invalid_range",
                )
        # Breakdowns (`?by=`) need exactly one group per respondent.
        if item.background and item.kind != "single_choice":
            self.add(
                [*loc, "background"],
                f"{owner}: background items must be single_choice, not {item.kind}",
                "not_allowed",
            )

    def check_indicators(self) -> None:
        seen: set[str] = set()
        for k, indicator in enumerate(self.d.indicators):
            loc: Loc = ["indicators", k]
            owner = f"indicator '{indicator.key}'"
            self.check_key([*loc, "key"], "indicator", indicator.key, seen)
            self.check_text([*loc, "label"], f"{owner}: label", indicator.label)
            item = self.d.items_by_key.get(indicator.item)
            if item is None:
                self.add(
                    [*loc, "item"],
                    f"{owner}: item '{indicator.item}' does not exist",
                    "unknown_item",
                )
                continue
            if not item.is_choice:
                self.add(
                    [*loc, "item"],
                    f"{owner}: item '{item.key}' is a {item.kind} item; indicators need options",
                    "invalid_item_kind",
                )
                continue
            if not indicator.codes:
                self.add([*loc, "codes"], f"{owner}: at least one code is needed", "too_short")
            self.check_codes([*loc, "codes"], owner, item, indicator.codes, substantive=True)

    def check_indices(self) -> None:
        seen: set[str] = set()
        for k, index in enumerate(self.d.indices):
            loc: Loc = ["indices", k]
            owner = f"index '{index.key}'"
            self.check_key([*loc, "key"], "index", index.key, seen)
            self.check_text([*loc, "label"], f"{owner}: label", index.label)
            if len(index.items) < 2:
                self.add([*loc, "items"], f"{owner}: needs at least 2 items", "too_short")
            listed: set[str] = set()
            for j, key in enumerate(index.items):
                item = self.d.items_by_key.get(key)
                if item is None:
                    self.add(
                        [*loc, "items", j], f"{owner}: item '{key}' does not exist", "unknown_item"
                    )
                elif item.kind != "scale":
                    # Components are rescaled by their score range, which only scales have.
                    self.add(
                        [*loc, "items", j],
                        f"{owner}: item '{key}' is {item.kind}; index items must be scale items",
                        "invalid_item_kind",
                    )
                if key in listed:
                    self.add(
                        [*loc, "items", j],
                        f"{owner}: item '{key}' is listed twice",
                        "duplicate_key",
                    )
                listed.add(key)


# --- answers ---------------------------------------------------------------------------------


def _is_code(value: object) -> bool:
    # bool is an int subclass, and True == 1 would otherwise match option code 1.
    return isinstance(value, int) and not isinstance(value, bool)


def _answer_contains(value: object, codes: Sequence[int]) -> bool:
    if _is_code(value):
        return value in codes
    if isinstance(value, list):
        return any(_is_code(v) and v in codes for v in value)
    return False


def is_visible(
    definition: QuestionnaireDefinition, item: Item, answers: Mapping[str, object]
) -> bool:
    """Whether ``item`` is shown given ``answers`` (its whole show_if chain must be satisfied)."""
    current = item
    seen: set[str] = set()
    while current.show_if is not None:
        # A guard for unchecked definitions: parse_definition already rules out cycles.
        if current.key in seen:
            return False
        seen.add(current.key)
        if not _answer_contains(answers.get(current.show_if.item), current.show_if.any_of):
            return False
        target = definition.items_by_key.get(current.show_if.item)
        if target is None:
            return False
        # The target's answer only counts if the target itself is shown.
        current = target
    return True


def visible_items(definition: QuestionnaireDefinition, answers: Mapping[str, object]) -> list[Item]:
    """The items shown given ``answers``, in questionnaire order."""
    return [item for item in definition.items if is_visible(definition, item, answers)]


def validate_answers(definition: QuestionnaireDefinition, answers: object) -> list[FieldErrorDict]:
    """Check one response's answers (item key -> value); an empty list means valid."""
    if not isinstance(answers, Mapping):
        return [
            _error(["answers"], "answers must be an object of item key to answer", "object_type")
        ]
    errors: list[FieldErrorDict] = []
    for key in answers:
        if not isinstance(key, str) or key not in definition.items_by_key:
            errors.append(_error(["answers", str(key)], f"unknown item '{key}'", "unknown_item"))
    for item in definition.items:
        loc: Loc = ["answers", item.key]
        visible = is_visible(definition, item, answers)
        if item.key not in answers:
            if item.required and visible:
                errors.append(_error(loc, f"item '{item.key}' is required", "missing"))
            continue
        value = answers[item.key]
        if value is None:
            # One spelling for "not answered" keeps stored responses and tallies unambiguous.
            errors.append(_error(loc, "null is not allowed: omit the item instead", "null"))
        elif not visible:
            assert item.show_if is not None  # only show_if items can be hidden
            errors.append(
                _error(
                    loc,
                    f"hidden item answered: '{item.key}' is only shown when "
                    f"'{item.show_if.item}' is one of {_codes_text(item.show_if.any_of)}",
                    "hidden_item_answered",
                )
            )
        else:
            problem = _check_value(item, value)
            if problem is not None:
                errors.append(_error(loc, *problem))
    return errors


def _check_value(item: Item, value: object) -> tuple[str, str] | None:
    """The (message, type) of what is wrong with an answer to ``item``, if anything."""
    if item.kind in ("scale", "single_choice"):
        if not _is_code(value):
            return "expected one option code (an integer)", "int_type"
        return _check_code(item, value)
    if item.kind == "multi_choice":
        return _check_multi(item, value)
    if item.kind == "number":
        return _check_number(item, value)
    return _check_text_answer(item, value)


def _check_code(item: Item, code: object) -> tuple[str, str] | None:
    if code not in item.options_by_code:
        return (
            f"unknown option code {code}; allowed codes: {_codes_text(item.codes)}",
            "unknown_code",
        )
    return None


def _check_multi(item: Item, value: object) -> tuple[str, str] | None:
    if not isinstance(value, list):
        return "expected a list of option codes", "list_type"
    if not value:
        return "empty list: omit the item instead", "empty_list"
    for code in value:
        if not _is_code(code):
            return "expected a list of option codes (integers)", "int_type"
        problem = _check_code(item, code)
        if problem is not None:
            return problem
    duplicates = sorted(_duplicates(value))
    if duplicates:
        return f"duplicate codes: {_codes_text(duplicates)}", "duplicate_code"
    if len(value) > 1:
        for code in value:
            if item.option(code).exclusive:
                return f"code {code} is exclusive and cannot be combined with others", "exclusive"
    return None


def _check_number(item: Item, value: object) -> tuple[str, str] | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "expected a number", "number_type"
    if isinstance(value, float):
        if not math.isfinite(value):
            return "expected a finite number", "number_type"
        if item.integer:
            return "expected a whole number", "int_type"
    if abs(value) > MAX_ABS_NUMBER:
        return "expected a number between -1e15 and 1e15", "out_of_range"
    if item.min is not None and value < item.min:
        return f"{value} is less than the minimum {item.min}", "out_of_range"
    if item.max is not None and value > item.max:
        return f"{value} is greater than the maximum {item.max}", "out_of_range"
    return None


def _check_text_answer(item: Item, value: object) -> tuple[str, str] | None:
    if not isinstance(value, str):
        return "expected a string", "string_type"
    text = value.strip()
    if not text:
        return "empty text: omit the item instead", "empty_text"
    # PostgreSQL text columns cannot hold NUL; reject it here rather than fail on insert.
    if "\x00" in text:
        return "text contains a NUL character", "invalid_character"
    if len(text) > item.effective_max_length:
        return (
            f"text is {len(text)} characters; at most {item.effective_max_length} allowed",
            "too_long",
        )
    return None


# --- trend comparability ---------------------------------------------------------------------

ItemSignature = tuple[
    str, tuple[tuple[int, float | None, bool, bool], ...], tuple[int, ...], tuple[int, ...]
]


def item_signature(item: Item) -> ItemSignature:
    """What must be equal for two versions of an item to form one trend series."""
    # Texts and labels are left out on purpose: fixing a translation must not break a series.
    # Scores are compared as floats so 4 and 4.0 match; substantiveness separates a missing
    # score from an explicit null.
    options = tuple(
        (
            option.code,
            None if option.score is None else float(option.score),
            option.is_substantive,
            option.exclusive,
        )
        for option in sorted(item.options, key=lambda option: option.code)
    )
    return (
        item.kind,
        options,
        tuple(sorted(set(item.favourable))),
        tuple(sorted(set(item.unfavourable))),
    )
