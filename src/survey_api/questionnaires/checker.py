"""Reading a definition: structural validation by the models, then every semantic check."""

import json
from collections.abc import Sequence
from functools import cache
from importlib import resources

from pydantic import ValidationError

from survey_api.questionnaires.document import (
    DEFAULT_STANDARD_KEY,
    KEY_RE,
    LANGUAGE_RE,
    MAX_TEXT_MAX_LENGTH,
    QUESTIONNAIRE_KEY_RE,
    STANDARD_DEFINITION_FILES,
    DefinitionError,
    FieldErrorDict,
    Item,
    Loc,
    LocalisedText,
    QuestionnaireDefinition,
    codes_text,
    field_error,
)


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


def standard_keys() -> tuple[str, ...]:
    """Keys of the shipped standard questionnaires, the default (trygghetsmätning) first."""
    return tuple(name.removesuffix(".json") for name in STANDARD_DEFINITION_FILES)


@cache
def load_standard_definition(key: str = DEFAULT_STANDARD_KEY) -> QuestionnaireDefinition:
    """A shipped standard questionnaire by key (the trygghetsmätning by default), parsed and
    checked; KeyError for a key that is not shipped."""
    if key not in standard_keys():
        raise KeyError(key)
    text = resources.files("survey_api").joinpath("data", f"{key}.json").read_text(encoding="utf-8")
    return parse_definition(json.loads(text))


def standard_definitions() -> tuple[QuestionnaireDefinition, ...]:
    """Every shipped standard questionnaire, the default first."""
    return tuple(load_standard_definition(key) for key in standard_keys())


def _from_pydantic(exc: ValidationError) -> list[FieldErrorDict]:
    return [
        {"loc": list(error["loc"]), "msg": error["msg"], "type": error["type"]}
        for error in exc.errors(include_url=False, include_input=False, include_context=False)
    ]


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
        self.errors.append(field_error(loc, msg, type_))

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
                    f"(codes: {codes_text(item.codes)})",
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
                f"{owner}: codes {codes_text(overlap)} are both favourable and unfavourable",
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
