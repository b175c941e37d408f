"""The questionnaire definition document: its pydantic models, limits and error shape.

A definition is the JSON document shipped as ``data/trygghetsmatning-standard.json`` (and the
other standard questionnaires of ``STANDARD_DEFINITION_FILES``). This module
is pure (no database, no web framework) so the API, the tenant web form, bulk upload and the
results code all share one reading of it.

Substantiveness: an option is non-substantive ("Vet inte", "Vill inte svara") iff it carries an
explicit ``"score": null``. An option without a ``score`` key is a plain category and counts in
the valid base n. To keep that distinction (and every other absent key) the models are dumped
with ``exclude_unset=True``, which makes the JSON round-trip lossless.
"""

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from functools import cached_property
from typing import Annotated, Any, Literal, TypedDict

from pydantic import ConfigDict, Field, PlainValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

from survey_api.input_types import RequestModel

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
# The standard questionnaires shipped in ``data/``, the trygghetsmätning first (the default);
# each file is named after its questionnaire key.
STANDARD_DEFINITION_FILES: tuple[str, ...] = (
    STANDARD_DEFINITION_FILE,
    "kundenkat-standard.json",
)
DEFAULT_STANDARD_KEY = "trygghetsmatning-standard"

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


# --- helpers shared by the checker and answer validation -------------------------------------


def field_error(loc: Sequence[str | int], msg: str, type_: str) -> FieldErrorDict:
    return {"loc": list(loc), "msg": msg, "type": type_}


def codes_text(codes: Iterable[int]) -> str:
    return ", ".join(str(code) for code in codes) or "none"


def duplicate_values(values: Iterable[Any]) -> set[Any]:
    return {value for value, count in Counter(values).items() if count > 1}
