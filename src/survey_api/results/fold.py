"""Folding responses into per-cell tallies (DESIGN.md, "Scale").

Submissions stay append-only and never touch the tallies: updating shared tally rows from every
concurrent submission would serialise all writers on PostgreSQL row locks. Instead, whoever
reads results first folds the responses past the round's watermark into the ``tally`` table in
batches and advances the watermark, so reading a round costs O(cells), not O(responses). The
tallies are stored one block per area × breakdown group (results/tally_store.py): a fold adds
to the blocks its responses fall in, so its cost follows what the new responses touch.

What a round's tallies hold, per area × breakdown (``''`` for the whole area, or one background
item with the respondent's answer code, -1 when not answered):

=============  ===========  =====  ===============================================================
measure        measure_key  code   count / total / total_sq
=============  ===========  =====  ===============================================================
respondents    ``''``       0      responses
option         item         code   answers with this code (one per ticked code for multi_choice)
base           item         0      valid n, Σ score (or number), Σ score²
base           item         1      non-substantive answers ("Vet inte"), no sums
favourable     item         0      respondents ticking a favourable code (multi_choice only; for
                                   single-answer items it is the sum of the options' counts)
indicator      indicator    0      respondents whose answer contains one of the indicator's codes
index          index        0      respondents with a composite value v in 0..1: n, Σv, Σv²
=============  ===========  =====  ===============================================================

Text items never enter tallies. The fold is exact and incremental: folding A then B gives the
same tallies as folding A+B at once, because every entry is a sum over respondents.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from survey_api.models import Response, TallyWatermark, utcnow
from survey_api.questionnaires.definition import QuestionnaireDefinition
from survey_api.results import tally_store
from survey_api.results.tally_layout import (
    BASE_NON_SUBSTANTIVE,
    BASE_VALID,
    Accumulator,
    TallyLayout,
    layout_for,
    tally_answers,
)

if TYPE_CHECKING:
    from survey_api.results.tally_layout import IntArray

__all__ = [
    "BASE_NON_SUBSTANTIVE",
    "BASE_VALID",
    "DEFAULT_BATCH_SIZE",
    "LOCK_NAMESPACE",
    "FoldResult",
    "TallyLayout",
    "fold_round",
    "hold_round_for_submission",
    "layout_for",
    "tally_answers",
]

#: Responses read per query while folding (keyset pagination on (survey_round_id, id)).
DEFAULT_BATCH_SIZE = 5000

# Advisory locks are keyed (namespace, round id) so they never collide with other users of
# PostgreSQL advisory locks on the same database. 0x7461_6C79 is "taly". Public: the submission
# fast path (responses/fast.py) takes the shared lock inside its one statement.
LOCK_NAMESPACE = 0x7461_6C79
# Set in a session's info once its transaction holds a lock a folder may wait for (a round's
# shared advisory lock, or a watermark row): such a transaction must not wait for a folder.
_HOLDS_ROUND_LOCK = "survey_api.holds_round_lock"


# ---------------------------------------------------------------------------------------------
# Concurrency
# ---------------------------------------------------------------------------------------------


def hold_round_for_submission(session: Session, round_id: int) -> None:
    """Called by submitters *before* inserting responses into a round (PostgreSQL only).

    Response ids come from a sequence and transactions can commit out of order: id 101 may
    commit after id 102. A folder that saw 102 and advanced the watermark past it would skip
    101 for ever. So every submitting transaction holds a *shared* advisory lock on its round
    from before it draws an id until it commits. The folder, after folding what it could see,
    takes the *exclusive* lock (:func:`fold_round`): that waits for in-flight submissions to
    commit and holds new ones back until the fold commits. While it is held, every id drawn so
    far is committed or rolled back and every later id is larger, so the folder can find the
    late commits in the range it read (by counting) and fold everything up to the largest
    id. Submitters only share the lock, so they never wait for each other, and they wait for
    a folder only during that short final step. SQLite has one writer at a time (every
    transaction is BEGIN IMMEDIATE), so nothing is needed there.
    """
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        # On the hot path of every submission: a prebuilt statement on the session's own
        # connection (same transaction) skips the ORM's per-statement work.
        connection.execute(_HOLD_SHARED, {"namespace": LOCK_NAMESPACE, "round_id": round_id})
        _mark_round_lock(session)


def _mark_round_lock(session: Session) -> None:
    session.info[_HOLDS_ROUND_LOCK] = session.get_transaction()


def _holds_round_lock(session: Session) -> bool:
    held = session.info.get(_HOLDS_ROUND_LOCK)
    return held is not None and held is session.get_transaction()


_HOLD_SHARED = text("SELECT pg_advisory_xact_lock_shared(:namespace, :round_id)")


def _lock_round_for_fold(session: Session, round_id: int) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(:namespace, :round_id)"),
            {"namespace": LOCK_NAMESPACE, "round_id": round_id},
        )


# ---------------------------------------------------------------------------------------------
# The fold
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FoldResult:
    """What a fold did. ``as_of``: every response committed before it is in the tallies."""

    as_of: datetime
    folded: int
    last_response_id: int


def _store(session: Session, round_id: int, accumulator: Accumulator) -> None:
    groups, count, total, total_sq = accumulator.blocks()
    tally_store.add_blocks(
        session, round_id, accumulator.layout.slots, groups, count, total, total_sq
    )


def _watermark(session: Session, round_id: int) -> int | None:
    return session.scalar(
        select(TallyWatermark.last_response_id).where(TallyWatermark.survey_round_id == round_id)
    )


def _aware(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes for timezone-aware columns; they are stored in UTC.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _fold_after(
    session: Session,
    round_id: int,
    accumulator: Accumulator,
    after: int,
    batch_size: int,
    seen: list[IntArray] | None = None,
) -> tuple[int, int]:
    """Accumulate the visible responses with id > ``after`` in id order, batch by batch.

    Returns (largest id folded, or ``after``; number folded); ``seen`` collects their ids.
    """
    import numpy as np  # on first use, like the accumulator's

    last, folded = after, 0
    while True:
        batch = session.execute(
            select(Response.id, Response.area_id, Response.answers)
            .where(Response.survey_round_id == round_id, Response.id > last)
            .order_by(Response.id)
            .limit(batch_size)
        ).all()
        if not batch:
            break
        accumulator.add((row.area_id, row.answers) for row in batch)
        if seen is not None:
            seen.append(np.fromiter((row.id for row in batch), dtype=np.int64, count=len(batch)))
        folded += len(batch)
        last = batch[-1].id
        if len(batch) < batch_size:
            break
    return last, folded


def _fold_gaps(
    session: Session,
    round_id: int,
    accumulator: Accumulator,
    after: int,
    upto: int,
    seen: list[IntArray],
    folded: int,
) -> int:
    """Fold responses in (after, upto] that were not yet committed when first read; returns
    how many there were. Must run under the exclusive lock, when every id drawn is final."""
    import numpy as np

    committed = session.scalar(
        select(func.count())
        .select_from(Response)
        .where(Response.survey_round_id == round_id, Response.id > after, Response.id <= upto)
    )
    if committed == folded:
        return 0
    ids = np.fromiter(
        session.scalars(
            select(Response.id).where(
                Response.survey_round_id == round_id, Response.id > after, Response.id <= upto
            )
        ),
        dtype=np.int64,
    )
    missing = np.setdiff1d(ids, np.concatenate(seen) if seen else np.zeros(0, dtype=np.int64))
    for start in range(0, len(missing), 1000):
        chunk = missing[start : start + 1000].tolist()
        rows = session.execute(
            select(Response.area_id, Response.answers).where(Response.id.in_(chunk))
        ).all()
        accumulator.add((row.area_id, row.answers) for row in rows)
    return len(missing)


def fold_round(
    session: Session,
    round_id: int,
    definition: QuestionnaireDefinition,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    wait: bool = False,
    skip_if_busy: bool = False,
) -> FoldResult:
    """Fold a round's responses past its watermark into its tallies; flushes, never commits.

    Cheap when there is nothing new: one index probe, no lock, ``as_of`` = now. Otherwise:

    1. The watermark row is locked FOR UPDATE. That serialises *folders* (two of them would
       count the same responses twice) but not submitters. If another request is folding
       this round right now, we wait for it and then fold what it left, so ``as_of`` never
       goes backwards; only a transaction that holds a round lock already does not wait
       (unless ``wait``), and uses the tallies as last committed, ``as_of`` saying how old.
    2. The bulk of the work runs without blocking anyone: the committed responses past the
       watermark are read in id order in batches of ``batch_size``, accumulated and upserted.
    3. Then the round's exclusive advisory lock (see :func:`hold_round_for_submission`) waits
       for in-flight submissions to commit and holds new ones back. Now every id drawn so
       far is final, so the responses in the range just folded that committed late (a lower
       id committing after a higher one) are found by counting and folded, then the ones
       committed meanwhile past it. Submissions wait only for this short step, until the
       caller commits, which a results request does right after reading.

    With ``skip_if_busy`` it never waits for another folder: it returns at once, folding
    nothing (``folded`` 0, ``as_of`` the last fold's).
    """
    checked_at = utcnow()
    # Waiting for a folder that holds the watermark is what keeps `as_of` monotonic: a read
    # that skipped the fold would report the previous fold's time, older than what an earlier
    # read with nothing new reported. A transaction that already holds a round lock (it
    # released pending answers, or folded another round) must not wait: the folder might be
    # waiting for it. It falls back to the tallies as last committed.
    # The background folder (results/folder.py) passes skip_if_busy: whoever folds the round
    # already (a reader, or a folder in another process) does its work.
    wait = not skip_if_busy and (wait or not _holds_round_lock(session))
    watermark = _watermark(session, round_id) or 0
    pending = session.scalar(
        select(Response.id)
        .where(Response.survey_round_id == round_id, Response.id > watermark)
        .order_by(Response.id)
        .limit(1)
    )
    if pending is None:
        # Nothing committed past the watermark when this statement ran, so every response
        # committed before checked_at is already folded.
        return FoldResult(as_of=checked_at, folded=0, last_response_id=watermark)

    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(
        insert(TallyWatermark)
        .values(survey_round_id=round_id, last_response_id=0, folded_at=checked_at)
        .on_conflict_do_nothing(index_elements=[TallyWatermark.survey_round_id])
    )
    # A new statement, so under READ COMMITTED it sees a previous folder's commit.
    locked = session.execute(
        select(TallyWatermark.last_response_id)
        .where(TallyWatermark.survey_round_id == round_id)
        .with_for_update(skip_locked=not wait)
    ).first()
    if locked is None:
        current = session.execute(
            select(TallyWatermark.last_response_id, TallyWatermark.folded_at).where(
                TallyWatermark.survey_round_id == round_id
            )
        ).one()
        return FoldResult(
            as_of=_aware(current.folded_at), folded=0, last_response_id=current.last_response_id
        )
    start = locked.last_response_id
    _mark_round_lock(session)

    layout = layout_for(definition)
    accumulator = Accumulator(layout)
    seen: list[IntArray] = []
    last, folded = _fold_after(session, round_id, accumulator, start, batch_size, seen)
    _store(session, round_id, accumulator)

    _lock_round_for_fold(session, round_id)
    as_of = utcnow()
    accumulator = Accumulator(layout)
    if dialect == "postgresql":
        folded += _fold_gaps(session, round_id, accumulator, start, last, seen, folded)
    last, tail = _fold_after(session, round_id, accumulator, last, batch_size)
    folded += tail
    _store(session, round_id, accumulator)
    session.execute(
        update(TallyWatermark)
        .where(TallyWatermark.survey_round_id == round_id)
        .values(last_response_id=last, folded_at=as_of)
    )
    session.flush()
    return FoldResult(as_of=as_of, folded=folded, last_response_id=last)
