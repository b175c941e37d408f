"""Code answers wait in `pending_response` and join `response` in shuffled batches.

The threat (DESIGN.md, Privacy; docs/privacy.md): someone with a copy of the database and the
letters' mailing list knows which household got which invitation, and the database says which
invitations were used, in which transaction (PostgreSQL's xmin) and on which date. If a code
answer were inserted into `response` by the transaction that redeemed the code, xmin, the id
order and the date would each pair the answer with its household.

So a code answer is written to `pending_response` in the redeeming transaction, and moved into
`response` later, by another transaction, together with others of the same round and area:

* a release happens when an area has at least 2k answers waiting (k: the organisation's
  minimum cell size); it moves a random choice of all but k of them, and keeps k back;
* the moved rows are inserted by one statement, in a shuffled order (their ids, their physical
  order and their command id say nothing about arrival), all with the release date;
* at the round's close every answer still waiting is moved in the same way.

Everything an observer of the database can tie to a release (its transaction, its date, the ids
it drew) is shared by the whole batch, and a batch member may have arrived at any time before
the release: because k answers stay behind at random, even the redemptions since the previous
release do not bound it. The anonymity set of a code answer is therefore every code answer of
its round and area that arrived before its release, at least 2k of them (or, when an area gets
fewer than 2k code answers all round, all of them, released at the close).
"""

import random
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from survey_api.models import PendingResponse, Response, SurveyRound, SurveyRoundArea
from survey_api.organisations import service as organisations_service
from survey_api.results import fold as results_fold
from survey_api.rounds import service as rounds_service

_random = random.SystemRandom()

ENTRY_CODE = "code"


def hold(
    session: Session,
    survey_round: SurveyRound,
    *,
    area_id: int,
    language: str,
    channel: str,
    answers: dict[str, Any],
) -> None:
    """Keep a validated code answer back, and release a batch of the area if one is due."""
    session.execute(
        insert(PendingResponse),
        {
            "survey_round_id": survey_round.id,
            "area_id": area_id,
            "language": language,
            "channel": channel,
            "answers": answers,
        },
    )
    k = min_cell_of_round(session, survey_round)
    if waiting_count(session, survey_round.id, area_id) >= 2 * k:
        release_due(session, survey_round.id, area_id, k)


def min_cell_of_round(session: Session, survey_round: SurveyRound) -> int:
    """k: the round's organisation's effective minimum cell size."""
    return organisations_service.min_cell_size(session, survey_round.organisation_id)


def waiting_count(session: Session, round_id: int, area_id: int | None = None) -> int:
    """How many code answers of a round (or one of its areas) are waiting."""
    query = (
        select(func.count())
        .select_from(PendingResponse)
        .where(PendingResponse.survey_round_id == round_id)
    )
    if area_id is not None:
        query = query.where(PendingResponse.area_id == area_id)
    return int(session.scalar(query) or 0)


def waiting_counts(session: Session, round_ids: Sequence[int]) -> dict[int, int]:
    """Waiting code answers per round, for many rounds in one query."""
    if not round_ids:
        return {}
    return {
        round_id: int(count)
        for round_id, count in session.execute(
            select(PendingResponse.survey_round_id, func.count())
            .where(PendingResponse.survey_round_id.in_(round_ids))
            .group_by(PendingResponse.survey_round_id)
        )
    }


def release_due(session: Session, round_id: int, area_id: int, k: int) -> int:
    """Move all but k (chosen at random) of an area's waiting answers, if 2k are waiting."""
    # Releases of one round and area take turns (PostgreSQL row lock; SQLite has one writer),
    # so two releases never split what should have been one batch.
    session.execute(
        select(SurveyRoundArea.area_id)
        .where(SurveyRoundArea.survey_round_id == round_id, SurveyRoundArea.area_id == area_id)
        .with_for_update()
    )
    ids = list(
        session.scalars(
            select(PendingResponse.id).where(
                PendingResponse.survey_round_id == round_id, PendingResponse.area_id == area_id
            )
        )
    )
    if len(ids) < 2 * k:
        return 0
    return _move(session, round_id, _random.sample(ids, len(ids) - k))


def release_all(session: Session, round_id: int) -> int:
    """Move every waiting answer of a round (it has closed); returns how many moved."""
    session.execute(
        select(SurveyRoundArea.area_id)
        .where(SurveyRoundArea.survey_round_id == round_id)
        .with_for_update()
    )
    ids = list(
        session.scalars(
            select(PendingResponse.id).where(PendingResponse.survey_round_id == round_id)
        )
    )
    return _move(session, round_id, ids) if ids else 0


def _move(session: Session, round_id: int, ids: list[int]) -> int:
    # Deleting with RETURNING takes exactly the rows this transaction removed, so a row can
    # never be moved twice, whatever else runs at the same time.
    rows = [
        {
            "survey_round_id": round_id,
            "area_id": row.area_id,
            "language": row.language,
            "channel": row.channel,
            "answers": row.answers,
        }
        for row in session.execute(
            delete(PendingResponse)
            .where(PendingResponse.id.in_(ids))
            .returning(
                PendingResponse.area_id,
                PendingResponse.language,
                PendingResponse.channel,
                PendingResponse.answers,
            )
        )
    ]
    if not rows:
        return 0
    _random.shuffle(rows)
    released = rounds_service.today()
    results_fold.hold_round_for_submission(session, round_id)  # before the ids are drawn
    # One multi-row INSERT: the ids follow the shuffled order, and every row shares one
    # transaction, one command and one date.
    session.execute(
        insert(Response).values(
            [{**row, "entry": ENTRY_CODE, "submitted_date": released} for row in rows]
        )
    )
    return len(rows)
