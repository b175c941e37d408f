"""Aggregate-only history: a vendor's report tables (answer counts per area, item and option)
brought into a historical round as the tallies the fold would have written.

The file has the columns ``area`` (the area's code), ``item`` (an item key), ``option`` (an
option code) and ``count``. Two kinds of ``*`` row carry what option counts cannot:

* ``item`` = ``*`` (option empty or ``*``): the number of respondents of the area. Without it
  the largest number of answers to any one item stands in, and the report's ``notes`` say so.
* ``option`` = ``*`` on a multi-choice item: the number of respondents who answered the item
  (ticked anything). A share of respondents needs it, since one respondent may tick several
  options; without it the item's shares (and indicators on it) are unavailable.

What the tallies of such a round hold is exactly what folding respondents with the same answer
counts would give (results/fold.py): ``option`` counts, ``base`` (valid n, Σ score, Σ score²;
code 1 the non-substantive answers), ``favourable`` and ``indicator`` counts where respondents
can be counted from option counts, and ``respondents``. Composite indices and breakdowns by a
background item need each respondent's answers: nothing is written for them, and results say
they are unavailable (results/cells.py ``counts_only_gap``). Never guessed.

A real run is all or nothing (any row problem: 422 with the report, nothing stored) and
idempotent on the file's SHA-256 through ``data_import`` (kind ``tallies``).

This module reads the file and stores the import; checking the counts together and turning them
into tally rows is imports/tally_rows.py.
"""

from __future__ import annotations

import hashlib
import re

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from survey_api.exceptions import BadRequest, Conflict
from survey_api.imports.files import NOTHING, SourceFile, open_table
from survey_api.imports.problems import ImportRefused
from survey_api.imports.records import lock_round, record_name, stored_import
from survey_api.imports.schemas import ImportAreaCount, ImportReport
from survey_api.imports.tally_rows import (
    ALL,
    AreaCounts,
    Reading,
    check_totals,
    respondents_with,
    tally_rows,
)
from survey_api.models import Area, DataImport, Response, SurveyRound
from survey_api.questionnaires import service as questionnaires_service
from survey_api.questionnaires.definition import Item, QuestionnaireDefinition
from survey_api.results import tally_store
from survey_api.results.tally_layout import layout_for
from survey_api.rounds import service as rounds_service
from survey_api.webhooks import events as webhook_events

__all__ = [
    "ALL",
    "COLUMNS",
    "MAPPING_SHA256",
    "import_tallies",
    "respondents_with",
]

#: The columns a tallies file must have (in any order; other columns are refused).
COLUMNS = ("area", "item", "option", "count")
# Tallies have no mapping: a fixed text stands in for it in the import's identity.
MAPPING_SHA256 = hashlib.sha256(b"survey_api tallies: area,item,option,count v1").hexdigest()
# Counts are stored in 32-bit integer columns; no survey of one area comes near this.
MAX_COUNT = 100_000_000
_INTEGER = re.compile(r"^[0-9]+$")
_CODE = re.compile(r"^-?[0-9]+$")


def import_tallies(
    session: Session,
    organisation_id: int,
    round_id: int,
    source: SourceFile,
    *,
    dry_run: bool,
    file_name: str,
) -> ImportReport:
    """Read a file of answer counts into a historical round (see the module's docstring).

    Refuses (409) a collected round, a round holding imported responses, and a second file
    that gives counts for an area that has them already. A repeat of a stored file answers
    with that import's report, ``replayed`` true. Flushes, never commits.
    """
    survey_round = rounds_service.get_round(session, organisation_id, round_id)
    if not dry_run:
        lock_round(session, round_id)  # an identical import at the same moment: one stored
    _require_countable_round(session, survey_round)
    stored = stored_import(
        session, organisation_id, round_id, "tallies", source.sha256, MAPPING_SHA256
    )
    if stored is not None:
        report = ImportReport.model_validate(stored.summary["report"])
        return report.model_copy(update={"dry_run": dry_run, "replayed": True})
    definition = questionnaires_service.published_definition(
        session, survey_round.questionnaire_version_id
    )
    reading = _read(session, organisation_id, survey_round, definition, source)
    tallies = tally_rows(definition, reading) if not reading.problems.total else []
    _check_areas_free(session, round_id, reading)
    report = ImportReport(
        kind="tallies",
        dry_run=dry_run,
        file_sha256=source.sha256,
        encoding=reading.encoding,
        rows_read=reading.rows_read,
        rows_stored=sum(a.rows for a in reading.areas.values()),
        per_area=[
            ImportAreaCount(area_id=a.area_id, area_code=a.code, rows=a.rows)
            for a in sorted(reading.areas.values(), key=lambda a: a.code)
        ],
        problems=reading.problems.listed,
        problems_total=reading.problems.total,
        notes=reading.notes,
    )
    if dry_run:
        return report
    if reading.problems.total:
        raise ImportRefused(report, loc=("file",))
    if not reading.areas:
        raise BadRequest(f"the file has no rows of counts; {NOTHING}")
    record = DataImport(
        organisation_id=organisation_id,
        survey_round_id=round_id,
        kind="tallies",
        file_name=record_name(file_name),
        file_sha256=source.sha256,
        mapping_sha256=MAPPING_SHA256,
        rows_read=report.rows_read,
        rows_stored=report.rows_stored,
        summary={},
    )
    session.add(record)
    session.flush()
    report = report.model_copy(update={"import_id": record.id})
    record.summary = {"report": report.model_dump(mode="json")}
    tally_store.add_rows(session, round_id, layout_for(definition).slots, tallies)
    session.execute(
        update(SurveyRound)
        .where(SurveyRound.id == round_id)
        .values(source="imported_tallies")
        .execution_options(synchronize_session="fetch")
    )
    session.flush()
    webhook_events.emit_import_finished(
        session,
        organisation_id,
        import_id=record.id,
        kind="tallies",
        round_id=round_id,
        rows_read=report.rows_read,
        rows_imported=report.rows_stored,
    )
    return report


def _require_countable_round(session: Session, survey_round: SurveyRound) -> None:
    if survey_round.source == "collected":
        raise Conflict(
            f"survey round {survey_round.id} collects its own answers; answer counts go into a "
            "historical round (POST /rounds with historical: true). " + NOTHING
        )
    if survey_round.source == "imported":
        holds = session.scalar(
            select(func.count())
            .select_from(Response)
            .where(Response.survey_round_id == survey_round.id)
        ) or session.scalar(
            select(func.count())
            .select_from(DataImport)
            .where(DataImport.survey_round_id == survey_round.id, DataImport.kind == "responses")
        )
        if holds:
            raise Conflict(
                f"survey round {survey_round.id} holds imported responses: answer counts would "
                "count them twice. Take that import back first, or use another historical "
                "round. " + NOTHING
            )


def _check_areas_free(session: Session, round_id: int, reading: Reading) -> None:
    """A second file may add areas, never add to or replace an area's counts."""
    if not reading.areas:
        return
    taken = sorted(
        code
        for (code,) in session.execute(
            select(Area.code)
            .where(
                Area.id.in_(tally_store.areas_with_tallies(session, round_id, list(reading.areas)))
            )
            .order_by(Area.code)
        )
    )
    if taken:
        raise Conflict(
            f"survey round {round_id} already has answer counts for "
            + ", ".join(taken)
            + ": a file may only add areas that have none. Take the earlier import back first "
            f"(DELETE /rounds/{round_id}/imports/{{import_id}}). " + NOTHING
        )


# ---------------------------------------------------------------------------------------------
# Reading the file
# ---------------------------------------------------------------------------------------------


def _read(
    session: Session,
    organisation_id: int,
    survey_round: SurveyRound,
    definition: QuestionnaireDefinition,
    source: SourceFile,
) -> Reading:
    areas_by_code = {
        code: area_id
        for area_id, code in session.execute(
            select(Area.id, Area.code).where(Area.organisation_id == organisation_id)
        )
    }
    in_round = set(rounds_service.area_ids_of(session, survey_round.id))
    reading = Reading()
    with open_table(source) as table:
        reading.encoding = table.encoding
        position = _positions(table.columns)
        width = len(table.columns)
        for line, cells in table.rows:
            reading.rows_read += 1
            _read_row(reading, line, cells, width, position, areas_by_code, in_round, definition)
    check_totals(reading, definition)
    return reading


def _positions(columns: list[str]) -> dict[str, int]:
    lowered = [c.strip().lower() for c in columns]
    missing = [c for c in COLUMNS if c not in lowered]
    extra = [c for c, low in zip(columns, lowered, strict=True) if low not in COLUMNS]
    if missing or extra:
        raise BadRequest(
            "a file of answer counts has exactly the columns area, item, option and count"
            + (f"; missing: {', '.join(missing)}" if missing else "")
            + (f"; not known: {', '.join(repr(c) for c in extra)}" if extra else "")
            + f". {NOTHING}"
        )
    return {name: lowered.index(name) for name in COLUMNS}


def _read_row(
    reading: Reading,
    line: int,
    cells: list[str],
    width: int,
    position: dict[str, int],
    areas_by_code: dict[str, int],
    in_round: set[int],
    definition: QuestionnaireDefinition,
) -> None:
    if len(cells) > width:
        reading.problems.add(
            line, None, None, "extra_cells", f"the row has {len(cells)} cells, the heading {width}"
        )
        return
    cell = {name: cells[i] if i < len(cells) else "" for name, i in position.items()}
    bad = False
    for name, value in cell.items():
        if "\x00" in value:
            reading.problems.add(
                line, name, None, "nul_character", "the cell holds a NUL character"
            )
            bad = True
    if bad:
        return
    area_id = areas_by_code.get(cell["area"])
    if not cell["area"]:
        reading.problems.add(line, "area", "", "missing", "no area code")
        bad = True
    elif area_id is None:
        reading.problems.add(
            line, "area", cell["area"], "unknown_area", "no area of yours has this code"
        )
        bad = True
    elif area_id not in in_round:
        reading.problems.add(
            line,
            "area",
            cell["area"],
            "area_not_in_round",
            "this area does not take part in the round",
        )
        bad = True
    count = _count(reading, line, cell["count"])
    key, option_text = cell["item"], cell["option"]
    item: Item | None = None
    option: int | str | None = None
    if key == ALL:
        if option_text not in ("", ALL):
            reading.problems.add(
                line,
                "option",
                option_text,
                "unknown_option",
                "a respondents row (item '*') has no option: leave it empty or write '*'",
            )
            bad = True
        option = ALL
    else:
        item = definition.items_by_key.get(key)
        if not key:
            reading.problems.add(line, "item", "", "missing", "no item key")
        elif item is None:
            reading.problems.add(
                line, "item", key, "unknown_item", "not an item of the round's questionnaire"
            )
        elif item.kind == "text":
            reading.problems.add(
                line, "item", key, "text_item", "a free-text item has no answer counts"
            )
            item = None
        elif item.kind == "number":
            reading.problems.add(
                line,
                "item",
                key,
                "number_item",
                "a number item's mean needs the numbers themselves, not counts",
            )
            item = None
        if item is None:
            bad = True
        else:
            option = _option(reading, line, item, option_text)
            bad = bad or option is None
    if bad or count is None or area_id is None or option is None:
        return
    area = reading.areas.get(area_id)
    if area is None:
        area = reading.areas[area_id] = AreaCounts(area_id=area_id, code=cell["area"])
    if item is None:
        if area.respondents is not None:
            _duplicate(reading, line, area.respondents[1])
            return
        area.respondents = (count, line)
    else:
        counts = area.items[item.key]
        if option in counts:
            _duplicate(reading, line, counts[option][1])
            return
        counts[option] = (count, line)
    area.rows += 1


def _duplicate(reading: Reading, line: int, first: int) -> None:
    reading.problems.add(
        line, None, None, "duplicate_row", f"the same area, item and option as row {first}"
    )


def _count(reading: Reading, line: int, text: str) -> int | None:
    value = text.replace(" ", "").replace("\u00a0", "")
    if not _INTEGER.match(value) or int(value) > MAX_COUNT:
        reading.problems.add(
            line,
            "count",
            text,
            "bad_count",
            f"the count must be a whole number from 0 to {MAX_COUNT}",
        )
        return None
    return int(value)


def _option(reading: Reading, line: int, item: Item, text: str) -> int | str | None:
    if text == ALL:
        if item.kind != "multi_choice":
            reading.problems.add(
                line,
                "option",
                text,
                "unknown_option",
                "'*' (respondents who answered) is only for multi-choice items",
            )
            return None
        return ALL
    if not _CODE.match(text) or int(text) not in item.options_by_code:
        codes = ", ".join(str(c) for c in item.codes)
        reading.problems.add(
            line,
            "option",
            text,
            "unknown_option",
            f"not an option code of '{item.key}' (codes: {codes})",
        )
        return None
    return int(text)
