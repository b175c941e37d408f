"""Importing past responses into a historical round, row by row, through a mapping.

Every row becomes a plain ``response`` (``entry='import'``) and passes exactly the checks a
submitted response passes (``responses.service.answer_errors``), so the tally fold
(``results/fold.py``) picks imported answers up on the next results read like any other.

The file is read once, as a stream: rows are checked one by one and, in a real run, inserted
in batches of :data:`BATCH_SIZE` with one executemany each, so memory stays flat in the file's
size. A real run is all or nothing: after the first problem nothing more is inserted, the rest
of the file is still checked for the report, and the run ends in a 422 whose body carries the
report; the request's transaction rolls back whatever was inserted before the problem.

Privacy (DESIGN.md): only the columns the mapping names are read; no respondent id, token, IP
address or timestamp from the file is stored anywhere (not in the report either: a problem
names the cell of a mapped column only). Every response gets the round's close date as its
``submitted_date``, nothing finer than the round's period, and each batch is inserted in a
shuffled order so that response ids do not follow the file's row order.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from survey_api.exceptions import Conflict, NotFound, ValidationFailed
from survey_api.imports.files import SourceFile, open_table
from survey_api.imports.mapping import (
    ImportMapping,
    ItemMapping,
    check_against,
    non_substantive_code,
    read_code,
)
from survey_api.imports.schemas import (
    MAX_LISTED_PROBLEMS,
    DataImportRead,
    ImportAreaCount,
    ImportProblem,
    ImportReport,
)
from survey_api.models import (
    Area,
    DataImport,
    Response,
    SurveyRound,
    Tally,
    TallyWatermark,
    utcnow,
)
from survey_api.questionnaires import service as questionnaires_service
from survey_api.questionnaires.definition import Item, QuestionnaireDefinition
from survey_api.responses.service import answer_errors, clean_answers
from survey_api.results import fold as results_fold
from survey_api.rounds import service as rounds_service

#: Rows inserted per executemany.
BATCH_SIZE = 5000
_MAX_VALUE = 200
_MISSING = object()
# The checker's error types, in the words of an import report.
_PROBLEM_TYPES = {
    "unknown_code": "out_of_range",
    "hidden_item_answered": "show_if",
    "missing": "missing_answer",
}


class ImportRefused(ValidationFailed):
    """A real run with problems: nothing was stored; the problem carries the report."""

    def __init__(self, report: ImportReport) -> None:
        first = report.problems[0] if report.problems else None
        where = f" (first: row {first.row}: {first.msg})" if first else ""
        super().__init__(
            f"{report.problems_total} problem(s) in the file{where}; nothing was imported. "
            "The report lists them; try the file with dry_run=true after fixing it",
            errors=[
                {
                    "loc": ["body", "file", p.row, p.column or ""],
                    "msg": p.msg,
                    "type": p.type,
                }
                for p in report.problems[:20]
            ],
        )
        self.report = report

    def problem(self, instance: str | None = None) -> dict[str, Any]:
        return {**super().problem(instance), "report": self.report.model_dump(mode="json")}


def require_response_import(survey_round: SurveyRound) -> None:
    """Only a historical round holding responses (or nothing yet) takes a response import."""
    if not rounds_service.is_historical(survey_round):
        raise Conflict(
            f"survey round {survey_round.id} collects its own responses: only a historical "
            'round takes imports (create one with POST /rounds and "historical": true)'
        )
    if survey_round.source == "imported_tallies":
        raise Conflict(
            f"survey round {survey_round.id} holds answer counts (an imported table of tallies), "
            "not responses: responses cannot be added to it. Delete its tallies import first, "
            "or import into another historical round"
        )


# ---------------------------------------------------------------------------------------------
# Reading one row
# ---------------------------------------------------------------------------------------------


def _cut(value: str) -> str:
    return value[:_MAX_VALUE].replace("\x00", "\\x00")


@dataclass
class _Row:
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
                value=None if value is None else _cut(value),
                type=kind,
                msg=msg,
            )
        )


# Reads one item's answer from a row: the answer, or _MISSING (a problem is added to the row).
_Reader = Callable[[_Row], object]


@dataclass
class _ItemPlan:
    item: Item
    column: str  # for the report: the item's column, or its first option column
    read: _Reader
    raw: Callable[[_Row], str]


def _code_reader(item: Item, mapping: ItemMapping, column: str) -> Callable[[_Row, str], object]:
    """Turns one piece of a cell into a code (or _MISSING), adding a problem when it is not
    one; the code's range is the answer checker's to judge."""
    values: dict[str, object] = {}
    non_substantive = non_substantive_code(item)
    for source, target in mapping.values.items():
        if target == "missing":
            values[source.strip()] = _MISSING
        elif target == "non_substantive":
            values[source.strip()] = non_substantive
        else:
            values[source.strip()] = target

    def read(row: _Row, text: str) -> object:
        if text in values:
            return values[text]
        if not text:
            return _MISSING
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
            return _MISSING
        return code

    return read


def _plan_item(
    item: Item, mapping: ItemMapping, index_of: dict[str, int], missing: list[str]
) -> _ItemPlan | None:
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

        def read_ticks(row: _Row) -> object:
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
                    return _MISSING
            return codes or _MISSING

        def raw_ticks(row: _Row) -> str:
            return ";".join(c for c, i, _ in positions if row.cells[i] in ticked)

        return _ItemPlan(item, positions[0][0], read_ticks, raw_ticks)

    assert mapping.column is not None
    column = mapping.column
    if column not in index_of:
        missing.append(column)
        return None
    index = index_of[column]

    def raw(row: _Row) -> str:
        return row.cells[index]

    if item.kind == "text":

        def read_text(row: _Row) -> object:
            text = row.cells[index]
            return text if text else _MISSING

        return _ItemPlan(item, column, read_text, raw)
    if item.kind == "number":
        return _ItemPlan(item, column, _number_reader(item, column, index), raw)
    to_code = _code_reader(item, mapping, column)
    if item.kind == "multi_choice":
        separator = mapping.separator

        def read_list(row: _Row) -> object:
            text = row.cells[index]
            if text in mapping.values or not text:
                found = to_code(row, text)
                return [found] if isinstance(found, int) else found
            codes = []
            for part in text.split(separator):
                found = to_code(row, part.strip())
                if found is not _MISSING:
                    codes.append(found)
                elif part.strip():
                    return _MISSING
            return codes or _MISSING

        return _ItemPlan(item, column, read_list, raw)

    def read_one(row: _Row) -> object:
        return to_code(row, row.cells[index])

    return _ItemPlan(item, column, read_one, raw)


def _number_reader(item: Item, column: str, index: int) -> _Reader:
    def read(row: _Row) -> object:
        text = row.cells[index]
        if not text:
            return _MISSING
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
            return _MISSING
        if isinstance(number, float) and number.is_integer() and item.integer:
            number = int(number)
        return number

    return read


@dataclass
class _AreaLookup:
    by_value: dict[str, int]  # areas of the round
    elsewhere: set[str]  # the organisation's other areas
    codes: dict[int, str]
    ambiguous: set[str]

    @staticmethod
    def key(by: str, text: str) -> str:
        text = text.strip()
        return text.casefold() if by == "name" else text.upper() if by == "deso_code" else text


def _area_lookup(session: Session, organisation_id: int, round_id: int, by: str) -> _AreaLookup:
    in_round = set(rounds_service.area_ids_of(session, round_id))
    column = {"code": Area.code, "deso_code": Area.deso_code, "name": Area.name}[by]
    lookup = _AreaLookup(by_value={}, elsewhere=set(), codes={}, ambiguous=set())
    for area_id, code, value in session.execute(
        select(Area.id, Area.code, column).where(Area.organisation_id == organisation_id)
    ):
        if area_id in in_round:
            lookup.codes[area_id] = code
        if value is None:
            continue
        key = _AreaLookup.key(by, value)
        if area_id not in in_round:
            lookup.elsewhere.add(key)
        elif key in lookup.by_value:
            lookup.ambiguous.add(key)
        else:
            lookup.by_value[key] = area_id
    return lookup


@dataclass
class _Plan:
    """The file's columns resolved against the mapping and the questionnaire, once."""

    width: int
    area: Callable[[_Row], int | None]
    language: Callable[[_Row], str | None]
    language_column: str | None
    items: list[_ItemPlan]
    missing_columns: list[str]
    unmapped_columns: list[str]


def _plan(
    columns: list[str],
    mapping: ImportMapping,
    definition: QuestionnaireDefinition,
    lookup: _AreaLookup,
) -> _Plan:
    index_of = {name: i for i, name in enumerate(columns) if name}
    missing: list[str] = []
    items: list[_ItemPlan] = []
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

    def area_of(row: _Row) -> int | None:
        text = area.fixed if area.fixed is not None else row.cells[area_index or 0]
        text = area_values.get(text.strip(), text)
        key = _AreaLookup.key(by, text)
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

    def language_of(row: _Row) -> str | None:
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

    return _Plan(
        width=len(columns),
        area=area_of,
        language=language_of,
        language_column=language.column,
        items=items,
        missing_columns=missing,
        unmapped_columns=[c for c in columns if c and c not in mapped],
    )


def _read_row(
    plan: _Plan, definition: QuestionnaireDefinition, row: _Row
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
        if value is not _MISSING:
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


# ---------------------------------------------------------------------------------------------
# The import
# ---------------------------------------------------------------------------------------------


def _lock_round(session: Session, round_id: int) -> None:
    """Imports and take-backs of one round run one at a time (the second sees the first's
    import and replays it); SQLite has one writer anyway."""
    session.execute(select(SurveyRound.id).where(SurveyRound.id == round_id).with_for_update())


def _existing(
    session: Session, organisation_id: int, round_id: int, file_sha256: str, mapping_sha256: str
) -> DataImport | None:
    return session.scalar(
        select(DataImport)
        .where(
            DataImport.organisation_id == organisation_id,
            DataImport.survey_round_id == round_id,
            DataImport.kind == "responses",
            DataImport.file_sha256 == file_sha256,
            DataImport.mapping_sha256 == mapping_sha256,
        )
        .order_by(DataImport.id)
        .limit(1)
    )


def stored_report(record: DataImport) -> ImportReport:
    """The report of a stored response import, as its first run answered it."""
    summary = record.summary or {}
    return ImportReport(
        kind="responses",
        dry_run=False,
        import_id=record.id,
        replayed=True,
        file_sha256=record.file_sha256,
        encoding=str(summary.get("encoding", "")),
        rows_read=record.rows_read,
        rows_stored=record.rows_stored,
        per_area=[ImportAreaCount.model_validate(a) for a in summary.get("per_area", [])],
        problems=[],
        problems_total=0,
        unmapped_columns=[str(c) for c in summary.get("unmapped_columns", [])],
    )


def import_responses(
    session: Session,
    organisation_id: int,
    round_id: int,
    source: SourceFile,
    mapping: ImportMapping,
    *,
    dry_run: bool,
    file_name: str,
) -> ImportReport:
    """Check (``dry_run``) or import a file of past responses into a historical round.

    A real run stores every row or none (:class:`ImportRefused`, a 422 with the report); the
    same file with the same mapping is stored once, and a repeat answers the stored report
    with ``replayed``. Flushes, never commits."""
    survey_round = rounds_service.get_round(session, organisation_id, round_id)
    require_response_import(survey_round)
    definition = questionnaires_service.published_definition(
        session, survey_round.questionnaire_version_id
    )
    check_against(mapping, definition)
    mapping_sha256 = mapping.sha256()
    if not dry_run:
        _lock_round(session, round_id)
        existing = _existing(session, organisation_id, round_id, source.sha256, mapping_sha256)
        if existing is not None:
            return stored_report(existing)
    lookup = _area_lookup(session, organisation_id, round_id, mapping.area.by)

    problems: list[ImportProblem] = []
    problems_total = 0
    counts: dict[int, int] = {}
    rows_read = 0
    record: DataImport | None = None
    batch: list[dict[str, Any]] = []
    shuffle = secrets.SystemRandom().shuffle
    submitted_date = survey_round.close_date

    def keep(found: Iterable[ImportProblem]) -> None:
        nonlocal problems_total
        for problem in found:
            problems_total += 1
            if len(problems) < MAX_LISTED_PROBLEMS:
                problems.append(problem)

    def insert_batch() -> None:
        shuffle(batch)
        session.connection().execute(insert(Response.__table__), batch)  # type: ignore[arg-type]
        batch.clear()

    with open_table(source) as table:
        encoding = table.encoding
        plan = _plan(table.columns, mapping, definition, lookup)
        if plan.missing_columns:
            keep(
                ImportProblem(
                    row=1,
                    column=_cut(column),
                    type="missing_column",
                    msg="the mapping names this column but the file's heading has none",
                )
                for column in plan.missing_columns
            )
        if not plan.items:
            keep(
                [
                    ImportProblem(
                        row=1,
                        type="no_items",
                        msg="no column of the file is an item of the questionnaire under the "
                        "mapping: nothing to import",
                    )
                ]
            )
        if not dry_run and not problems_total:
            record = DataImport(
                organisation_id=organisation_id,
                survey_round_id=round_id,
                kind="responses",
                file_name=file_name[:200].replace("\x00", ""),
                file_sha256=source.sha256,
                mapping_sha256=mapping_sha256,
            )
            session.add(record)
            session.flush()
            results_fold.hold_round_for_submission(session, round_id)  # before ids are drawn
        for line, cells in table.rows:
            rows_read += 1
            row = _Row(line, cells)
            read = _read_row(plan, definition, row)
            if read is None:
                keep(row.problems)
                continue
            area_id, language, answers = read
            counts[area_id] = counts.get(area_id, 0) + 1
            if record is None or problems_total:
                continue
            batch.append(
                {
                    "survey_round_id": round_id,
                    "area_id": area_id,
                    "language": language,
                    "channel": mapping.channel,
                    "entry": "import",
                    "submitted_date": submitted_date,
                    "answers": clean_answers(definition, answers),
                    "data_import_id": record.id,
                }
            )
            if len(batch) >= BATCH_SIZE:
                insert_batch()
    if rows_read == 0 and not problems_total:
        keep([ImportProblem(row=2, type="no_rows", msg="the file has no data rows")])

    per_area = [
        ImportAreaCount(area_id=a, area_code=lookup.codes.get(a, ""), rows=n)
        for a, n in sorted(counts.items(), key=lambda kv: lookup.codes.get(kv[0], ""))
    ]
    report = ImportReport(
        kind="responses",
        dry_run=dry_run,
        file_sha256=source.sha256,
        encoding=encoding,
        rows_read=rows_read,
        rows_stored=sum(counts.values()),
        per_area=per_area,
        problems=problems,
        problems_total=problems_total,
        unmapped_columns=[_cut(c) for c in plan.unmapped_columns[:200]],
    )
    if dry_run:
        return report
    if problems_total or record is None:
        raise ImportRefused(report)
    if batch:
        insert_batch()
    record.rows_read = rows_read
    record.rows_stored = report.rows_stored
    record.summary = {
        "encoding": encoding,
        "per_area": [a.model_dump(mode="json") for a in per_area],
        "unmapped_columns": report.unmapped_columns,
    }
    survey_round.source = "imported"
    session.flush()
    return report.model_copy(update={"import_id": record.id})


# ---------------------------------------------------------------------------------------------
# Stored imports
# ---------------------------------------------------------------------------------------------


def _read(record: DataImport) -> DataImportRead:
    return DataImportRead.model_validate(record, from_attributes=True)


def list_imports(session: Session, organisation_id: int, round_id: int) -> list[DataImportRead]:
    """Every import of a round (responses and tallies), oldest first."""
    rounds_service.get_round(session, organisation_id, round_id)
    return [
        _read(r)
        for r in session.scalars(
            select(DataImport)
            .where(
                DataImport.organisation_id == organisation_id,
                DataImport.survey_round_id == round_id,
            )
            .order_by(DataImport.id)
        )
    ]


def _get(session: Session, organisation_id: int, round_id: int, import_id: int) -> DataImport:
    rounds_service.get_round(session, organisation_id, round_id)
    record = session.get(DataImport, import_id)
    if (
        record is None
        or record.organisation_id != organisation_id
        or record.survey_round_id != round_id
    ):
        raise NotFound(f"no import with id {import_id} in survey round {round_id}")
    return record


def get_import(
    session: Session, organisation_id: int, round_id: int, import_id: int
) -> DataImportRead:
    """One import of a round."""
    return _read(_get(session, organisation_id, round_id, import_id))


def delete_import(session: Session, organisation_id: int, round_id: int, import_id: int) -> None:
    """Take an import back as a whole: its responses (or, for a tallies import, the round's
    answer counts) go, and the round's tallies are folded again from scratch on the next
    results read. Flushes, never commits."""
    survey_round = rounds_service.get_round(session, organisation_id, round_id)
    _lock_round(session, round_id)
    record = _get(session, organisation_id, round_id, import_id)
    # Reset the fold first: the watermark row is what every folder locks, so this waits for
    # a fold in progress and makes the next one start from nothing (after this commits).
    _reset_fold(session, round_id)
    if record.kind == "responses":
        session.execute(delete(Response).where(Response.data_import_id == record.id))
    session.execute(delete(Tally).where(Tally.survey_round_id == round_id))
    if record.kind == "tallies":
        survey_round.source = "imported"
    session.delete(record)
    session.flush()


def _reset_fold(session: Session, round_id: int) -> None:
    """Set the round's watermark back to 0 (rather than delete the row: a folder waiting on
    it must find it, then see 0 and fold everything that is left)."""
    dialect = session.get_bind().dialect.name
    upsert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(
        upsert(TallyWatermark)
        .values(survey_round_id=round_id, last_response_id=0, folded_at=utcnow())
        .on_conflict_do_nothing(index_elements=[TallyWatermark.survey_round_id])
    )
    session.execute(
        update(TallyWatermark)
        .where(TallyWatermark.survey_round_id == round_id)
        .values(last_response_id=0, folded_at=utcnow())
    )


__all__ = [
    "BATCH_SIZE",
    "ImportRefused",
    "delete_import",
    "get_import",
    "import_responses",
    "list_imports",
    "require_response_import",
    "stored_report",
]
