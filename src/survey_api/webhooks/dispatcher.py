"""The webhook dispatcher: a loop that emits due time-driven events and delivers the outbox.

Each pass (1) calls ``due.emit_due_events`` and commits, then (2) claims due deliveries,
(3) POSTs them (a few at a time, in threads; a slow receiver delays only its own), and
(4) records each outcome, until nothing is due. It runs as a daemon thread in each app
process (setting ``webhook_dispatcher``) or on its own as ``survey-api webhooks dispatch``.
Several dispatchers share the work safely (see delivery.py).
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from survey_api.db import transaction
from survey_api.models import utcnow
from survey_api.webhooks import delivery
from survey_api.webhooks.delivery import DeliveryOptions

logger = logging.getLogger(__name__)

__all__ = ["DispatchPass", "Dispatcher"]

PARALLEL_ATTEMPTS = 4
MAX_BATCHES_PER_PASS = 50


@dataclass
class DispatchPass:
    """What one pass did."""

    emitted: int = 0
    delivered: int = 0
    retrying: int = 0
    failed: int = 0

    @property
    def attempted(self) -> int:
        return self.delivered + self.retrying + self.failed


class Dispatcher:
    """A daemon thread dispatching every ``interval`` seconds; :meth:`run_once` is one pass."""

    def __init__(
        self, sessions: sessionmaker[Session], options: DeliveryOptions, interval: float = 2.0
    ) -> None:
        self.sessions = sessions
        self.options = options
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._context = delivery.ssl_context(options)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="survey-api-webhooks", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def run_forever(self) -> None:
        """Dispatch until stopped (the CLI's loop; Ctrl-C stops it)."""
        self._run(first_wait=0.0)

    def _run(self, first_wait: float | None = None) -> None:
        wait = self.interval if first_wait is None else first_wait
        while not self._stop.wait(wait):
            wait = self.interval
            try:
                self.run_once()
            except Exception:  # outlive a database outage: log, try next time
                logger.exception("webhook dispatch failed; retrying in %s s", self.interval)

    def run_once(self) -> DispatchPass:
        """Emit due events, then deliver everything due now (retries that come due during
        the pass wait for the next one)."""
        from survey_api.webhooks.due import emit_due_events

        done = DispatchPass()
        started = utcnow()
        with transaction(self.sessions) as session:
            done.emitted = emit_due_events(session, started)
        with ThreadPoolExecutor(PARALLEL_ATTEMPTS, thread_name_prefix="webhook") as pool:
            for _ in range(MAX_BATCHES_PER_PASS):
                if self._stop.is_set():
                    break
                with transaction(self.sessions) as session:
                    claimed = delivery.claim(session, utcnow(), self.options, due_by=started)
                if not claimed:
                    break
                outcomes = pool.map(
                    lambda c: (c, delivery.attempt(c, self.options, self._context)), claimed
                )
                for claimed_one, outcome in outcomes:
                    with transaction(self.sessions) as session:
                        status = delivery.record(
                            session, claimed_one.delivery_id, outcome, utcnow(), self.options
                        )
                    if status == "delivered":
                        done.delivered += 1
                    elif status == "failed":
                        done.failed += 1
                        logger.warning(
                            "webhook delivery %s failed: %s", claimed_one.message_id, outcome.error
                        )
                    elif status == "pending":
                        done.retrying += 1
        return done
