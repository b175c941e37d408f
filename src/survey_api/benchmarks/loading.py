"""Reading every contributing round of a benchmark at once, in a few queries (issue 13).

A benchmark reads the rounds of every opted-in organisation in a period: 300 organisations ×
50 areas is 300 rounds and 15,000 areas. Loading them one by one through the results code
(header, definition, areas, tallies and a fold check per round) cost ~10 ms a round. Here the
number of queries does not grow with the number of rounds:

1. :func:`candidate_rounds`: one query for the rounds of opted-in organisations in the period,
   with their organisation's minimum cell size and whether the round is closed;
2. :func:`definitions`: each distinct questionnaire version parsed once per process (published
   versions never change), the versions not yet known read in one query and identical
   definitions parsed once;
3. :func:`bring_up_to_date`: the freshness rule below (one query to find the rounds with
   waiting code answers, one to find the rounds with unfolded responses);
4. :func:`areas_of_rounds`: one query for the rounds' areas and households, one for their
   classifications (the round's year, else the latest earlier one, as results use);
5. ``tallies.read_tallies``: one query for the slot order of every round and one for the
   whole-area tally blocks of all of them, cut in SQL to the slots the targets need;

and each target's valid n, share count and sums come out of the blocks as arrays
(``tallies.target_values``), the same numbers ``results.cells`` reads from a ``CellTally``.

**Freshness** (docs/methods.md, section 18). The benchmark is as fresh as a round's own
results: a round that has responses past its fold watermark is folded before it is read, and a
closed round's waiting code answers are released first, exactly what reading the round's
results does. Finding those rounds costs one query for all of them (an index probe per round),
and only the rounds found are folded, one after the other, each committed at once like a
results read does (a fold holds the round's exclusive lock until then). Where a background
folder runs (``SURVEY_API_FOLD_INTERVAL_SECONDS``) it has usually folded them already and the
benchmark folds nothing.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, case, exists, func, select
from sqlalchemy.orm import Session

from survey_api.exceptions import NotFound
from survey_api.models import (
    POLICE_CLASSIFICATIONS as POLICE,
)
from survey_api.models import (
    Area,
    AreaClassification,
    Organisation,
    QuestionnaireVersion,
    Response,
    SurveyRound,
    SurveyRoundArea,
    TallyWatermark,
)
from survey_api.questionnaires.checker import parse_definition
from survey_api.questionnaires.definition import QuestionnaireDefinition
from survey_api.responses import pending
from survey_api.results.fold import fold_round
from survey_api.results.suppression import effective_min_cell
from survey_api.rounds import service as rounds_service

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    IntArray = npt.NDArray[np.int64]


# ---------------------------------------------------------------------------------------------
# Rounds and definitions
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CandidateRound:
    """A round of an opted-in organisation in the period."""

    id: int
    organisation_id: int
    version_id: int
    counts_only: bool
    closed: bool
    min_cell: int


def candidate_rounds(session: Session, period: str) -> list[CandidateRound]:
    """Every round in the period of an organisation that opted in, by organisation, newest
    round (highest id) first."""
    closed = rounds_service.status_is("closed", rounds_service.today())
    rows = session.execute(
        select(
            SurveyRound.id,
            SurveyRound.organisation_id,
            SurveyRound.questionnaire_version_id,
            SurveyRound.source,
            closed.label("closed"),
            Organisation.min_cell_size,
        )
        .join(Organisation, Organisation.id == SurveyRound.organisation_id)
        .where(Organisation.benchmark_opt_in.is_(True), SurveyRound.period == period)
        .order_by(SurveyRound.organisation_id, SurveyRound.id.desc())
    ).all()
    return [
        CandidateRound(
            id=round_id,
            organisation_id=organisation_id,
            version_id=version_id,
            counts_only=source == "imported_tallies",
            closed=bool(is_closed),
            min_cell=effective_min_cell(min_cell),
        )
        for round_id, organisation_id, version_id, source, is_closed, min_cell in rows
    ]


# (database url, version id) -> parsed definition. A published version never changes; versions
# with the same definition share one parsed object (300 organisations publishing the standard
# questionnaire are one parse, and one entry in the targets' per-item cache).
_definitions: dict[tuple[str, int], QuestionnaireDefinition] = {}
_by_text: dict[str, QuestionnaireDefinition] = {}
_CACHE_LIMIT = 20_000


def definitions(session: Session, version_ids: Iterable[int]) -> dict[int, QuestionnaireDefinition]:
    """The parsed definitions of published versions; the ones this process has not read yet are
    read in one query. NotFound for an id that is not a published version."""
    url = str(session.get_bind().engine.url)
    wanted = set(version_ids)
    found = {v: d for v in wanted if (d := _definitions.get((url, v))) is not None}
    missing = wanted - set(found)
    if missing:
        rows = session.execute(
            select(QuestionnaireVersion.id, QuestionnaireVersion.definition).where(
                QuestionnaireVersion.id.in_(sorted(missing)),
                QuestionnaireVersion.status == "published",
            )
        ).all()
        if len(rows) != len(missing):
            absent = min(missing - {row.id for row in rows})
            raise NotFound(f"no published questionnaire version with id {absent}")
        if len(_definitions) + len(rows) > _CACHE_LIMIT:
            _definitions.clear()
            _by_text.clear()
        for version_id, data in rows:
            text = json.dumps(data, sort_keys=True, separators=(",", ":"))
            definition = _by_text.get(text)
            if definition is None:
                definition = _by_text[text] = parse_definition(data)
            _definitions[(url, version_id)] = found[version_id] = definition
    return found


def bring_up_to_date(
    session: Session,
    rounds: Sequence[CandidateRound],
    definition_of: dict[int, QuestionnaireDefinition],
) -> int:
    """Release the waiting code answers of closed rounds and fold the rounds that have responses
    past their watermark, as reading each round's results would; returns how many rounds were
    folded. The rounds needing either are found with one query each."""
    if not rounds:
        return 0
    by_id = {r.id: r for r in rounds}
    waiting = pending.waiting_counts(session, list(by_id))
    for round_id, count in waiting.items():
        if count and by_id[round_id].closed:
            # A round that closed by its date: the code answers still waiting join it now.
            pending.release_all(session, round_id)
    watermark = (
        select(TallyWatermark.last_response_id)
        .where(TallyWatermark.survey_round_id == SurveyRound.id)
        .correlate(SurveyRound)
        .scalar_subquery()
    )
    unfolded = session.scalars(
        select(SurveyRound.id)
        .where(
            SurveyRound.id.in_(list(by_id)),
            exists()
            .where(
                Response.survey_round_id == SurveyRound.id,
                Response.id > func.coalesce(watermark, 0),
            )
            .correlate(SurveyRound),
        )
        .order_by(SurveyRound.id)
    ).all()
    folded = 0
    for round_id in unfolded:
        result = fold_round(session, round_id, definition_of[by_id[round_id].version_id])
        if result.folded:
            # As a results read does: end the transaction that holds the round's exclusive
            # lock at once, so submissions to it do not wait for the rest of the benchmark.
            session.commit()
            folded += 1
    return folded


# ---------------------------------------------------------------------------------------------
# Areas
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RoundAreas:
    """A round's areas as columns, by area id, classified for the round's year: id,
    households (-1 without), area type (0 without) and police class (its index in
    ``POLICE_CLASSIFICATIONS``, -1 without)."""

    id: IntArray
    households: IntArray
    area_type: IntArray
    police: IntArray


def areas_of_rounds(
    session: Session, round_ids: Collection[int], year: int
) -> dict[int, RoundAreas]:
    """Each round's areas by area id, with the classification of ``year`` (else the latest
    earlier one), as ``results.queries.areas_of_round`` reads them for one round: one query
    for every round (an area with several classifications comes once per year, and the
    latest is kept here). On PostgreSQL it aggregates into one row of arrays, so 15,000 areas
    do not become 15,000 rows in Python."""
    import numpy as np

    if not round_ids:
        return {}
    ids = sorted(round_ids)
    connection = session.connection()
    police = case(
        *((AreaClassification.police_classification == p, i) for i, p in enumerate(POLICE)),
        else_=-1,
    )
    columns: list[Any] = [
        SurveyRoundArea.survey_round_id,
        Area.id,
        func.coalesce(Area.households, -1),
        func.coalesce(AreaClassification.year, -1),
        func.coalesce(AreaClassification.area_type, 0),
        police,
    ]
    postgres = connection.dialect.name == "postgresql"
    statement = (
        select(*(func.array_agg(column) for column in columns) if postgres else columns)
        .select_from(SurveyRoundArea)
        .join(Area, Area.id == SurveyRoundArea.area_id)
        .outerjoin(
            AreaClassification,
            and_(AreaClassification.area_id == Area.id, AreaClassification.year <= year),
        )
        .where(SurveyRoundArea.survey_round_id.in_(ids))
    )
    if postgres:
        found = connection.execute(statement).one()
        values = [np.asarray(column or [], dtype=np.int64) for column in found]
    else:
        rows = connection.execute(statement).all()
        values = [np.asarray([row[i] for row in rows], dtype=np.int64) for i in range(6)]
    round_of, area, households, class_year, area_type, police_class = values
    # By round, then area, then year: the last row of each (round, area) is its latest
    # classification not after the round's year.
    order = np.lexsort((class_year, area, round_of))
    round_of, area, households, area_type, police_class = (
        column[order] for column in (round_of, area, households, area_type, police_class)
    )
    last = np.ones(len(area), dtype=bool)
    last[:-1] = (round_of[1:] != round_of[:-1]) | (area[1:] != area[:-1])
    round_of, area, households, area_type, police_class = (
        column[last] for column in (round_of, area, households, area_type, police_class)
    )
    starts: list[int] = (
        np.flatnonzero(np.r_[True, round_of[1:] != round_of[:-1]]).tolist() if len(area) else []
    )
    ends = [*starts[1:], len(area)]
    result = {round_id: RoundAreas(*(np.zeros(0, dtype=np.int64),) * 4) for round_id in ids}
    for start, end in zip(starts, ends, strict=True):
        result[int(round_of[start])] = RoundAreas(
            id=area[start:end],
            households=households[start:end],
            area_type=area_type[start:end],
            police=police_class[start:end],
        )
    return result
