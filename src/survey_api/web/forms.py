"""The questionnaire as a multi-step HTML form: pages, reading posted fields, and view models.

Pure: no database and no web framework, so the paging and parsing rules are easy to test.
The server alone decides what is shown: an item whose ``show_if`` depends on an answer on the
same page is moved to a later page, so the form works without JavaScript.
"""

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from survey_api.questionnaires.definition import Item, QuestionnaireDefinition, is_visible

Answers = dict[str, Any]
Fields = Mapping[str, Sequence[str]]


def N_(message: str) -> str:
    """Mark a message for extraction; it is translated when the page is rendered."""
    return message


# Field errors, written for the person filling in the form (not the API's wording).
MISSING = N_("Answer this question.")
CHOOSE = N_("Choose one of the options.")
EXCLUSIVE = N_("“%(option)s” cannot be combined with other answers. Untick one of them.")
WHOLE_NUMBER = N_("Enter a whole number, for example 3.")
NUMBER = N_("Enter a number, for example 3.")
RANGE = N_("Enter a number from %(min)s to %(max)s.")
AT_LEAST = N_("Enter a number of at least %(min)s.")
AT_MOST = N_("Enter a number of at most %(max)s.")
TOO_LONG = N_("Write at most %(max)s characters. You have written %(count)s.")
INVALID = N_("Check this answer.")

# Digits tenants may type on an Arabic or Persian keyboard, and separators they may use.
_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹٫", "01234567890123456789.")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")


@dataclass(frozen=True)
class FieldError:
    """A message id and its parameters, translated when rendered."""

    msgid: str
    params: dict[str, Any] = field(default_factory=dict)


# --- pages -------------------------------------------------------------------------------------


def _show_if_chain(definition: QuestionnaireDefinition, item: Item) -> list[str]:
    """Keys of every item that ``item``'s visibility depends on."""
    chain: list[str] = []
    current = item
    while current.show_if is not None and current.show_if.item not in chain:
        chain.append(current.show_if.item)
        target = definition.items_by_key.get(current.show_if.item)
        if target is None:
            break
        current = target
    return chain


def pages_of(definition: QuestionnaireDefinition) -> list[list[Item]]:
    """The form's pages: one per section, split where a follow-up depends on the same page."""
    pages: list[list[Item]] = []
    current: list[Item] = []
    keys: set[str] = set()
    for item in definition.items:
        depends_here = any(key in keys for key in _show_if_chain(definition, item))
        if current and (item.section != current[0].section or depends_here):
            pages.append(current)
            current, keys = [], set()
        current.append(item)
        keys.add(item.key)
    if current:
        pages.append(current)
    return pages


def prune_hidden(definition: QuestionnaireDefinition, answers: Mapping[str, Any]) -> Answers:
    """Drop answers to items no longer shown (a changed answer hid their follow-ups)."""
    kept: Answers = {}
    # show_if only refers to earlier items, so one pass in questionnaire order suffices.
    for item in definition.items:
        if item.key in answers and is_visible(definition, item, kept):
            kept[item.key] = answers[item.key]
    return kept


def visible_on(
    definition: QuestionnaireDefinition, page: Sequence[Item], answers: Answers
) -> list[Item]:
    """The items of a page shown given the answers so far."""
    return [item for item in page if is_visible(definition, item, answers)]


class Navigator:
    """Where the form goes next, and how far along it is, given the answers so far."""

    def __init__(self, definition: QuestionnaireDefinition) -> None:
        self.definition = definition
        self.pages = pages_of(definition)
        self.page_of = {item.key: i for i, page in enumerate(self.pages) for item in page}

    def next_page(self, after: int, answers: Answers) -> int | None:
        """The first page after ``after`` with something to show, or None: time to send."""
        for index in range(after + 1, len(self.pages)):
            if visible_on(self.definition, self.pages[index], answers):
                return index
        return None

    def previous_page(self, before: int, answers: Answers) -> int | None:
        """The last page before ``before`` with something to show, or None: the start page."""
        for index in range(min(before, len(self.pages)) - 1, -1, -1):
            if visible_on(self.definition, self.pages[index], answers):
                return index
        return None

    def might_show(self, item: Item, current: int, answers: Answers) -> bool:
        """Whether ``item`` is shown, or could be once the current page is answered."""
        if is_visible(self.definition, item, answers):
            return True
        return any(
            self.page_of.get(key, -1) >= current for key in _show_if_chain(self.definition, item)
        )

    def _counted(self, index: int, current: int, answers: Answers) -> bool:
        page = self.pages[index]
        if index < current:
            return bool(visible_on(self.definition, page, answers))
        if index == current:
            return True
        return any(self.might_show(item, current, answers) for item in page)

    def progress(self, current: int, answers: Answers) -> tuple[int, int]:
        """(step number, number of steps) as far as can be told on this page."""
        counted = [i for i in range(len(self.pages)) if self._counted(i, current, answers)]
        return counted.index(current) + 1, len(counted)

    def is_last(self, current: int, answers: Answers) -> bool:
        """Whether nothing can follow this page, so its button sends the answers."""
        return not any(
            self._counted(i, current, answers) for i in range(current + 1, len(self.pages))
        )


# --- reading posted fields ---------------------------------------------------------------------


@dataclass
class PageInput:
    """What was posted for one page: parsed answers, the raw values, and errors per item."""

    answers: Answers = field(default_factory=dict)
    raw: dict[str, list[str]] = field(default_factory=dict)
    errors: dict[str, FieldError] = field(default_factory=dict)


def _format_number(value: int | float) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _parse_number(item: Item, text: str) -> int | float | FieldError:
    cleaned = text.translate(_DIGITS).replace(",", ".")
    cleaned = "".join(ch for ch in cleaned if not ch.isspace())
    if not _NUMBER.fullmatch(cleaned):
        return FieldError(WHOLE_NUMBER if item.integer else NUMBER)
    number = float(cleaned)
    if not math.isfinite(number):
        return FieldError(NUMBER)
    if item.integer and not number.is_integer():
        return FieldError(WHOLE_NUMBER)
    value: int | float = int(number) if number.is_integer() else number
    low, high = item.min, item.max
    if (low is not None and value < low) or (high is not None and value > high):
        if low is not None and high is not None:
            return FieldError(RANGE, {"min": _format_number(low), "max": _format_number(high)})
        if low is not None:
            return FieldError(AT_LEAST, {"min": _format_number(low)})
        assert high is not None
        return FieldError(AT_MOST, {"max": _format_number(high)})
    return value


def _parse_codes(item: Item, values: Sequence[str]) -> list[int] | FieldError:
    codes: list[int] = []
    for value in values:
        value = value.strip()
        if not value.isdigit() or int(value) not in item.options_by_code:
            return FieldError(CHOOSE)
        if int(value) not in codes:
            codes.append(int(value))
    return codes


def read_page(
    definition: QuestionnaireDefinition, items: Sequence[Item], fields: Fields, language: str
) -> PageInput:
    """Parse the posted fields of the items shown on a page, checking each answer."""
    result = PageInput()
    for item in items:
        values = [v for v in fields.get(item.key, []) if isinstance(v, str)]
        result.raw[item.key] = values
        answer: Any = None
        error: FieldError | None = None
        if item.kind in ("scale", "single_choice"):
            values = [v for v in values if v.strip()]
            parsed = _parse_codes(item, values[:1]) if len(values) <= 1 else FieldError(CHOOSE)
            if isinstance(parsed, FieldError):
                error = parsed
            elif parsed:
                answer = parsed[0]
        elif item.kind == "multi_choice":
            parsed = _parse_codes(item, values)
            if isinstance(parsed, FieldError):
                error = parsed
            elif parsed:
                answer = parsed
                exclusive = [c for c in parsed if item.option(c).exclusive]
                if exclusive and len(parsed) > 1:
                    label = _label(definition, item.option(exclusive[0]).label, language)
                    error = FieldError(EXCLUSIVE, {"option": label})
        else:
            # Browsers send newlines in a textarea as CRLF; store what the tenant typed.
            text = (values[0] if values else "").replace("\r\n", "\n").replace("\r", "\n")
            if item.kind == "number" and text.strip():
                number = _parse_number(item, text)
                if isinstance(number, FieldError):
                    error = number
                else:
                    answer = number
            elif item.kind == "text" and text.strip():
                length = len(text.strip())
                if length > item.effective_max_length:
                    error = FieldError(
                        TOO_LONG, {"max": item.effective_max_length, "count": length}
                    )
                answer = text
        if error is None and answer is None and item.required:
            error = FieldError(MISSING)
        if error is not None:
            result.errors[item.key] = error
        elif answer is not None:
            result.answers[item.key] = answer
    return result


def merge(
    definition: QuestionnaireDefinition, answers: Answers, page: Sequence[Item], new: Answers
) -> Answers:
    """Replace a page's answers (an unticked box clears its answer) and drop hidden follow-ups."""
    keys = {item.key for item in page}
    merged = {k: v for k, v in answers.items() if k not in keys}
    merged.update(new)
    return prune_hidden(definition, merged)


# The state this form writes nests two levels deep at most: {"item": [1, 2]}.
MAX_STATE_DEPTH = 2
_JSON_STRING = re.compile(r'"(?:[^"\\]++|\\.)*+"', re.DOTALL)
_JSON_BRACKET = re.compile(r"[\[\]{}]")


def _nesting(text: str) -> int:
    """How deeply the arrays and objects of a JSON text nest (brackets in strings ignored)."""
    depth = deepest = 0
    for bracket in _JSON_BRACKET.findall(_JSON_STRING.sub("", text)):
        depth += 1 if bracket in "[{" else -1
        deepest = max(deepest, depth)
    return deepest


class InvalidState(ValueError):
    """A hidden form state that the form cannot have written."""


def decode_state(definition: QuestionnaireDefinition, raw: str | None) -> Answers:
    """The answers carried in the form's hidden field; anything odd is dropped.

    Not signed: the tenant can only change their own answers, and everything is validated
    against the questionnaire again before it is stored. Its size is bounded by the request
    body limit; its nesting is checked before parsing, as json.loads recurses once per level
    and a crafted state would otherwise end in a RecursionError.
    """
    text = raw or "{}"
    if _nesting(text) > MAX_STATE_DEPTH:
        # The form never writes such a state: it was crafted, so the request is refused.
        raise InvalidState(f"the form state is nested more than {MAX_STATE_DEPTH} levels deep")
    try:
        data = json.loads(text)
    except ValueError:
        return {}
    if not isinstance(data, dict):
        return {}
    answers: Answers = {}
    for key, value in data.items():
        if key not in definition.items_by_key or isinstance(value, bool):
            continue
        if isinstance(value, int | float | str) or (
            isinstance(value, list)
            and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
        ):
            answers[key] = value
    return answers


def encode_state(answers: Answers) -> str:
    """The answers so far, for the form's hidden field."""
    return json.dumps(answers, ensure_ascii=False, separators=(",", ":"))


def error_for(error_type: str) -> FieldError:
    """A tenant-facing message for an error type of ``validate_answers``."""
    return FieldError(MISSING if error_type == "missing" else INVALID)


# --- view models -------------------------------------------------------------------------------


def _label(definition: QuestionnaireDefinition, text: Mapping[str, str], language: str) -> str:
    return text.get(language) or text.get(definition.default_language) or next(iter(text.values()))


@dataclass
class OptionView:
    code: int
    label: str
    id: str
    checked: bool


@dataclass
class ItemView:
    key: str
    kind: str
    text: str
    required: bool
    options: list[OptionView]
    value: str
    error: FieldError | None
    max_length: int
    integer: bool

    @property
    def input_id(self) -> str:
        """The id an error summary links to: the first radio or box, or the field."""
        return self.options[0].id if self.options else f"f-{self.key}"

    @property
    def error_id(self) -> str:
        return f"e-{self.key}"

    @property
    def legend_id(self) -> str:
        return f"l-{self.key}"


@dataclass
class Block:
    """One question, or a grid of questions sharing a ``group`` and their options."""

    items: list[ItemView]
    group: str | None = None


def item_view(
    definition: QuestionnaireDefinition,
    item: Item,
    language: str,
    answer: Any,
    raw: Sequence[str] | None,
    error: FieldError | None,
) -> ItemView:
    """How one item is drawn: its texts in ``language`` and what is filled in."""
    if raw is not None:
        chosen = {v.strip() for v in raw}
        value = raw[0] if raw else ""
    else:
        listed = answer if isinstance(answer, list) else [] if answer is None else [answer]
        chosen = {str(v) for v in listed}
        value = (
            ""
            if answer is None or isinstance(answer, list)
            else (_format_number(answer) if isinstance(answer, int | float) else str(answer))
        )
    return ItemView(
        key=item.key,
        kind=item.kind,
        text=_label(definition, item.text, language),
        required=item.required,
        options=[
            OptionView(
                code=option.code,
                label=_label(definition, option.label, language),
                id=f"f-{item.key}-{option.code}",
                checked=str(option.code) in chosen,
            )
            for option in item.options
        ],
        value=value,
        error=error,
        max_length=item.effective_max_length,
        integer=item.integer,
    )


def blocks(
    definition: QuestionnaireDefinition,
    items: Sequence[Item],
    language: str,
    answers: Answers,
    raw: Mapping[str, Sequence[str]] | None = None,
    errors: Mapping[str, FieldError] | None = None,
) -> list[Block]:
    """A page's items as blocks; consecutive items of one group become a grid."""
    result: list[Block] = []
    for item in items:
        view = item_view(
            definition,
            item,
            language,
            answers.get(item.key),
            None if raw is None else raw.get(item.key),
            (errors or {}).get(item.key),
        )
        if item.group is not None and result and result[-1].group == item.group:
            result[-1].items.append(view)
        else:
            result.append(Block(items=[view], group=item.group))
    return result


def label_of(definition: QuestionnaireDefinition, text: Mapping[str, str], language: str) -> str:
    """A localised text of the definition, falling back to its default language."""
    return _label(definition, text, language)
