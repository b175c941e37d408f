"""Answers: which items a respondent sees (show_if) and whether one response's answers are valid."""

import math
from collections.abc import Mapping, Sequence

from survey_api.questionnaires.document import (
    MAX_ABS_NUMBER,
    FieldErrorDict,
    Item,
    Loc,
    QuestionnaireDefinition,
    codes_text,
    duplicate_values,
    field_error,
)


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
            field_error(
                ["answers"], "answers must be an object of item key to answer", "object_type"
            )
        ]
    errors: list[FieldErrorDict] = []
    for key in answers:
        if not isinstance(key, str) or key not in definition.items_by_key:
            errors.append(
                field_error(["answers", str(key)], f"unknown item '{key}'", "unknown_item")
            )
    for item in definition.items:
        loc: Loc = ["answers", item.key]
        visible = is_visible(definition, item, answers)
        if item.key not in answers:
            if item.required and visible:
                errors.append(field_error(loc, f"item '{item.key}' is required", "missing"))
            continue
        value = answers[item.key]
        if value is None:
            # One spelling for "not answered" keeps stored responses and tallies unambiguous.
            errors.append(field_error(loc, "null is not allowed: omit the item instead", "null"))
        elif not visible:
            assert item.show_if is not None  # only show_if items can be hidden
            errors.append(
                field_error(
                    loc,
                    f"hidden item answered: '{item.key}' is only shown when "
                    f"'{item.show_if.item}' is one of {codes_text(item.show_if.any_of)}",
                    "hidden_item_answered",
                )
            )
        else:
            problem = _check_value(item, value)
            if problem is not None:
                errors.append(field_error(loc, *problem))
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
            f"unknown option code {code}; allowed codes: {codes_text(item.codes)}",
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
    duplicates = sorted(duplicate_values(value))
    if duplicates:
        return f"duplicate codes: {codes_text(duplicates)}", "duplicate_code"
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
