"""What the three imports (responses, tallies, classifications) share about problems: how a
cell is repeated in a report, the capped list of problems, and the one refusal of a real run.

Every import is all or nothing: a real run with any problem stores nothing and answers 422 with
its whole report under the problem's ``report`` member (so a client needs no second, dry run to
see what was wrong), and ``errors`` listing the first problems as field errors (so a client
that only knows the ordinary Problem still sees where). One class says that for all three, and
the contract documents the ``report`` member with the route's report schema
(:func:`refused_responses`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from survey_api.exceptions import Problem, ValidationFailed, problem_content, problem_responses
from survey_api.imports.files import NOTHING
from survey_api.imports.schemas import MAX_LISTED_PROBLEMS, ImportProblem

#: Problems repeated as field errors in a refusal's ``errors`` (the report has every one).
MAX_LISTED_ERRORS = 20
#: Problems named in a refusal's ``detail``.
MAX_NAMED_PROBLEMS = 3
#: A cell repeated in a report is cut to this many characters.
MAX_VALUE = 200


def cut(value: str, nul: str = "\\x00") -> str:
    """A cell as a report may repeat it: at most 200 characters, a NUL written as ``nul``
    (PostgreSQL refuses NUL in text, and a report is stored with its import)."""
    return value[:MAX_VALUE].replace("\x00", nul)


@dataclass
class Problems:
    """A report's problems: every one counted, the first :data:`MAX_LISTED_PROBLEMS` kept (a
    file of a million bad rows must not make a report of a million entries)."""

    listed: list[ImportProblem] = field(default_factory=list)
    total: int = 0
    #: How a NUL in a repeated cell is written.
    nul: str = "\\x00"

    def keep(self, found: Iterable[ImportProblem]) -> None:
        """Count problems made elsewhere, keeping the first ones."""
        for problem in found:
            self.total += 1
            if len(self.listed) < MAX_LISTED_PROBLEMS:
                self.listed.append(problem)

    def add(
        self,
        row: int,
        column: str | None,
        value: str | None,
        type_: str,
        msg: str,
        *,
        item_key: str | None = None,
    ) -> None:
        """One problem with one row (``column`` and ``value`` None for the whole row)."""
        self.total += 1
        if len(self.listed) < MAX_LISTED_PROBLEMS:
            self.listed.append(
                ImportProblem(
                    row=row,
                    column=column,
                    item_key=item_key,
                    value=None if value is None else cut(value, self.nul),
                    type=type_,
                    msg=msg,
                )
            )


class RefusableReport(Protocol):
    """Any import's report: its listed problems and their total."""

    @property
    def problems(self) -> list[ImportProblem]: ...

    @property
    def problems_total(self) -> int: ...

    def model_dump(self, *, mode: str) -> dict[str, Any]: ...


class ImportRefused(ValidationFailed):
    """A real run with problems (422): nothing was stored; the whole report is the problem's
    ``report`` and ``errors`` lists the first problems by row and column.

    ``what`` says what was wrong when it is more than row problems (the classifications'
    conflicts); ``loc`` is where the file's rows are in the request, the start of each error's
    location."""

    def __init__(
        self,
        report: RefusableReport,
        *,
        loc: tuple[str, ...] = ("body", "file"),
        what: str | None = None,
    ) -> None:
        named = "; ".join(f"row {p.row}: {p.msg}" for p in report.problems[:MAX_NAMED_PROBLEMS])
        super().__init__(
            f"the file has {what or f'{report.problems_total} problem(s)'}; {NOTHING}"
            + (f" (first: {named})" if named else "")
            + ". `report` lists every problem by row and column; check the fixed file with "
            "dry_run=true",
            errors=[
                {
                    "loc": [*loc, p.row, *([p.column] if p.column else [])],
                    "msg": p.msg,
                    "type": p.type,
                }
                for p in report.problems[:MAX_LISTED_ERRORS]
            ],
        )
        self.report = report

    def problem(self, instance: str | None = None) -> dict[str, Any]:
        """The problem body with the whole report under ``report``."""
        return {**super().problem(instance), "report": self.report.model_dump(mode="json")}


REFUSED_DESCRIPTION = (
    "A field is invalid (`errors` lists each one), or a real run's file has problems: "
    "nothing is stored, `report` is the whole import report (every problem by row and column) "
    "and `errors` lists the first problems."
)


def refused_responses(model: type[Problem], *statuses: int) -> dict[int | str, dict[str, Any]]:
    """``problem_responses(*statuses)`` of an import route, whose 422 is ``model``: the
    Problem with the route's report under ``report``."""
    responses = problem_responses(*statuses)
    responses[422] = {
        "model": model,
        "description": REFUSED_DESCRIPTION,
        "content": problem_content(model.__name__),
    }
    return responses


__all__ = [
    "MAX_LISTED_ERRORS",
    "ImportRefused",
    "Problems",
    "RefusableReport",
    "cut",
    "refused_responses",
]
