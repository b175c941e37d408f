"""The report of a classifications import (imports/classifications.py) and its 422 problem:
what the API answers and the console shows, apart from the rules that fill it in.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from survey_api.exceptions import Problem
from survey_api.imports.schemas import MAX_LISTED_PROBLEMS, ImportProblem

__all__ = [
    "MAX_LISTED_UNMATCHED",
    "ChangeOutcome",
    "ClassificationChange",
    "ClassificationConflict",
    "ClassificationField",
    "ClassificationImportProblemDetails",
    "ClassificationImportReport",
    "CodeKind",
    "ConflictingValue",
    "UnmatchedRow",
    "UnmatchedRows",
]

CodeKind = Literal["area_code", "deso", "regso"]
ClassificationField = Literal["area_type", "police_class"]
ChangeOutcome = Literal["add", "update", "unchanged"]

#: Unmatched rows listed in a report (all are counted).
MAX_LISTED_UNMATCHED = 20


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
