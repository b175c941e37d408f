"""The console's history flows: what a historical round's page lists of its imports.

The import pages themselves (a file and a mapping, the dry-run report as a table, then the
real import; answer counts only; taking an import back) follow as the import services land.
"""

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from survey_api.rounds.schemas import SurveyRoundRead
from survey_api.staff.service import StaffPrincipal


@dataclass(frozen=True)
class Importable:
    """Which kinds of import the console offers for a historical round."""

    responses: bool
    tallies: bool


def history(session: Session, principal: StaffPrincipal, read: SurveyRoundRead) -> dict[str, Any]:
    """What a round's page shows of its imports: `imports` (None while the console cannot
    list them yet) and which imports it offers."""
    return {"imports": None, "importable": Importable(responses=False, tallies=False)}
