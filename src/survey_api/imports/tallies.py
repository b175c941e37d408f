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
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from survey_api.exceptions import BadRequest, Conflict
from survey_api.imports.files import NOTHING, SourceFile, open_table
from survey_api.imports.problems import ImportRefused, Problems
from survey_api.imports.records import lock_round, record_name, stored_import
from survey_api.imports.schemas import ImportAreaCount, ImportReport
from survey_api.models import Area, DataImport, Response, SurveyRound, Tally
from survey_api.questionnaires import service as questionnaires_service
from survey_api.questionnaires.definition import Item, QuestionnaireDefinition
from survey_api.results.fold import BASE_NON_SUBSTANTIVE, BASE_VALID
from survey_api.rounds import service as rounds_service

__all__ = [
    "ALL",
    "COLUMNS",
    "MAPPING_SHA256",
    "import_tallies",
    "respondents_with",
]

#: The columns a tallies file must have (in any order; other columns are refused).
COLUMNS = ("area", "item", "option", "count")
#: ``item`` = ALL: the area's respondents; ``option`` = ALL: a multi-choice item's respondents.
ALL = "*"
# Tallies have no mapping: a fixed text stands in for it in the import's identity.
MAPPING_SHA256 = hashlib.sha256(b"survey_api tallies: area,item,option,count v1").hexdigest()
# Counts are stored in 32-bit integer columns; no survey of one area comes near this.
MAX_COUNT = 100_000_000
_INTEGER = re.compile(r"^[0-9]+$")
_CODE = re.compile(r"^-?[0-9]+$")


@dataclass
class _AreaCounts:
    """What the file says about one area."""

    area_id: int
    code: str
    rows: int = 0
    respondents: tuple[int, int] | None = None  # (count, line)
    # item key -> option code (or ALL) -> (count, line)
    items: dict[str, dict[int | str, tuple[int, int]]] = field(
        default_factory=lambda: defaultdict(dict)
    )


@dataclass
class _Reading:
    rows_read: int = 0
    encoding: str = ""
    problems: Problems = field(default_factory=Problems)
    areas: dict[int, _AreaCounts] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


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
    tallies = _tallies(definition, reading) if not reading.problems.total else []
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
    session.add_all(Tally(survey_round_id=round_id, **row) for row in tallies)
    session.execute(
        update(SurveyRound)
        .where(SurveyRound.id == round_id)
        .values(source="imported_tallies")
        .execution_options(synchronize_session="fetch")
    )
    session.flush()
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


def _check_areas_free(session: Session, round_id: int, reading: _Reading) -> None:
    """A second file may add areas, never add to or replace an area's counts."""
    if not reading.areas:
        return
    taken = sorted(
        code
        for (code,) in session.execute(
            select(Area.code)
            .where(
                Area.id.in_(
                    select(Tally.area_id)
                    .where(
                        Tally.survey_round_id == round_id,
                        Tally.area_id.in_(list(reading.areas)),
                    )
                    .distinct()
                )
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
) -> _Reading:
    areas_by_code = {
        code: area_id
        for area_id, code in session.execute(
            select(Area.id, Area.code).where(Area.organisation_id == organisation_id)
        )
    }
    in_round = set(rounds_service.area_ids_of(session, survey_round.id))
    reading = _Reading()
    with open_table(source) as table:
        reading.encoding = table.encoding
        position = _positions(table.columns)
        width = len(table.columns)
        for line, cells in table.rows:
            reading.rows_read += 1
            _read_row(reading, line, cells, width, position, areas_by_code, in_round, definition)
    _check_totals(reading, definition)
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
    reading: _Reading,
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
        area = reading.areas[area_id] = _AreaCounts(area_id=area_id, code=cell["area"])
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


def _duplicate(reading: _Reading, line: int, first: int) -> None:
    reading.problems.add(
        line, None, None, "duplicate_row", f"the same area, item and option as row {first}"
    )


def _count(reading: _Reading, line: int, text: str) -> int | None:
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


def _option(reading: _Reading, line: int, item: Item, text: str) -> int | str | None:
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


def _answers_to(item: Item, counts: dict[int | str, tuple[int, int]]) -> int | None:
    """Respondents who answered an item: the option counts' sum, or a multi-choice item's
    ``*`` row (None without it)."""
    if item.kind == "multi_choice":
        given = counts.get(ALL)
        return None if given is None else given[0]
    return sum(c for code, (c, _) in counts.items() if code != ALL)


def _check_totals(reading: _Reading, definition: QuestionnaireDefinition) -> None:
    """Counts that cannot come from one set of respondents, and the respondents' fallback."""
    estimated: list[str] = []
    for area in sorted(reading.areas.values(), key=lambda a: a.code):
        answered: dict[str, int] = {}
        for key, counts in area.items.items():
            item = definition.item(key)
            total = _answers_to(item, counts)
            if item.kind == "multi_choice":
                options = [(c, line) for code, (c, line) in counts.items() if code != ALL]
                exclusive = sum(
                    c for code, (c, _) in counts.items() if code != ALL and _exclusive(item, code)
                )
                if total is None:
                    total = max((c for c, _ in options), default=0)
                elif any(c > total for c, _ in options) or exclusive > total:
                    reading.problems.add(
                        counts[ALL][1],
                        "count",
                        str(total),
                        "inconsistent_counts",
                        f"fewer respondents answered '{key}' than ticked one of its options "
                        "(or its exclusive options together)",
                    )
            answered[key] = total or 0
        if area.respondents is None:
            area_total = max(answered.values(), default=0)
            estimated.append(area.code)
            area.respondents = (area_total, 0)
            continue
        respondents, line = area.respondents
        over = sorted(k for k, n in answered.items() if n > respondents)
        if over:
            reading.problems.add(
                line,
                "count",
                str(respondents),
                "inconsistent_counts",
                f"more answers to {', '.join(over)} than respondents of the area",
            )
    if estimated:
        reading.notes.append(
            "No respondents row (item '*') for "
            + ", ".join(estimated)
            + ": the number of respondents is taken as the largest number of answers to one "
            "item, which may be fewer than answered the survey."
        )
    missing = sorted(
        {
            key
            for area in reading.areas.values()
            for key, counts in area.items.items()
            if definition.item(key).kind == "multi_choice" and ALL not in counts
        }
    )
    if missing:
        reading.notes.append(
            "No row with option '*' (respondents who answered) for the multi-choice item(s) "
            + ", ".join(missing)
            + " in some areas: their option counts are stored, but their shares are "
            "unavailable there."
        )


def _exclusive(item: Item, code: int | str) -> bool:
    return isinstance(code, int) and item.option(code).exclusive


def respondents_with(
    item: Item, codes: set[int], counts: dict[int, int], answered: int | None
) -> int | None:
    """Respondents of a multi-choice item whose answer holds one of ``codes``, when option
    counts can tell it: with at most one non-exclusive code among them (exclusive options are
    ticked alone, so nobody is counted twice), or, given the respondents who answered, when
    every other option is exclusive (answered minus those who ticked only those). None
    otherwise: one respondent may have ticked several of the codes."""
    if sum(1 for code in codes if not item.option(code).exclusive) <= 1:
        return sum(counts.get(code, 0) for code in codes)
    others = [option for option in item.options if option.code not in codes]
    if answered is not None and all(option.exclusive for option in others):
        return answered - sum(counts.get(option.code, 0) for option in others)
    return None


# ---------------------------------------------------------------------------------------------
# The tallies: what the fold would have written
# ---------------------------------------------------------------------------------------------


class _Rows:
    """Tally rows of the whole area (breakdown ''), as the fold writes them."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        self.area_id = 0

    def put(
        self, measure: str, key: str, code: int, count: int, total: float = 0.0, sq: float = 0.0
    ) -> None:
        # The fold writes only the slots something was added to: so do we.
        if count > 0:
            self.rows.append(
                dict(
                    area_id=self.area_id,
                    breakdown_item="",
                    breakdown_code=0,
                    measure=measure,
                    measure_key=key,
                    code=code,
                    count=count,
                    total=total,
                    total_sq=sq,
                )
            )


def _tallies(definition: QuestionnaireDefinition, reading: _Reading) -> list[dict[str, Any]]:
    out = _Rows()
    for area in reading.areas.values():
        out.area_id = area.area_id
        assert area.respondents is not None
        out.put("respondents", "", 0, area.respondents[0])
        for key, given in area.items.items():
            item = definition.item(key)
            counts = {code: c for code, (c, _) in given.items() if isinstance(code, int)}
            for code, count in counts.items():
                out.put("option", key, code, count)
            if item.kind == "multi_choice":
                answered = given[ALL][0] if ALL in given else None
                _multi_choice(definition, item, counts, answered, out)
                continue
            valid = 0
            total = total_sq = 0.0
            non_substantive = 0
            for option in item.options:
                count = counts.get(option.code, 0)
                if option.is_substantive:
                    score = 0.0 if option.score is None else float(option.score)
                    valid += count
                    total += score * count
                    total_sq += score * score * count
                else:
                    non_substantive += count
            out.put("base", key, BASE_VALID, valid, total, total_sq)
            out.put("base", key, BASE_NON_SUBSTANTIVE, non_substantive)
            for indicator in definition.indicators:
                if indicator.item == key:
                    out.put(
                        "indicator",
                        indicator.key,
                        0,
                        sum(counts.get(c, 0) for c in indicator.codes),
                    )
    return out.rows


def _multi_choice(
    definition: QuestionnaireDefinition,
    item: Item,
    counts: dict[int, int],
    answered: int | None,
    out: _Rows,
) -> None:
    if answered is None:
        return  # shares unavailable (the results say so): no base, no respondents counts
    non_substantive = [o for o in item.options if not o.is_substantive]
    if not all(o.exclusive for o in non_substantive):
        return  # a non-exclusive "don't know" may be ticked beside others: n is unknown
    ns_count = sum(counts.get(o.code, 0) for o in non_substantive)
    out.put("base", item.key, BASE_VALID, answered - ns_count)
    out.put("base", item.key, BASE_NON_SUBSTANTIVE, ns_count)
    if item.favourable:
        x = respondents_with(item, set(item.favourable), counts, answered)
        if x is not None:
            out.put("favourable", item.key, 0, x)
    for indicator in definition.indicators:
        if indicator.item == item.key:
            x = respondents_with(item, set(indicator.codes), counts, answered)
            if x is not None:
                out.put("indicator", indicator.key, 0, x)
