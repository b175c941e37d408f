"""The events integrators can subscribe to, their payloads, and the functions that emit them.

Every event is aggregate-level (DESIGN.md, Privacy): it says that a round opened or closed,
that a round's results changed by at least the minimum cell size of new responses dated on
whole Swedish dates, or that an import finished. None carries a response's content, id or
time, and none is written at a moment a response chose: the envelope's ``timestamp`` is when
the event was written (a person's close or import, or a dispatcher tick); counts follow the same
suppression rules as the API (a round's total only when ``rounds.service.total_suppressed``
allows it). Each body is a Standard Webhooks envelope, ``{"type", "timestamp", "data"}``,
written by :func:`survey_api.webhooks.outbox.emit` in the transaction of the change itself,
so an event exists if and only if its change committed.

Who emits what:

* ``round.opened``: ``rounds.service.create_round`` when the round is open at once; otherwise
  the dispatcher's tick when the round's open date comes (``webhooks.due``).
* ``round.closed``: ``rounds.service.close_round`` (closed early by a person); otherwise the
  tick, once the close date has passed.
* ``results.updated``: the tick, after a Swedish date ends, counting whole dates only
  (``webhooks.due``).
* ``import.finished``: the import services, when an import is stored (never a dry run, a
  refused file or a repeat of a stored one).

Each round event is emitted at most once per round and type: :func:`already_emitted` asks the
outbox, under the round row's lock.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from survey_api.models import SurveyRound, WebhookEvent
from survey_api.rounds.schemas import RoundStatus
from survey_api.timestamps import UtcDatetime
from survey_api.webhooks import outbox

ROUND_OPENED = "round.opened"
ROUND_CLOSED = "round.closed"
RESULTS_UPDATED = "results.updated"
IMPORT_FINISHED = "import.finished"

_TIMESTAMP = "2026-04-01T06:00:03Z"

# ---------------------------------------------------------------------------------------------
# Payloads (the `data` of each event) and their envelopes
# ---------------------------------------------------------------------------------------------


class RoundEventData(BaseModel):
    """A survey round as the round events describe it (GET /rounds/{id} has the rest)."""

    model_config = ConfigDict(extra="forbid")

    round_id: int = Field(description="The survey round's id (GET /rounds/{round_id}).")
    name: str
    period: str = Field(description="The round's period, e.g. 2026, 2026-H1, 2026-Q2, 2026-04.")
    questionnaire_key: str = Field(
        description="The key of the round's questionnaire, e.g. trygghetsmatning-standard."
    )
    open_date: date = Field(description="First day the round takes answers (Swedish date).")
    close_date: date = Field(description="Last day the round takes answers (Swedish date).")
    status: RoundStatus = Field(description="The round's status when the event was written.")


class RoundClosedData(RoundEventData):
    """A closed round and its final response count (as GET /rounds/{id} shows it)."""

    closed_early: bool = Field(
        description="True when a person closed the round before its close date."
    )
    response_count: int | None = Field(
        description="Responses counted in the round's results, every code answer waiting for "
        "a batch included (they join at the close); null when suppressed (see "
        "`response_count_suppressed`)."
    )
    response_count_suppressed: bool = Field(
        description="True when `response_count` is hidden, by the rule of GET /rounds: the "
        "total is shown only when it is at least the organisation's minimum cell size and the "
        "areas whose own count is suppressed add up to at least that size (or there are none)."
    )


class ResultsUpdatedData(BaseModel):
    """New responses have joined an open round's results, counted by whole Swedish dates."""

    model_config = ConfigDict(extra="forbid")

    round_id: int = Field(description="The survey round's id (GET /rounds/{round_id}/results).")
    period: str
    as_of: UtcDatetime = Field(
        description="Midnight in Sweden (00:00 Europe/Stockholm, in UTC) ending `through_date`: "
        "`response_count` counts the round's responses dated before it. Always a midnight, "
        "never the time of an answer; the round's results read after the event hold these "
        "responses and any dated since."
    )
    through_date: date = Field(
        description="The last Swedish date whose responses are counted (the day before "
        "`as_of` in Sweden). Responses are dated, never timed (DESIGN.md, Privacy)."
    )
    new_responses: int = Field(
        description="Responses dated before `as_of` that the round's previous results.updated "
        "did not count (since the round opened for the first one); never fewer than the "
        "organisation's minimum cell size."
    )
    response_count: int = Field(
        description="The round's responses dated before `as_of`. An event is sent only when "
        "this total may be shown (the rule of GET /rounds' `response_count`)."
    )


class ImportFinishedData(BaseModel):
    """An import was stored (a dry run, a refused file or a repeat of a stored one is not)."""

    model_config = ConfigDict(extra="forbid")

    import_id: int = Field(description="The stored import (GET /rounds/{round_id}/imports/{id}).")
    kind: Literal["responses", "tallies", "classifications"] = Field(
        description="Past responses or answer counts into a historical round, or official area "
        "classifications of the organisation's areas."
    )
    round_id: int | None = Field(description="The historical round; null for classifications.")
    rows_read: int = Field(description="Data rows read from the file.")
    rows_imported: int = Field(
        description="Rows stored (responses, rows of counts, or classifications changed)."
    )
    rows_not_imported: int = Field(
        description="Rows read but not stored: for classifications, rows matching none of the "
        "organisation's areas or changing nothing. A file with any problem row is refused as a "
        "whole and sends no event."
    )


_ROUND_EXAMPLE: dict[str, Any] = {
    "round_id": 42,
    "name": "Trygghetsmätning våren 2026",
    "period": "2026-H1",
    "questionnaire_key": "trygghetsmatning-standard",
    "open_date": "2026-04-01",
    "close_date": "2026-04-30",
}


class RoundOpenedEvent(BaseModel):
    """``round.opened``: a round started taking answers (its open date came, or it was created
    open)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "type": ROUND_OPENED,
                    "timestamp": _TIMESTAMP,
                    "data": {**_ROUND_EXAMPLE, "status": "open"},
                }
            ]
        }
    )

    type: Literal["round.opened"]
    timestamp: UtcDatetime = Field(description="When the event was written (not an answer's).")
    data: RoundEventData


class RoundClosedEvent(BaseModel):
    """``round.closed``: a round stopped taking answers (its close date passed, or a person
    closed it early); its results are final."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "type": ROUND_CLOSED,
                    "timestamp": "2026-05-01T00:00:04Z",
                    "data": {
                        **_ROUND_EXAMPLE,
                        "status": "closed",
                        "closed_early": False,
                        "response_count": 1873,
                        "response_count_suppressed": False,
                    },
                }
            ]
        }
    )

    type: Literal["round.closed"]
    timestamp: UtcDatetime = Field(description="When the event was written (not an answer's).")
    data: RoundClosedData


class ResultsUpdatedEvent(BaseModel):
    """``results.updated``: responses dated on one or more whole Swedish dates joined an open
    round's results; read them again."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "type": RESULTS_UPDATED,
                    "timestamp": "2026-04-08T22:05:02Z",
                    "data": {
                        "round_id": 42,
                        "period": "2026-H1",
                        "as_of": "2026-04-08T22:00:00Z",
                        "through_date": "2026-04-08",
                        "new_responses": 57,
                        "response_count": 412,
                    },
                }
            ]
        }
    )

    type: Literal["results.updated"]
    timestamp: UtcDatetime = Field(description="When the event was written (not an answer's).")
    data: ResultsUpdatedData


class ImportFinishedEvent(BaseModel):
    """``import.finished``: an import of past responses, answer counts or classifications was
    stored."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "type": IMPORT_FINISHED,
                    "timestamp": "2026-03-12T13:44:10Z",
                    "data": {
                        "import_id": 7,
                        "kind": "responses",
                        "round_id": 12,
                        "rows_read": 964,
                        "rows_imported": 964,
                        "rows_not_imported": 0,
                    },
                }
            ]
        }
    )

    type: Literal["import.finished"]
    timestamp: UtcDatetime = Field(description="When the event was written (not an answer's).")
    data: ImportFinishedData


# ---------------------------------------------------------------------------------------------
# Emitting
# ---------------------------------------------------------------------------------------------


def lock_round(session: Session, round_id: int) -> None:
    """Hold the round row until the transaction ends, so that two writers of its events (a
    person closing it, the ticks of several dispatchers) take turns and each sees what the
    other wrote. FOR NO KEY UPDATE: it never waits for, nor holds back, a response being
    inserted (which takes the row's KEY SHARE lock). SQLite has one writer anyway."""
    session.execute(
        select(SurveyRound.id).where(SurveyRound.id == round_id).with_for_update(key_share=True)
    )


def already_emitted(session: Session, round_id: int, event_type: str) -> bool:
    """Whether the outbox holds an event of this type about the round."""
    return bool(
        session.scalar(
            select(
                exists().where(
                    WebhookEvent.survey_round_id == round_id,
                    WebhookEvent.event_type == event_type,
                )
            )
        )
    )


def round_data(
    session: Session, survey_round: SurveyRound, *, on: date | None = None
) -> dict[str, Any]:
    """The round's ``data`` for round.opened and round.closed (status on ``on``, default
    today), with the response count shown as GET /rounds shows it."""
    from survey_api.rounds import service as rounds_service

    read = rounds_service.read_rounds(session, [survey_round], on=on)[0]
    return {
        "round_id": read.id,
        "name": read.name,
        "period": read.period,
        "questionnaire_key": read.questionnaire.key,
        "open_date": read.open_date.isoformat(),
        "close_date": read.close_date.isoformat(),
        "status": read.status,
        "response_count": read.response_count,
        "response_count_suppressed": read.response_count_suppressed,
    }


def emit_round_opened(
    session: Session, survey_round: SurveyRound, *, on: date | None = None
) -> bool:
    """Write round.opened unless the round has one already; True when written."""
    lock_round(session, survey_round.id)
    if already_emitted(session, survey_round.id, ROUND_OPENED):
        return False
    data = round_data(session, survey_round, on=on)
    del data["response_count"], data["response_count_suppressed"]
    payload = RoundEventData.model_validate(data).model_dump(mode="json")
    outbox.emit(
        session, survey_round.organisation_id, ROUND_OPENED, payload, round_id=survey_round.id
    )
    return True


def emit_round_closed(
    session: Session, survey_round: SurveyRound, *, on: date | None = None
) -> bool:
    """Write round.closed unless the round has one already; True when written. The caller
    has released the round's waiting code answers, so the count is final."""
    lock_round(session, survey_round.id)
    if already_emitted(session, survey_round.id, ROUND_CLOSED):
        return False
    data = round_data(session, survey_round, on=on)
    data["closed_early"] = (
        survey_round.closed_at is not None
        and _swedish_date(survey_round.closed_at) <= survey_round.close_date
    )
    payload = RoundClosedData.model_validate(data).model_dump(mode="json")
    outbox.emit(
        session, survey_round.organisation_id, ROUND_CLOSED, payload, round_id=survey_round.id
    )
    return True


def emit_results_updated(
    session: Session,
    survey_round: SurveyRound,
    *,
    as_of: datetime,
    through_date: date,
    new_responses: int,
    response_count: int,
) -> None:
    """Write results.updated (``webhooks.due`` decides when, and checks the counts): ``as_of``
    is a midnight in Sweden and ``through_date`` the date it ends, never a response's time."""
    payload = ResultsUpdatedData(
        round_id=survey_round.id,
        period=survey_round.period,
        as_of=as_of,
        through_date=through_date,
        new_responses=new_responses,
        response_count=response_count,
    ).model_dump(mode="json")
    outbox.emit(
        session,
        survey_round.organisation_id,
        RESULTS_UPDATED,
        payload,
        round_id=survey_round.id,
    )


def emit_import_finished(
    session: Session,
    organisation_id: int,
    *,
    import_id: int,
    kind: Literal["responses", "tallies", "classifications"],
    round_id: int | None,
    rows_read: int,
    rows_imported: int,
) -> None:
    """Write import.finished for an import just stored (in its transaction)."""
    payload = ImportFinishedData(
        import_id=import_id,
        kind=kind,
        round_id=round_id,
        rows_read=rows_read,
        rows_imported=rows_imported,
        rows_not_imported=max(rows_read - rows_imported, 0),
    ).model_dump(mode="json")
    outbox.emit(session, organisation_id, IMPORT_FINISHED, payload, round_id=round_id)


def _swedish_date(moment: datetime) -> date:
    from survey_api.rounds import service as rounds_service
    from survey_api.timestamps import as_utc

    return as_utc(moment).astimezone(rounds_service.SWEDEN).date()


__all__ = [
    "IMPORT_FINISHED",
    "RESULTS_UPDATED",
    "ROUND_CLOSED",
    "ROUND_OPENED",
    "ImportFinishedData",
    "ImportFinishedEvent",
    "ResultsUpdatedData",
    "ResultsUpdatedEvent",
    "RoundClosedData",
    "RoundClosedEvent",
    "RoundEventData",
    "RoundOpenedEvent",
    "already_emitted",
    "emit_import_finished",
    "emit_results_updated",
    "emit_round_closed",
    "emit_round_opened",
    "lock_round",
    "round_data",
]
