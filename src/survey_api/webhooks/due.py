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
* ``results.updated`` for an open collected round, by whole Swedish dates only (DESIGN.md,
  Privacy: a response's time is kept no finer than its date, so no event may tell more). On
  the first tick at least :data:`SETTLE` after midnight in Sweden, the round's responses
  dated before that midnight (``response.submitted_date``, the only time a response has) are
  counted; the event is written when at least the organisation's minimum cell size k of them
  came since the previous one, at most once per round per date boundary and no sooner than
  ``webhook_results_interval_days`` dates after the previous one. ``as_of`` is that midnight
  (00:00 Europe/Stockholm) and ``through_date`` the date before it: nothing in the payload,
  nor the moment the event is written, depends on when a response came, since the responses
  dated before a midnight are all in by the first tick after it (:data:`SETTLE` lets a
  submission still committing at midnight finish) and a later tick that day finds the same
  count. The round's total is carried along only when GET /rounds' rule would show it for
  those responses (``rounds.service.total_suppressed``); while it may not, no event. After
  the round closes there is no results.updated: ``round.closed`` carries the final total,
  whose difference from the last results.updated is the responses dated on or after that
  event's ``as_of`` date, a count of whole dates too. Historical rounds (imports) announce
  their changes with ``import.finished`` instead.

Each round's work runs in a savepoint: a round that fails is logged and tried again on the
next tick, and holds back neither the other rounds nor the deliveries after the tick.

Several dispatchers may tick at once: every round is handled under its row's lock (a tick
skips a row another tick holds; a person closing the round waits for it, see
``events.lock_round``), and the outbox is asked again under it, so each event is written
once. A quiet open round is a candidate for results.updated on every tick until k answers
come, so the candidates are checked together in a few statements (:func:`_worth_a_look`)
before any is locked and counted.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Concatenate, ParamSpec

from sqlalchemy import ColumnElement, Exists, exists, func, or_, select
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
from survey_api.responses import pending
from survey_api.results import suppression
from survey_api.rounds import service as rounds_service
from survey_api.timestamps import as_utc
from survey_api.webhooks import events

__all__ = ["SETTLE", "dated_counts", "emit_due_events", "midnight"]

#: How long after midnight in Sweden a date's results.updated waits: long enough for a
#: submission dated the day before, still committing at midnight, to be in the count, so the
#: count (and hence whether and when the event is written) is settled by the first tick that
#: looks at it.
SETTLE = timedelta(minutes=5)
_P = ParamSpec("_P")
logger = logging.getLogger(__name__)


def midnight(day: date) -> datetime:
    """00:00 in Sweden at the start of ``day``, in UTC."""
    return as_utc(datetime.combine(day, time(0), tzinfo=rounds_service.SWEDEN))


@dataclass(frozen=True)
class _Boundary:
    """The midnight a tick counts up to: responses dated before ``before`` count. A round's
    earlier results.updated stands in the way unless its own boundary was ``previous_by`` or
    earlier (the interval, in dates)."""

    before: date
    previous_by: date


def emit_due_events(
    session: Session, now: datetime, *, results_interval_days: int | None = None
) -> int:
    """Emit every due time-driven event into the outbox (the caller commits); return how many.

    ``results_interval_days`` defaults to the setting ``webhook_results_interval_days``.
    """
    now = as_utc(now)
    day = now.astimezone(rounds_service.SWEDEN).date()
    if results_interval_days is None:
        results_interval_days = get_settings().webhook_results_interval_days
    emitted = 0
    for round_id in _rounds_to_open(session, day):
        emitted += _guarded(session, "round.opened", round_id, _open, round_id, day)
    for round_id in _rounds_to_close(session, day):
        emitted += _guarded(session, "round.closed", round_id, _close, round_id, day)
    # The latest midnight at least SETTLE ago: the dates before it are whole and settled.
    counted_to = (now - SETTLE).astimezone(rounds_service.SWEDEN).date()
    boundary = _Boundary(counted_to, counted_to - timedelta(days=max(results_interval_days, 1)))
    candidates = _rounds_to_update(session, day, boundary)
    for round_id in _worth_a_look(session, candidates, boundary):
        emitted += _guarded(
            session, "results.updated", round_id, _results_updated, round_id, day, boundary
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


def _rounds_to_update(
    session: Session, day: date, boundary: _Boundary
) -> list[tuple[int, int, int]]:
    """(round id, organisation id, the count its latest results.updated carried, 0 if none)
    of the rounds open today whose latest results.updated, if any, counted up to
    ``boundary.previous_by`` or earlier: three statements whatever the number of rounds
    and events."""
    rounds = session.execute(
        select(SurveyRound.id, SurveyRound.organisation_id)
        .where(
            *_collected_not_closed(day),
            SurveyRound.open_date <= day,
            SurveyRound.open_date < boundary.before,  # else nothing is dated before the boundary
        )
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
    previous: dict[int, tuple[date, int]] = {}
    for start in range(0, len(latest), 1000):
        for round_id, payload in session.execute(
            select(WebhookEvent.survey_round_id, WebhookEvent.payload).where(
                WebhookEvent.id.in_(latest[start : start + 1000])
            )
        ):
            previous[round_id] = _counted_to(payload)
    due: list[tuple[int, int, int]] = []
    for round_id, organisation_id in rounds:
        counted_to, count = previous.get(round_id, (None, 0))
        if counted_to is None or counted_to <= boundary.previous_by:
            due.append((round_id, organisation_id, count))
    return due


def _counted_to(payload: dict[str, object]) -> tuple[date, int]:
    """(the Swedish date of its as_of, response_count) of a results.updated body."""
    data = payload["data"]
    assert isinstance(data, dict)
    as_of = datetime.fromisoformat(str(data["as_of"]).replace("Z", "+00:00"))
    return as_utc(as_of).astimezone(rounds_service.SWEDEN).date(), int(data["response_count"])


def _worth_a_look(
    session: Session, candidates: list[tuple[int, int, int]], boundary: _Boundary
) -> list[int]:
    """The candidates with at least k new responses dated before the boundary since their
    latest results.updated.

    A few queries for all of them together, whatever their number, since a quiet open round
    is a candidate on every tick until k answers come: first an upper bound of each round's
    total (responses in its tallies, plus those past its watermark, not yet folded), read
    from a few bytes per area; the rounds that pass it are counted exactly (their responses
    dated before the boundary) in one statement. Only the rounds that pass both are locked
    and counted again, one by one, under their lock.
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
    maybe = {
        round_id: min_cells[organisation_id] + previous
        for round_id, organisation_id, previous in candidates
        if folded.get(round_id, 0) + unfolded.get(round_id, 0) - previous
        >= min_cells[organisation_id]
    }
    if not maybe:
        return []
    dated: dict[int, int] = {
        round_id: int(count)
        for round_id, count in session.execute(
            select(Response.survey_round_id, func.count())
            .where(
                Response.survey_round_id.in_(list(maybe)),
                Response.submitted_date < boundary.before,
            )
            .group_by(Response.survey_round_id)
        )
    }
    return [round_id for round_id, needed in maybe.items() if dated.get(round_id, 0) >= needed]


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


def _previous_results_updated(session: Session, round_id: int) -> tuple[date, int] | None:
    """(the date it counted up to, response_count) of the round's latest results.updated."""
    payload = session.scalar(
        select(WebhookEvent.payload)
        .where(
            WebhookEvent.survey_round_id == round_id,
            WebhookEvent.event_type == events.RESULTS_UPDATED,
        )
        .order_by(WebhookEvent.id.desc())
        .limit(1)
    )
    return None if payload is None else _counted_to(payload)


def _results_updated(session: Session, round_id: int, day: date, boundary: _Boundary) -> int:
    survey_round = _locked(session, round_id)
    if survey_round is None or rounds_service.status_of(survey_round, day) != "open":
        return 0
    previous = _previous_results_updated(session, round_id)
    if previous is not None and previous[0] > boundary.previous_by:
        return 0  # another tick wrote one meanwhile
    total, area_counts = dated_counts(session, round_id, boundary.before)
    counted_before = 0 if previous is None else previous[1]
    k = organisations_service.min_cell_size(session, survey_round.organisation_id)
    if total - counted_before < k:
        return 0
    if rounds_service.total_suppressed(total, area_counts, k):
        return 0
    events.emit_results_updated(
        session,
        survey_round,
        as_of=midnight(boundary.before),
        through_date=boundary.before - timedelta(days=1),
        new_responses=total - counted_before,
        response_count=total,
    )
    return 1


def dated_counts(session: Session, round_id: int, before: date) -> tuple[int, dict[int, int]]:
    """The round's responses dated before ``before`` (a Swedish date): their total, and their
    count per area of the round (0 for an area without any), as GET /rounds counts them:
    every stored response of the round, code answers once their batch is released (as in the
    results)."""
    per_area = {
        area_id: int(count)
        for area_id, count in session.execute(
            select(Response.area_id, func.count())
            .where(Response.survey_round_id == round_id, Response.submitted_date < before)
            .group_by(Response.area_id)
        )
    }
    areas = rounds_service.area_ids_of(session, round_id)
    return sum(per_area.values()), {area_id: per_area.get(area_id, 0) for area_id in areas}
