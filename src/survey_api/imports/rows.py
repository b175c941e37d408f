"""Reading one row of a file of past responses through a mapping: the row's area, language and
answers, or its problems by column.

The mapping is resolved against the file's heading once (:func:`plan_for`); each row then costs
one pass over the columns the mapping names, and its answers are checked by the same function
as every submitted response (``responses.service.answer_errors``), whose errors become
:class:`ImportProblem` entries with the row, column, item and cell.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from survey_api.imports.mapping import (
    ImportMapping,
    ItemMapping,
    non_substantive_code,
    read_code,
)
from survey_api.imports.problems import cut
from survey_api.imports.schemas import ImportProblem
from survey_api.models import Area
from survey_api.questionnaires.definition import Item, QuestionnaireDefinition
from survey_api.responses.service import answer_errors
from survey_api.rounds import service as rounds_service

#: What a reader answers for a cell that is not answered (or that has a problem).
MISSING = object()
# The checker's error types, in the words of an import report.
_PROBLEM_TYPES = {
    "unknown_code": "out_of_range",
    "hidden_item_answered": "show_if",
    "missing": "missing_answer",
}


@dataclass
class Row:
    """One data row; the readers index ``cells`` directly, once its width is checked."""

    line: int
    cells: list[str]
    problems: list[ImportProblem] = field(default_factory=list)

    def problem(
        self,
        kind: str,
        msg: str,
        *,
        column: str | None = None,
        item_key: str | None = None,
        value: str | None = None,
    ) -> None:
        self.problems.append(
            ImportProblem(
                row=self.line,
                column=column,
                item_key=item_key,
                value=None if value is None else cut(value),
                type=kind,
                msg=msg,
            )
        )


# Reads one item's answer from a row: the answer, or MISSING (a problem is added to the row).
_Reader = Callable[[Row], object]


@dataclass
class ItemPlan:
    item: Item
    column: str  # for the report: the item's column, or its first option column
    read: _Reader
    raw: Callable[[Row], str]


def _code_reader(item: Item, mapping: ItemMapping, column: str) -> Callable[[Row, str], object]:
    """Turns one piece of a cell into a code (or MISSING), adding a problem when it is not
    one; the code's range is the answer checker's to judge."""
    values: dict[str, object] = {}
    non_substantive = non_substantive_code(item)
    for source, target in mapping.values.items():
        if target == "missing":
            values[source.strip()] = MISSING
        elif target == "non_substantive":
            values[source.strip()] = non_substantive
        else:
            values[source.strip()] = target

    def read(row: Row, text: str) -> object:
        if text in values:
            return values[text]
        if not text:
            return MISSING
        code = None if values else read_code(text)
        if code is None:
            known = f"; the mapping knows {', '.join(list(values)[:12])}" if values else ""
            row.problem(
                "unknown_value",
                f"{text[:40]!r} is not an answer code of {item.key!r}{known}",
                column=column,
                item_key=item.key,
                value=text,
            )
            return MISSING
        return code

    return read


def _plan_item(
    item: Item, mapping: ItemMapping, index_of: dict[str, int], missing: list[str]
) -> ItemPlan | None:
    if mapping.columns is not None:
        positions: list[tuple[str, int, int]] = []
        for column, code in mapping.columns.items():
            if column not in index_of:
                missing.append(column)
            else:
                positions.append((column, index_of[column], code))
        if not positions:
            return None
        ticked = {t.strip() for t in mapping.ticked}
        unticked = {t.strip() for t in mapping.unticked} | {""}

        def read_ticks(row: Row) -> object:
            codes: list[int] = []
            for column, index, code in positions:
                text = row.cells[index]
                if text in ticked:
                    codes.append(code)
                elif text not in unticked:
                    row.problem(
                        "unknown_value",
                        f"{text[:40]!r} is neither ticked ({', '.join(sorted(ticked))}) nor blank",
                        column=column,
                        item_key=item.key,
                        value=text,
                    )
                    return MISSING
            return codes or MISSING

        def raw_ticks(row: Row) -> str:
            return ";".join(c for c, i, _ in positions if row.cells[i] in ticked)

        return ItemPlan(item, positions[0][0], read_ticks, raw_ticks)

    assert mapping.column is not None
    column = mapping.column
    if column not in index_of:
        missing.append(column)
        return None
    index = index_of[column]

    def raw(row: Row) -> str:
        return row.cells[index]

    if item.kind == "text":

        def read_text(row: Row) -> object:
            text = row.cells[index]
            return text if text else MISSING

        return ItemPlan(item, column, read_text, raw)
    if item.kind == "number":
        return ItemPlan(item, column, _number_reader(item, column, index), raw)
    to_code = _code_reader(item, mapping, column)
    if item.kind == "multi_choice":
        separator = mapping.separator

        def read_list(row: Row) -> object:
            text = row.cells[index]
            if text in mapping.values or not text:
                found = to_code(row, text)
                return [found] if isinstance(found, int) else found
            codes = []
            for part in text.split(separator):
                found = to_code(row, part.strip())
                if found is not MISSING:
                    codes.append(found)
                elif part.strip():
                    return MISSING
            return codes or MISSING

        return ItemPlan(item, column, read_list, raw)

    def read_one(row: Row) -> object:
        return to_code(row, row.cells[index])

    return ItemPlan(item, column, read_one, raw)


def _number_reader(item: Item, column: str, index: int) -> _Reader:
    def read(row: Row) -> object:
        text = row.cells[index]
        if not text:
            return MISSING
        normal = text.replace(" ", "").replace("\u00a0", "").replace(",", ".")
        number: float | int
        try:
            number = int(normal) if read_code(normal) is not None else float(normal)
        except ValueError:
            row.problem(
                "unknown_value",
                f"{text[:40]!r} is not a number",
                column=column,
                item_key=item.key,
                value=text,
            )
            return MISSING
        if isinstance(number, float) and number.is_integer() and item.integer:
            number = int(number)
        return number

    return read


@dataclass
class AreaLookup:
    by_value: dict[str, int]  # areas of the round
    elsewhere: set[str]  # the organisation's other areas
    codes: dict[int, str]
    ambiguous: set[str]

    @staticmethod
    def key(by: str, text: str) -> str:
        text = text.strip()
        return text.casefold() if by == "name" else text.upper() if by == "deso_code" else text


def area_lookup(session: Session, organisation_id: int, round_id: int, by: str) -> AreaLookup:
    in_round = set(rounds_service.area_ids_of(session, round_id))
    column = {"code": Area.code, "deso_code": Area.deso_code, "name": Area.name}[by]
    lookup = AreaLookup(by_value={}, elsewhere=set(), codes={}, ambiguous=set())
    for area_id, code, value in session.execute(
        select(Area.id, Area.code, column).where(Area.organisation_id == organisation_id)
    ):
        if area_id in in_round:
            lookup.codes[area_id] = code
        if value is None:
            continue
        key = AreaLookup.key(by, value)
        if area_id not in in_round:
            lookup.elsewhere.add(key)
        elif key in lookup.by_value:
            lookup.ambiguous.add(key)
        else:
            lookup.by_value[key] = area_id
    return lookup


@dataclass
class Plan:
    """The file's columns resolved against the mapping and the questionnaire, once."""

    width: int
    area: Callable[[Row], int | None]
    language: Callable[[Row], str | None]
    language_column: str | None
    items: list[ItemPlan]
    missing_columns: list[str]
    unmapped_columns: list[str]


def plan_for(
    columns: list[str],
    mapping: ImportMapping,
    definition: QuestionnaireDefinition,
    lookup: AreaLookup,
) -> Plan:
    index_of = {name: i for i, name in enumerate(columns) if name}
    missing: list[str] = []
    items: list[ItemPlan] = []
    mapped = {mapping.area.column, mapping.language.column, *mapping.ignore}
    for item in definition.items:
        item_mapping = mapping.items.get(item.key)
        if item_mapping is None:
            if not mapping.all_items_by_key or item.key not in index_of:
                continue
            item_mapping = ItemMapping(column=item.key)
        mapped.update([item_mapping.column, *(item_mapping.columns or {})])
        planned = _plan_item(item, item_mapping, index_of, missing)
        if planned is not None:
            items.append(planned)

    area = mapping.area
    by = area.by
    area_values = {k.strip(): v for k, v in area.values.items()}
    area_index = index_of.get(area.column) if area.column is not None else None
    if area.column is not None and area_index is None:
        missing.append(area.column)
    area_column = area.column or "(fixed area)"

    def area_of(row: Row) -> int | None:
        text = area.fixed if area.fixed is not None else row.cells[area_index or 0]
        text = area_values.get(text.strip(), text)
        key = AreaLookup.key(by, text)
        if not key:
            row.problem("missing_area", "no area given", column=area_column)
            return None
        found = lookup.by_value.get(key)
        if found is not None and key not in lookup.ambiguous:
            return found
        if key in lookup.ambiguous:
            kind, msg = "ambiguous_area", f"more than one area of the round has this {by}"
        elif key in lookup.elsewhere:
            kind, msg = "area_not_in_round", f"the area with this {by} is not in the round"
        else:
            kind, msg = "unknown_area", f"no area of the organisation has this {by}"
        row.problem(kind, msg, column=area_column, value=text)
        return None

    language = mapping.language
    language_index = index_of.get(language.column) if language.column is not None else None
    if language.column is not None and language_index is None:
        missing.append(language.column)
    default = language.fixed or definition.default_language
    language_values = {k.strip(): v for k, v in language.values.items()}

    def language_of(row: Row) -> str | None:
        if language_index is None:
            return default
        text = row.cells[language_index]
        if not text:
            return default
        if language_values:
            if text not in language_values:
                row.problem(
                    "unknown_language",
                    f"{text[:20]!r} is not in the mapping's languages",
                    column=language.column,
                    value=text,
                )
                return None
            return language_values[text]
        return text

    return Plan(
        width=len(columns),
        area=area_of,
        language=language_of,
        language_column=language.column,
        items=items,
        missing_columns=missing,
        unmapped_columns=[c for c in columns if c and c not in mapped],
    )


def read_row(
    plan: Plan, definition: QuestionnaireDefinition, row: Row
) -> tuple[int, str, dict[str, Any]] | None:
    """The row's (area id, language, answers), or None after adding its problems."""
    if len(row.cells) > plan.width:
        row.problem(
            "too_many_cells",
            f"the row has {len(row.cells)} cells; the heading names {plan.width} columns",
            column=None,
        )
        return None
    if len(row.cells) < plan.width:
        row.problem(
            "too_few_cells",
            f"the row has {len(row.cells)} cells; the heading names {plan.width} columns "
            "(a broken line?)",
        )
        return None
    # A NUL in a column the mapping does not read does not matter: it is never read.
    nul = any("\x00" in cell for cell in row.cells)
    for plan_item in plan.items if nul else ():
        if "\x00" in plan_item.raw(row):
            row.problem(
                "invalid_character",
                "the cell contains a NUL character",
                column=plan_item.column,
                item_key=plan_item.item.key,
            )
    area_id = plan.area(row)
    language = plan.language(row)
    answers: dict[str, Any] = {}
    for plan_item in plan.items:
        value = plan_item.read(row)
        if value is not MISSING:
            answers[plan_item.item.key] = value
    if row.problems or area_id is None or language is None:
        return None
    errors = answer_errors(definition, language, answers, [])
    if not errors:
        return area_id, language, answers
    columns = {p.item.key: p for p in plan.items}
    for error in errors:
        loc = error["loc"]
        if loc and loc[0] == "language":
            row.problem(
                "unknown_language", error["msg"], column=plan.language_column, value=language
            )
            continue
        key = str(loc[1]) if len(loc) > 1 else ""
        planned = columns.get(key)
        item = definition.items_by_key.get(key)
        row.problem(
            _PROBLEM_TYPES.get(error["type"], error["type"]),
            error["msg"],
            column=planned.column if planned else None,
            item_key=key or None,
            # Free text is for an admin's eyes only: never repeated in a report.
            value=planned.raw(row) if planned and item and item.kind != "text" else None,
        )
    return None
