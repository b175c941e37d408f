"""The background folder: folds rounds' new responses continuously, so reads rarely fold.

Every ``fold_interval_seconds`` each app process looks for rounds with responses past their
watermark (one indexed probe per round) and folds them, one round per transaction. Folders in
several processes or hosts elect themselves per round through the watermark row the fold
locks: a folder that finds a round being folded (by a reader or another folder) skips it
(``skip_if_busy``), so there is one folder per round at a time and none waits for another.
After folding a round the folder builds its whole-round results payload in its own process,
and it rebuilds every whole-round payload its process holds whose round another process has
folded further since, so a dashboard that polls a round reads a cached payload in whichever
process its request lands, instead of folding and building.

Reads still fold whatever the folder has not reached yet: a results payload is always as
fresh as its ``as_of`` says, and ``as_of`` stays monotonic (fold.py). The folder only takes
that work off the reads. It folds released responses only: answers held back for a round's
privacy batch (responses/pending.py) stay where they are.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from sqlalchemy import and_, exists, func, select
from sqlalchemy.orm import Session, sessionmaker

from survey_api.models import Response, SurveyRound, TallyWatermark
from survey_api.questionnaires import service as questionnaires_service
from survey_api.results.fold import fold_round

logger = logging.getLogger(__name__)

__all__ = ["Folder", "FolderPass", "rounds_to_fold"]


@dataclass(frozen=True, slots=True)
class FolderPass:
    """What one pass did: rounds found with new responses, rounds folded, responses folded."""

    found: int
    folded_rounds: int
    folded_responses: int


def rounds_to_fold(session: Session) -> list[tuple[int, int, int]]:
    """(round id, organisation id, questionnaire version id) of every round with responses
    past its watermark."""
    newer = (
        exists()
        .where(
            and_(
                Response.survey_round_id == SurveyRound.id,
                Response.id > func.coalesce(TallyWatermark.last_response_id, 0),
            )
        )
        .correlate(SurveyRound, TallyWatermark)
    )
    return [
        (round_id, organisation_id, version_id)
        for round_id, organisation_id, version_id in session.execute(
            select(
                SurveyRound.id, SurveyRound.organisation_id, SurveyRound.questionnaire_version_id
            )
            .outerjoin(TallyWatermark, TallyWatermark.survey_round_id == SurveyRound.id)
            .where(newer)
            .order_by(SurveyRound.id)
        )
    ]


class Folder:
    """A daemon thread folding every ``interval`` seconds; :meth:`run_once` is one pass."""

    def __init__(self, sessions: sessionmaker[Session], interval: float, *, warm: bool = True):
        self.sessions = sessions
        self.interval = interval
        self.warm = warm
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="survey-api-folder", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.run_once()
            except Exception:  # a folder must outlive a database outage: log, try next time
                logger.exception("background fold failed; retrying in %s s", self.interval)

    def run_once(self) -> FolderPass:
        with self.sessions() as session:
            rounds = rounds_to_fold(session)
        folded_rounds = folded_responses = 0
        warmed: set[int] = set()
        for round_id, organisation_id, version_id in rounds:
            if self._stop.is_set():
                break
            with self.sessions() as session:
                definition = questionnaires_service.published_definition(session, version_id)
                result = fold_round(session, round_id, definition, skip_if_busy=True)
                session.commit()
            if not result.folded:
                continue
            folded_rounds += 1
            folded_responses += result.folded
            if self.warm:
                self._warm(organisation_id, round_id)
                warmed.add(round_id)
        if self.warm and not self._stop.is_set():
            self._refresh(warmed)
        return FolderPass(
            found=len(rounds), folded_rounds=folded_rounds, folded_responses=folded_responses
        )

    def _refresh(self, warmed: set[int]) -> None:
        """Rebuild the whole-round payloads this process holds that are behind their round's
        watermark (another process folded the round)."""
        from survey_api.results.payload import cached_whole_rounds

        with self.sessions() as session:
            url = str(session.connection().engine.url)
            cached = cached_whole_rounds(url)
            behind = [r for r in cached if r not in warmed]
            if not behind:
                return
            rows = session.execute(
                select(
                    TallyWatermark.survey_round_id,
                    TallyWatermark.last_response_id,
                    SurveyRound.organisation_id,
                )
                .join(SurveyRound, SurveyRound.id == TallyWatermark.survey_round_id)
                .where(TallyWatermark.survey_round_id.in_(behind))
            ).all()
        for round_id, last_response_id, organisation_id in rows:
            if last_response_id > cached[round_id] and not self._stop.is_set():
                self._warm(organisation_id, round_id)

    def _warm(self, organisation_id: int, round_id: int) -> None:
        """Build the round's whole results payload into this process's cache."""
        from survey_api.results.payload import round_payload

        with self.sessions() as session:
            round_payload(session, organisation_id, round_id)
            session.commit()
