"""What an import answers: the report of a dry run or a real run, and the stored record.

Shared by the three kinds of import (responses, tallies, classifications) so that a client,
the console and a person reading the contract see one shape."""

from typing import Literal

from pydantic import BaseModel, Field

from survey_api.exceptions import Problem
from survey_api.timestamps import UtcDatetime

ImportKind = Literal["responses", "tallies", "classifications"]
#: At most this many problems are listed in a report; `problems_total` counts them all.
MAX_LISTED_PROBLEMS = 1000


class ImportProblem(BaseModel):
    """One problem with one row (or one cell) of the file; `row` is the file's line number
    (the heading is line 1), `column` the heading of the cell when there is one."""

    row: int
    column: str | None = None
    item_key: str | None = None
    value: str | None = Field(default=None, description="The cell's text, cut to 200 characters.")
    type: str = Field(description="A stable code, e.g. unknown_area, unknown_value, out_of_range.")
    msg: str


class ImportAreaCount(BaseModel):
    """The rows of one area that are (or, in a dry run, would be) stored."""

    area_id: int
    area_code: str
    rows: int


class ImportReport(BaseModel):
    """What an import did, or with `dry_run` would do. A real run is all or nothing: with any
    problem it answers 422 with this report in the problem's `report` and stores nothing."""

    kind: ImportKind
    dry_run: bool
    import_id: int | None = Field(
        default=None, description="The stored import; None for a dry run or a refused file."
    )
    replayed: bool = Field(
        default=False,
        description="True when the same file with the same mapping was imported before: "
        "nothing new is stored and this is that import's report.",
    )
    file_sha256: str
    encoding: str = Field(description="utf-8, utf-8-sig, windows-1252 or xlsx.")
    rows_read: int
    rows_stored: int = Field(description="Stored, or that would be stored in a dry run.")
    per_area: list[ImportAreaCount]
    problems: list[ImportProblem] = Field(
        description=f"Every problem, by row; the first {MAX_LISTED_PROBLEMS} are listed."
    )
    problems_total: int
    unmapped_columns: list[str] = Field(
        default_factory=list,
        description="Columns of the file that the mapping neither reads nor ignores (their "
        "cells are never read or stored); a hint that the mapping may miss something.",
    )
    notes: list[str] = Field(
        default_factory=list,
        description="What the import had to assume or leave out, in plain words (never a "
        "problem: the rows are fine), e.g. answer counts without a respondents row.",
    )


class ImportProblemDetails(Problem):
    """The 422 of an import of responses or answer counts: a Problem, and when a real run's
    file had problems (nothing was stored) the whole report under `report`."""

    report: ImportReport | None = Field(
        default=None,
        description="The refused run's report, every problem by row and column; absent when "
        "the request itself was invalid (e.g. no `file` part).",
    )


class DataImportRead(BaseModel):
    """A stored import of a round (or of the organisation's area classifications)."""

    id: int
    kind: ImportKind
    survey_round_id: int | None
    file_name: str
    file_sha256: str
    rows_read: int
    rows_stored: int
    created_at: UtcDatetime
