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

The report's schemas are in imports/classification_schemas.py (re-exported here), reading a
row in imports/classification_rows.py.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from survey_api.areas import service as areas_service
from survey_api.imports.classification_rows import PRECEDENCE, ParsedRow, parse_heading, parse_row
from survey_api.imports.classification_schemas import (
    MAX_LISTED_UNMATCHED,
    ClassificationChange,
    ClassificationConflict,
    ClassificationField,
    ClassificationImportProblemDetails,
    ClassificationImportReport,
    CodeKind,
    ConflictingValue,
    UnmatchedRow,
    UnmatchedRows,
)
from survey_api.imports.files import SourceFile, open_table
from survey_api.imports.problems import ImportRefused, Problems
from survey_api.imports.records import lock_organisation, stored_import
from survey_api.models import Area, AreaClassification
from survey_api.models.data_import import DataImport
from survey_api.webhooks import events as webhook_events

__all__ = [
    "MAPPING_SHA256",
    "ClassificationChange",
    "ClassificationConflict",
    "ClassificationImportProblemDetails",
    "ClassificationImportReport",
    "UnmatchedRow",
    "UnmatchedRows",
    "import_classifications",
    "previous_import",
]

#: The rules' version: part of the import's identity, so a change of rules imports anew.
MAPPING_SHA256 = hashlib.sha256(b"survey_api classifications import, rules 1").hexdigest()
#: Lines listed per area and year (all are used).
MAX_LISTED_LINES = 20


def _refusal(report: ClassificationImportReport) -> ImportRefused:
    """422: the file has row problems or contradicts itself; the report says where."""
    refused = sum(c.resolution == "refused" for c in report.conflicts)
    parts = []
    if report.problems_total:
        parts.append(f"{report.problems_total} row problem(s)")
    if refused:
        parts.append(f"{refused} conflict(s) within one code kind")
    return ImportRefused(report, loc=("row",), what=" and ".join(parts))


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

    def match(self, row: ParsedRow) -> tuple[list[Area], Literal["no_area", "other_version"]]:
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
    webhook_events.emit_import_finished(
        session,
        organisation_id,
        import_id=record.id,
        kind="classifications",
        round_id=None,
        rows_read=report.rows_read,
        rows_imported=report.rows_stored,
    )
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
        positions, ignored = parse_heading(table.columns)
        width = len(table.columns)
        for line, cells in table.rows:
            rows_read += 1
            row = parse_row(line, cells, positions, width, problems, pad=table.encoding == "xlsx")
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
