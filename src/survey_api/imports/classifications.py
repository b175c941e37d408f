"""Official area classifications from a file: Segregationsbarometern's area type (områdestyp
1–5, published per DeSO/RegSO and year) and the police's list of utsatta områden per year,
matched to the organisation's areas and written as their `AreaClassification` per year.

The file (CSV or XLSX, read by `imports.files`) has one row per code and year:

    code_kind   deso, regso or area_code (our own area code)
    code        1480C1010 (DeSO), 1480R001 (RegSO) or the area's code
    year        the classification's year, 1990-2100
    area_type   1-5, or blank              } at least one of the two columns; a blank cell
    police_class our codes or the police's } keeps what is stored for that year
                words, or blank
    code_version optional: the DeSO/RegSO code set's year (2018, 2025); when given, only an
                area whose deso_version/regso_version is that year matches

Why the rules are what they are:
- A national file holds every DeSO of the country. Rows that match none of the organisation's
  areas are *unmatched*, counted and sampled, never an error; only matched rows are kept in
  memory, so a file of tens of thousands of rows costs the organisation's areas, not the file.
- Rows that cannot be read (an unknown code kind, a malformed code, a bad year, an area type
  outside 1-5, an unknown police class) are problems wherever they point: a file with such a row
  is not the published table, and guessing which rows to trust would be worse.
- Two rows may speak of one area and year: a DeSO row and a RegSO row, say. Per field the more
  precise code kind wins: area_code over DeSO over RegSO (the area code names the area itself; a
  DeSO is smaller than a RegSO). A loser that disagrees is reported as a resolved conflict. Rows
  of the winning kind that disagree with each other are a refused conflict: the file contradicts
  itself and the import stores nothing.
- The real run is all or nothing and idempotent on the file's SHA-256: the same file again
  answers the first import's report with `replayed: true` and changes nothing.
- Results read classifications when they are computed (`results.queries.areas_of_round`), so
  pooled groups by area type or police class use the new values from the next request on.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from survey_api.areas import service as areas_service
from survey_api.areas.schemas import DESO_PATTERN, REGSO_PATTERN, VERSION_PATTERN
from survey_api.exceptions import BadRequest, Problem
from survey_api.imports.files import NOTHING, SourceFile, open_table
from survey_api.imports.problems import ImportRefused, Problems
from survey_api.imports.records import lock_organisation, stored_import
from survey_api.imports.schemas import MAX_LISTED_PROBLEMS, ImportProblem
from survey_api.models import Area, AreaClassification
from survey_api.models.data_import import DataImport

CodeKind = Literal["area_code", "deso", "regso"]
ClassificationField = Literal["area_type", "police_class"]
ChangeOutcome = Literal["add", "update", "unchanged"]

#: Lower wins: the area's own code names it exactly, a DeSO is smaller than a RegSO.
PRECEDENCE: dict[CodeKind, int] = {"area_code": 0, "deso": 1, "regso": 2}
#: The rules' version: part of the import's identity, so a change of rules imports anew.
MAPPING_SHA256 = hashlib.sha256(b"survey_api classifications import, rules 1").hexdigest()
#: Unmatched rows listed in a report (all are counted).
MAX_LISTED_UNMATCHED = 20
#: Lines listed per area and year (all are used).
MAX_LISTED_LINES = 20

REQUIRED_COLUMNS = ("code_kind", "code", "year")
VALUE_COLUMNS = ("area_type", "police_class")
OPTIONAL_COLUMNS = ("code_version",)
# The areas CSV calls the police column police_classification; take that heading too.
COLUMN_ALIASES = {"police_classification": "police_class"}

#: Our codes and the words of the police's own list, compared case-insensitively.
POLICE_WORDS = {
    "none": "none",
    "utsatt": "utsatt",
    "risk": "risk",
    "sarskilt_utsatt": "sarskilt_utsatt",
    "utsatt område": "utsatt",
    "riskområde": "risk",
    "särskilt utsatt område": "sarskilt_utsatt",
}
_DESO = re.compile(DESO_PATTERN)
_REGSO = re.compile(REGSO_PATTERN)
_VERSION = re.compile(VERSION_PATTERN)
_AREA_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")
_YEAR = re.compile(r"^[0-9]{4}$")


# --- the report ----------------------------------------------------------------------------


class ClassificationChange(BaseModel):
    """One area and year the file speaks of: the stored values and the file's (a blank cell
    keeps the stored value, so `new` equals `old` there)."""

    area_id: int
    area_code: str
    year: int
    outcome: ChangeOutcome = Field(
        description="`add` a year the area has no classification for, `update` it, or leave "
        "it `unchanged` (the file holds what is stored)."
    )
    old_area_type: int | None
    new_area_type: int | None
    old_police_class: str | None
    new_police_class: str | None
    rows: list[int] = Field(description="The file's lines that name this area and year.")


class UnmatchedRow(BaseModel):
    """A readable row that names none of the organisation's areas."""

    row: int
    code_kind: CodeKind
    code: str
    code_version: str | None
    year: int
    reason: Literal["no_area", "other_version"] = Field(
        description="`no_area`: no area has this code; `other_version`: an area has the code "
        "but in another code set (deso_version/regso_version)."
    )


class UnmatchedRows(BaseModel):
    """Rows for other areas (a national file is mostly these): counted, not errors."""

    count: int
    sample: list[UnmatchedRow] = Field(
        description=f"The first {MAX_LISTED_UNMATCHED} unmatched rows."
    )


class ConflictingValue(BaseModel):
    """One row's value in a conflict."""

    row: int
    code_kind: CodeKind
    code: str
    value: str


class ClassificationConflict(BaseModel):
    """Rows that give one area and year different values for one field."""

    area_id: int
    area_code: str
    year: int
    field: ClassificationField
    values: list[ConflictingValue]
    resolution: Literal["resolved", "refused"] = Field(
        description="`resolved`: the more precise code kind wins (area_code over deso over "
        "regso) and `value` is stored; `refused`: rows of the same code kind disagree, so "
        "the file contradicts itself and nothing is imported."
    )
    value: str | None = Field(description="The value that wins; null when refused.")


class ClassificationImportReport(BaseModel):
    """What a classifications import did, or with `dry_run` would do. The real run is all or
    nothing: with any row problem or refused conflict it answers 422 with this report under
    the problem's `report` and stores nothing."""

    kind: Literal["classifications"] = "classifications"
    dry_run: bool
    import_id: int | None = Field(
        default=None, description="The stored import; None for a dry run or a refused file."
    )
    replayed: bool = Field(
        default=False,
        description="True when this file was imported before: nothing changes and this is "
        "that import's report.",
    )
    file_name: str
    file_sha256: str
    encoding: str = Field(description="utf-8, utf-8-sig, windows-1252 or xlsx.")
    ignored_columns: list[str] = Field(description="Headings the import does not read.")
    rows_read: int
    rows_matched: int = Field(description="Rows naming at least one of your areas.")
    rows_stored: int = Field(
        description="Area-years added or updated (or that would be, in a dry run)."
    )
    unchanged: int = Field(description="Area-years the file names with the stored values.")
    changes: list[ClassificationChange] = Field(
        description="Every area-year added or updated, by area code and year."
    )
    unmatched: UnmatchedRows
    conflicts: list[ClassificationConflict]
    problems: list[ImportProblem] = Field(
        description=f"Row problems, by row; the first {MAX_LISTED_PROBLEMS} are listed."
    )
    problems_total: int

    @property
    def refused(self) -> bool:
        """Whether a real run of this file stores nothing."""
        return self.problems_total > 0 or any(c.resolution == "refused" for c in self.conflicts)


class ClassificationImportProblemDetails(Problem):
    """The 422 of a classifications import: a Problem, and when a real run's file had row
    problems or refused conflicts (nothing was stored) the whole report under `report`."""

    report: ClassificationImportReport | None = Field(
        default=None,
        description="The refused run's report (row problems and conflicts); absent when the "
        "request itself was invalid (e.g. no `file` part).",
    )


def _refusal(report: ClassificationImportReport) -> ImportRefused:
    """422: the file has row problems or contradicts itself; the report says where."""
    refused = sum(c.resolution == "refused" for c in report.conflicts)
    parts = []
    if report.problems_total:
        parts.append(f"{report.problems_total} row problem(s)")
    if refused:
        parts.append(f"{refused} conflict(s) within one code kind")
    return ImportRefused(report, loc=("row",), what=" and ".join(parts))


# --- reading the file ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Row:
    line: int
    code_kind: CodeKind
    code: str
    code_version: str | None
    year: int
    values: dict[ClassificationField, str]  # the non-blank ones, as stored (police: our code)
    texts: dict[ClassificationField, str]  # the cells as written, for the report


def _heading(columns: list[str]) -> tuple[dict[str, int], list[str]]:
    """Where each column the import reads is, and the headings it ignores; a 400 when a
    required column is missing (nothing can be read from such a file)."""
    positions: dict[str, int] = {}
    ignored: list[str] = []
    for index, raw in enumerate(columns):
        name = re.sub(r"[\s-]+", "_", raw.strip().lower())
        name = COLUMN_ALIASES.get(name, name)
        if name in (*REQUIRED_COLUMNS, *VALUE_COLUMNS, *OPTIONAL_COLUMNS):
            if name in positions:
                raise BadRequest(f"the column {name!r} is named twice in the heading; {NOTHING}")
            positions[name] = index
        elif raw.strip():
            ignored.append(raw.strip().replace("\x00", "\ufffd")[:200])
    missing = [c for c in REQUIRED_COLUMNS if c not in positions]
    if missing or not any(c in positions for c in VALUE_COLUMNS):
        needed = [*missing] + (
            [] if any(c in positions for c in VALUE_COLUMNS) else ["area_type and/or police_class"]
        )
        raise BadRequest(
            "the file's heading lacks " + ", ".join(needed) + ". Columns: code_kind (deso, "
            "regso or area_code), code, year, area_type and/or police_class, optionally "
            f"code_version; {NOTHING}"
        )
    return positions, ignored[:50]


def _parse(
    line: int,
    cells: list[str],
    positions: dict[str, int],
    width: int,
    problems: Problems,
    *,
    pad: bool,
) -> _Row | None:
    """One row as a `_Row`, or None with its problems added."""
    before = problems.total
    if len(cells) > width:
        problems.add(
            line,
            None,
            None,
            "extra_cells",
            f"the row has {len(cells)} cells, more than the heading's {width} columns",
        )
    elif len(cells) < width and not pad:
        problems.add(
            line,
            None,
            None,
            "missing_cells",
            f"the row has {len(cells)} cells, fewer than the heading's {width} columns",
        )

    def cell(name: str) -> str:
        index = positions.get(name)
        return cells[index].strip() if index is not None and index < len(cells) else ""

    kind_text = cell("code_kind")
    kind = kind_text.lower()
    code = cell("code")
    if kind not in PRECEDENCE:
        problems.add(
            line,
            "code_kind",
            kind_text,
            "unknown_code_kind",
            "code_kind must be deso, regso or area_code",
        )
    elif not code:
        problems.add(line, "code", code, "missing", "the code is blank")
    else:
        if kind in ("deso", "regso"):
            code = code.upper()
        pattern, example = {
            "deso": (_DESO, "a DeSO code is 4 digits, A, B or C and 4 digits, e.g. 1480C1010"),
            "regso": (_REGSO, "a RegSO code is 4 digits, R and 3 digits, e.g. 1480R001"),
            "area_code": (_AREA_CODE, "an area code is letters, digits, _ . - (at most 40)"),
        }[kind]
        if not pattern.fullmatch(code):
            problems.add(line, "code", cell("code"), "malformed_code", example)
    version = cell("code_version") or None
    if version is not None and not _VERSION.fullmatch(version):
        problems.add(
            line,
            "code_version",
            version,
            "bad_code_version",
            "code_version is the code set's year, 4 digits (e.g. 2018 or 2025)",
        )
    year_text = cell("year")
    if not _YEAR.fullmatch(year_text) or not 1990 <= int(year_text) <= 2100:
        problems.add(line, "year", year_text, "bad_year", "year must be a year 1990-2100")
    values: dict[ClassificationField, str] = {}
    texts: dict[ClassificationField, str] = {}
    area_type = cell("area_type")
    if area_type:
        if area_type in ("1", "2", "3", "4", "5"):
            values["area_type"] = texts["area_type"] = area_type
        else:
            problems.add(
                line,
                "area_type",
                area_type,
                "out_of_range",
                "area_type must be 1-5 (Segregationsbarometern's områdestyp) or blank",
            )
    police = cell("police_class")
    if police:
        known = POLICE_WORDS.get(re.sub(r"\s+", " ", police.casefold()))
        if known is None:
            problems.add(
                line,
                "police_class",
                police,
                "unknown_police_class",
                "police_class must be none, utsatt, risk, sarskilt_utsatt, "
                "'utsatt område', 'riskområde', 'särskilt utsatt område' or blank",
            )
        else:
            values["police_class"] = known
            texts["police_class"] = police
    if problems.total > before:
        return None
    return _Row(
        line=line,
        code_kind=kind,  # type: ignore[arg-type]  # checked against PRECEDENCE above
        code=code,
        code_version=version if kind != "area_code" else None,
        year=int(year_text),
        values=values,
        texts=texts,
    )


# --- matching --------------------------------------------------------------------------------


@dataclass
class _Areas:
    """The organisation's areas by code, DeSO and RegSO code (areas may share a DeSO)."""

    by_code: dict[str, Area]
    by_deso: dict[str, list[Area]]
    by_regso: dict[str, list[Area]]

    @classmethod
    def load(cls, session: Session, organisation_id: int) -> _Areas:
        areas = list(session.scalars(select(Area).where(Area.organisation_id == organisation_id)))
        by_deso: dict[str, list[Area]] = defaultdict(list)
        by_regso: dict[str, list[Area]] = defaultdict(list)
        for area in areas:
            if area.deso_code:
                by_deso[area.deso_code].append(area)
            if area.regso_code:
                by_regso[area.regso_code].append(area)
        return cls({a.code: a for a in areas}, by_deso, by_regso)

    def match(self, row: _Row) -> tuple[list[Area], Literal["no_area", "other_version"]]:
        """The areas a row names, or why none."""
        if row.code_kind == "area_code":
            area = self.by_code.get(row.code)
            return ([area] if area is not None else []), "no_area"
        by_kind = self.by_deso if row.code_kind == "deso" else self.by_regso
        candidates = by_kind.get(row.code, [])
        if row.code_version is None:
            return candidates, "no_area"
        attr = "deso_version" if row.code_kind == "deso" else "regso_version"
        matched = [a for a in candidates if getattr(a, attr) == row.code_version]
        return matched, "other_version" if candidates and not matched else "no_area"


@dataclass(frozen=True, slots=True)
class _Candidate:
    rank: int
    line: int
    code_kind: CodeKind
    code: str
    value: str
    text: str


def _resolve(
    area: Area, year: int, name: ClassificationField, candidates: list[_Candidate]
) -> tuple[str | None, ClassificationConflict | None]:
    """The field's value from the rows that give it (see the module's precedence rule)."""
    if not candidates:
        return None, None
    best = min(c.rank for c in candidates)
    winners = {c.value for c in candidates if c.rank == best}
    if len({c.value for c in candidates}) == 1:
        return candidates[0].value, None
    values = [
        ConflictingValue(row=c.line, code_kind=c.code_kind, code=c.code, value=c.text)
        for c in sorted(candidates, key=lambda c: (c.rank, c.line))[:MAX_LISTED_LINES]
    ]
    if len(winners) > 1:
        conflict = ClassificationConflict(
            area_id=area.id,
            area_code=area.code,
            year=year,
            field=name,
            values=values,
            resolution="refused",
            value=None,
        )
        return None, conflict
    (value,) = winners
    conflict = ClassificationConflict(
        area_id=area.id,
        area_code=area.code,
        year=year,
        field=name,
        values=values,
        resolution="resolved",
        value=value,
    )
    return value, conflict


# --- the import ------------------------------------------------------------------------------


def previous_import(session: Session, organisation_id: int, file_sha256: str) -> DataImport | None:
    """This organisation's earlier import of the same classifications file, if any."""
    return stored_import(
        session, organisation_id, None, "classifications", file_sha256, MAPPING_SHA256
    )


def import_classifications(
    session: Session, organisation_id: int, source: SourceFile, *, dry_run: bool
) -> ClassificationImportReport:
    """Read the file, match its rows to the organisation's areas and, unless `dry_run`,
    write the classifications and record the import; all or nothing (see the module)."""
    if not dry_run:
        # An identical import at the same moment is stored once (the second replays it), and
        # two files do not interleave their writes to one area-year.
        lock_organisation(session, organisation_id)
    earlier = previous_import(session, organisation_id, source.sha256)
    if earlier is not None:
        stored = ClassificationImportReport.model_validate(earlier.summary)
        return stored.model_copy(
            update={"dry_run": dry_run, "replayed": True, "import_id": earlier.id}
        )
    report, plan = _plan(session, organisation_id, source, dry_run=dry_run)
    if dry_run:
        return report
    if report.refused:
        raise _refusal(report)
    for change, stored_row in plan:
        if stored_row is None:
            session.add(
                AreaClassification(
                    area_id=change.area_id,
                    year=change.year,
                    area_type=change.new_area_type,
                    police_classification=change.new_police_class,
                )
            )
        else:
            stored_row.area_type = change.new_area_type
            stored_row.police_classification = change.new_police_class
    record = DataImport(
        organisation_id=organisation_id,
        survey_round_id=None,
        kind="classifications",
        file_name=source.name.replace("\x00", "\ufffd"),
        file_sha256=source.sha256,
        mapping_sha256=MAPPING_SHA256,
        rows_read=report.rows_read,
        rows_stored=report.rows_stored,
        summary=report.model_dump(mode="json", exclude={"import_id", "replayed"}),
    )
    session.add(record)
    session.flush()
    return report.model_copy(update={"import_id": record.id})


def _plan(
    session: Session, organisation_id: int, source: SourceFile, *, dry_run: bool
) -> tuple[
    ClassificationImportReport, list[tuple[ClassificationChange, AreaClassification | None]]
]:
    """The report, and per area-year to write its change and stored row; stores nothing."""
    areas = _Areas.load(session, organisation_id)
    problems = Problems(nul="\ufffd")
    candidates: dict[tuple[int, int], dict[ClassificationField, list[_Candidate]]] = defaultdict(
        lambda: {"area_type": [], "police_class": []}
    )
    lines: dict[tuple[int, int], list[int]] = defaultdict(list)
    matched_areas: dict[int, Area] = {}
    rows_read = rows_matched = unmatched_count = 0
    unmatched: list[UnmatchedRow] = []
    with open_table(source) as table:
        positions, ignored = _heading(table.columns)
        width = len(table.columns)
        for line, cells in table.rows:
            rows_read += 1
            row = _parse(line, cells, positions, width, problems, pad=table.encoding == "xlsx")
            if row is None:
                continue
            found, reason = areas.match(row)
            if not found:
                unmatched_count += 1
                if len(unmatched) < MAX_LISTED_UNMATCHED:
                    unmatched.append(
                        UnmatchedRow(
                            row=line,
                            code_kind=row.code_kind,
                            code=row.code,
                            code_version=row.code_version,
                            year=row.year,
                            reason=reason,
                        )
                    )
                continue
            rows_matched += 1
            for area in found:
                key = (area.id, row.year)
                matched_areas[area.id] = area
                if len(lines[key]) < MAX_LISTED_LINES:
                    lines[key].append(line)
                for name, value in row.values.items():
                    candidates[key][name].append(
                        _Candidate(
                            PRECEDENCE[row.code_kind],
                            line,
                            row.code_kind,
                            row.code,
                            value,
                            row.texts[name],
                        )
                    )
    stored = {
        (c.area_id, c.year): c
        for rows in areas_service.classifications_of(session, sorted(matched_areas)).values()
        for c in rows
    }
    conflicts: list[ClassificationConflict] = []
    plan: list[tuple[ClassificationChange, AreaClassification | None]] = []
    changes: list[ClassificationChange] = []
    unchanged = 0
    for key in sorted(lines, key=lambda k: (matched_areas[k[0]].code, k[1])):
        area, year = matched_areas[key[0]], key[1]
        old = stored.get(key)
        old_type = old.area_type if old is not None else None
        old_police = old.police_classification if old is not None else None
        new_type, type_conflict = _resolve(area, year, "area_type", candidates[key]["area_type"])
        new_police, police_conflict = _resolve(
            area, year, "police_class", candidates[key]["police_class"]
        )
        conflicts += [c for c in (type_conflict, police_conflict) if c is not None]
        change = ClassificationChange(
            area_id=area.id,
            area_code=area.code,
            year=year,
            outcome="unchanged",
            old_area_type=old_type,
            new_area_type=int(new_type) if new_type is not None else old_type,
            old_police_class=old_police,
            new_police_class=new_police if new_police is not None else old_police,
            rows=lines[key],
        )
        if (change.new_area_type, change.new_police_class) == (old_type, old_police):
            unchanged += 1  # also a new year whose every cell is blank: nothing to store
            continue
        change.outcome = "add" if old is None else "update"
        changes.append(change)
        plan.append((change, old))
    report = ClassificationImportReport(
        dry_run=dry_run,
        file_name=source.name.replace("\x00", "\ufffd"),
        file_sha256=source.sha256,
        encoding=table.encoding,
        ignored_columns=ignored,
        rows_read=rows_read,
        rows_matched=rows_matched,
        rows_stored=len(changes),
        unchanged=unchanged,
        changes=changes,
        unmatched=UnmatchedRows(count=unmatched_count, sample=unmatched),
        conflicts=conflicts,
        problems=sorted(problems.listed, key=lambda p: p.row),
        problems_total=problems.total,
    )
    return report, plan
