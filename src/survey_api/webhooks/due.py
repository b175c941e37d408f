"""Time-driven events, emitted by the dispatcher's tick: a round that opens or closes by its
dates, and results.updated (debounced per round).

Round dates are Swedish calendar dates (``rounds.service.status_of``): a round opens at
midnight in Sweden on its open date and closes at midnight after its close date, so the tick
turns ``now`` into a Swedish date and emits what that date makes due, once per round and type:

* ``round.opened`` for a collected round that is open on that date and has none yet. A round
  that was created open has one from ``create_round``; a round whose whole open period passed
  while no dispatcher ran gets none (it never was open as far as integrators could see).
* ``round.closed`` for a collected round that is closed (by its date, or closed early) and had
  a ``round.opened`` but no ``round.closed`` yet. A round closing by its date releases its
  code answers still waiting for a batch first (as a results read would), so the count it
  carries is final. Requiring ``round.opened`` keeps the first tick after an upgrade from
  announcing every round that closed in the past.
* ``results.updated`` for an open collected round, debounced: at most once per
  ``webhook_results_interval_seconds`` per round, and only when at least the organisation's
  minimum cell size k of responses joined the results since the previous one, so the count of
  new responses never tells of fewer than k answers. The tick folds the round first, so the
  results are as fresh as the event says: ``as_of`` is the fold's, i.e. the tick's time (or
  the last fold's, when another folder is at the round that moment), never a response's. The
  round's total is carried along only when GET /rounds may show it
  (``rounds.service.total_suppressed``); while it may not, the event waits. After the round
  closes there is no results.updated: the remainder since the last one is in the total that
  ``round.closed`` carries. Historical rounds (imports) announce their changes with
  ``import.finished`` instead.

Each round's work runs in a savepoint: a round that fails is logged and tried again on the
next tick, and holds back neither the other rounds nor the deliveries after the tick.

Several dispatchers may tick at once: every round is handled under its row's lock (a tick
skips a row another tick holds; a person closing the round waits for it, see
``events.lock_round``), and the outbox is asked again under it, so each event is written
once. A quiet open round is a candidate for results.updated on every tick until k answers
come, so the candidates are checked together in a few statements (:func:`_worth_a_look`)
before any is locked and folded.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Concatenate, ParamSpec

from sqlalchemy import ColumnElement, Exists, and_, exists, func, or_, select
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session

from survey_api.config import get_settings
from survey_api.models import (
    Organisation,
    Response,
    SurveyRound,
    TallyBlock,
    TallyWatermark,
    WebhookEvent,
)
from survey_api.organisations import service as organisations_service
from survey_api.questionnaires import service as questionnaires_service
from survey_api.responses import pending
from survey_api.results import fold as results_fold
from survey_api.results import suppression, tally_store
from survey_api.rounds import service as rounds_service
from survey_api.timestamps import as_utc
from survey_api.webhooks import events

__all__ = ["emit_due_events", "respondents_per_area"]

_RESPONDENTS = ("respondents", "", 0)
_P = ParamSpec("_P")
logger = logging.getLogger(__name__)


def emit_due_events(
    session: Session, now: datetime, *, results_interval_seconds: float | None = None
) -> int:
    """Emit every due time-driven event into the outbox (the caller commits); return how many.

    ``results_interval_seconds`` defaults to the setting ``webhook_results_interval_seconds``.
    """
    now = as_utc(now)
    day = now.astimezone(rounds_service.SWEDEN).date()
    if results_interval_seconds is None:
        results_interval_seconds = get_settings().webhook_results_interval_seconds
    emitted = 0
    for round_id in _rounds_to_open(session, day):
        emitted += _guarded(session, "round.opened", round_id, _open, round_id, day)
    for round_id in _rounds_to_close(session, day):
        emitted += _guarded(session, "round.closed", round_id, _close, round_id, day)
    interval = timedelta(seconds=results_interval_seconds)
    candidates = _rounds_to_update(session, day, now - interval)
    for round_id in _worth_a_look(session, candidates):
        emitted += _guarded(
            session, "results.updated", round_id, _results_updated, round_id, day, now - interval
        )
    return emitted


def _guarded(
    session: Session,
    what: str,
    round_id: int,
    work: Callable[Concatenate[Session, _P], int],
    *args: _P.args,
    **kwargs: _P.kwargs,
) -> int:
    """One round's work in a savepoint: a round that fails (say, a definition that no longer
    loads) is logged and tried again on the next tick, and holds back neither the other
    rounds' events nor the deliveries the dispatcher sends after the tick."""
    try:
        with session.begin_nested():
            return work(session, *args, **kwargs)
    except SQLAlchemyError as error:
        if not session.is_active or isinstance(error, OperationalError):
            raise  # the connection or the transaction is gone: the dispatcher's pass retries
        logger.exception("webhook %s of round %s failed; tried again next tick", what, round_id)
    except Exception:
        logger.exception("webhook %s of round %s failed; tried again next tick", what, round_id)
    return 0


def _open(session: Session, round_id: int, day: date) -> int:
    survey_round = _locked(session, round_id)
    if survey_round is None or rounds_service.status_of(survey_round, day) != "open":
        return 0
    return int(events.emit_round_opened(session, survey_round, on=day))


def _close(session: Session, round_id: int, day: date) -> int:
    survey_round = _locked(session, round_id)
    if survey_round is None or rounds_service.status_of(survey_round, day) != "closed":
        return 0
    if not events.already_emitted(session, round_id, events.ROUND_CLOSED):
        # The round closed by its date: its waiting code answers join it now, as a results
        # read would do (results/loading.py), so the count sent is final.
        pending.release_all(session, round_id)
    return int(events.emit_round_closed(session, survey_round, on=day))


def _event(event_type: str) -> Exists:
    """An outbox event of this type about the round exists (correlated)."""
    return exists().where(
        WebhookEvent.survey_round_id == SurveyRound.id, WebhookEvent.event_type == event_type
    )


def _collected_not_closed(day: date) -> list[ColumnElement[bool]]:
    return [
        SurveyRound.source == "collected",
        SurveyRound.closed_at.is_(None),
        SurveyRound.close_date >= day,
    ]


def _rounds_to_open(session: Session, day: date) -> list[int]:
    return list(
        session.scalars(
            select(SurveyRound.id)
            .where(
                *_collected_not_closed(day),
                SurveyRound.open_date <= day,
                ~_event(events.ROUND_OPENED),
            )
            .order_by(SurveyRound.id)
        )
    )


def _rounds_to_close(session: Session, day: date) -> list[int]:
    return list(
        session.scalars(
            select(SurveyRound.id)
            .where(
                SurveyRound.source == "collected",
                or_(SurveyRound.closed_at.is_not(None), SurveyRound.close_date < day),
                _event(events.ROUND_OPENED),
                ~_event(events.ROUND_CLOSED),
            )
            .order_by(SurveyRound.id)
        )
    )


def _rounds_to_update(session: Session, day: date, since: datetime) -> list[tuple[int, int, int]]:
    """(round id, organisation id, the count its latest results.updated carried, 0 if none)
    of the open collected rounds whose latest results.updated, if any, is older than
    ``since``: three statements whatever the number of rounds and events."""
    rounds = session.execute(
        select(SurveyRound.id, SurveyRound.organisation_id)
        .where(*_collected_not_closed(day), SurveyRound.open_date <= day)
        .order_by(SurveyRound.id)
    ).all()
    if not rounds:
        return []
    # Two plain statements rather than one with `id IN (subquery)`: the planner then cannot
    # turn the latest-per-round aggregate into a per-row subplan.
    latest = list(
        session.scalars(
            select(func.max(WebhookEvent.id))
            .where(
                WebhookEvent.survey_round_id.in_([round_id for round_id, _ in rounds]),
                WebhookEvent.event_type == events.RESULTS_UPDATED,
            )
            .group_by(WebhookEvent.survey_round_id)
        )
    )
    previous: dict[int, tuple[datetime, int]] = {}
    for start in range(0, len(latest), 1000):
        for round_id, created_at, payload in session.execute(
            select(
                WebhookEvent.survey_round_id, WebhookEvent.created_at, WebhookEvent.payload
            ).where(WebhookEvent.id.in_(latest[start : start + 1000]))
        ):
            previous[round_id] = (as_utc(created_at), int(payload["data"]["response_count"]))
    due: list[tuple[int, int, int]] = []
    for round_id, organisation_id in rounds:
        written_at, count = previous.get(round_id, (None, 0))
        if written_at is None or written_at <= since:
            due.append((round_id, organisation_id, count))
    return due


def _worth_a_look(session: Session, candidates: list[tuple[int, int, int]]) -> list[int]:
    """The candidates that may have k new responses since their latest results.updated.

    A few queries for all of them together, whatever their number, since a quiet open round
    is a candidate on every tick until k answers come: an upper bound of each round's total
    (responses in its tallies, plus those past its watermark, not yet folded) against the
    count its latest results.updated carried. Only the rounds that pass are locked, folded
    and counted exactly, one by one.
    """
    if not candidates:
        return []
    ids = [round_id for round_id, _, _ in candidates]
    folded = _folded_totals(session, ids)
    unfolded: dict[int, int] = {
        round_id: int(count)
        for round_id, count in session.execute(
            select(Response.survey_round_id, func.count())
            .select_from(Response)
            .outerjoin(TallyWatermark, TallyWatermark.survey_round_id == Response.survey_round_id)
            .where(
                Response.survey_round_id.in_(ids),
                Response.id > func.coalesce(TallyWatermark.last_response_id, 0),
            )
            .group_by(Response.survey_round_id)
        )
    }
    min_cells = {
        organisation_id: suppression.effective_min_cell(setting)
        for organisation_id, setting in session.execute(
            select(Organisation.id, Organisation.min_cell_size).where(
                Organisation.id.in_({organisation_id for _, organisation_id, _ in candidates})
            )
        )
    }
    return [
        round_id
        for round_id, organisation_id, previous in candidates
        if folded.get(round_id, 0) + unfolded.get(round_id, 0) - previous
        >= min_cells[organisation_id]
    ]


def _folded_totals(session: Session, round_ids: list[int]) -> dict[int, int]:
    """Each round's responses in its tallies, read from the first slot of its whole-area
    blocks: the respondents count, first in every collected round's slot order (a fold writes
    results/tally_layout's order, which starts with it, and an order only grows at its end).
    An upper bound is all the caller needs; the exact count reads the order itself."""
    totals: dict[int, int] = {}
    for round_id, head in session.execute(
        select(TallyBlock.survey_round_id, func.substr(TallyBlock.counts, 1, 8)).where(
            TallyBlock.survey_round_id.in_(round_ids), TallyBlock.breakdown_item == ""
        )
    ):
        value = bytes(head or b"")
        if len(value) == 8:
            totals[round_id] = totals.get(round_id, 0) + round(struct.unpack("<d", value)[0])
    return totals


def _locked(session: Session, round_id: int) -> SurveyRound | None:
    """The round under its row lock, or None when another tick holds it (it does the work)."""
    return session.scalar(
        select(SurveyRound)
        .where(SurveyRound.id == round_id)
        .with_for_update(key_share=True, skip_locked=True)
        .execution_options(populate_existing=True)
    )


def _previous_results_updated(session: Session, round_id: int) -> tuple[datetime, int] | None:
    """(written at, response_count) of the round's latest results.updated."""
    row = session.execute(
        select(WebhookEvent.created_at, WebhookEvent.payload)
        .where(
            WebhookEvent.survey_round_id == round_id,
            WebhookEvent.event_type == events.RESULTS_UPDATED,
        )
        .order_by(WebhookEvent.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    return as_utc(row.created_at), int(row.payload["data"]["response_count"])


def _results_updated(session: Session, round_id: int, day: date, since: datetime) -> int:
    survey_round = _locked(session, round_id)
    if survey_round is None or rounds_service.status_of(survey_round, day) != "open":
        return 0
    previous = _previous_results_updated(session, round_id)
    if previous is not None and previous[0] > since:
        return 0  # another tick wrote one meanwhile
    definition = questionnaires_service.published_definition(
        session, survey_round.questionnaire_version_id
    )
    # Fold here so the count is of the results as they are now; a round being folded by
    # someone else right now is read as last folded, and its as_of says so.
    folded = results_fold.fold_round(session, round_id, definition, skip_if_busy=True)
    area_counts = respondents_per_area(session, round_id)
    total = sum(area_counts.values())
    counted_before = 0 if previous is None else previous[1]
    k = organisations_service.min_cell_size(session, survey_round.organisation_id)
    if total - counted_before < k:
        return 0
    if rounds_service.total_suppressed(total, area_counts, k):
        return 0
    events.emit_results_updated(
        session,
        survey_round,
        as_of=folded.as_of,
        new_responses=total - counted_before,
        response_count=total,
    )
    return 1


def respondents_per_area(session: Session, round_id: int) -> dict[int, int]:
    """Responses in the round's tallies per area of the round (0 for an area without any),
    reading only the respondents slot of each whole-area block: O(areas)."""
    counts = dict.fromkeys(rounds_service.area_ids_of(session, round_id), 0)
    order = tally_store.stored_slots(session, round_id)
    if order is None or _RESPONDENTS not in order:
        return counts
    offset = order.index(_RESPONDENTS) * 8
    for area_id, head in session.execute(
        select(TallyBlock.area_id, func.substr(TallyBlock.counts, offset + 1, 8)).where(
            and_(
                TallyBlock.survey_round_id == round_id,
                TallyBlock.breakdown_item == "",
                TallyBlock.area_id.in_(list(counts)),
            )
        )
    ):
        value = bytes(head or b"")
        if len(value) == 8:
            counts[area_id] = round(struct.unpack("<d", value)[0])
    return counts
