"""The webhook dispatcher: a loop that emits due time-driven events and delivers the outbox.

Each tick (1) calls ``due.emit_due_events`` and commits, (2) records the outcome of every
attempt that has finished since the last tick, each in its own transaction, (3) claims due
deliveries for the workers that are free and starts their attempts, and (4) now and then
prunes old deliveries and events (``delivery.prune``). Attempts run in a bounded pool of
worker threads (``WORKERS``), at most ``PER_HOST`` at once to one destination host, and the
loop never waits for one: while a slow receiver holds a worker until its attempt's deadline,
the other workers go on with everyone else's deliveries. The loop wakes when an attempt
finishes, or every ``interval`` seconds.

It runs as a daemon thread in each app process (setting ``webhook_dispatcher``) or on its
own as ``survey-api webhooks dispatch``; :meth:`Dispatcher.run_once` is one synchronous pass
(``--once`` and tests). Several dispatchers share the work safely (see delivery.py).
:meth:`Dispatcher.stop` cuts the attempts under way short: they are retried when their lease
ends.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from survey_api.db import transaction
from survey_api.models import utcnow
from survey_api.webhooks import delivery
from survey_api.webhooks.delivery import Claimed, DeliveryOptions, Outcome

logger = logging.getLogger(__name__)

__all__ = ["DispatchPass", "Dispatcher"]

WORKERS = 16
PER_HOST = 4
MAX_CLAIMS_PER_TICK = 50
PRUNE_EVERY_SECONDS = 60.0


@dataclass
class DispatchPass:
    """What one pass did."""

    emitted: int = 0
    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    pruned: int = 0

    @property
    def attempted(self) -> int:
        return self.delivered + self.retrying + self.failed


class Dispatcher:
    """A daemon thread dispatching every ``interval`` seconds; :meth:`run_once` is one pass."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        options: DeliveryOptions,
        interval: float = 2.0,
        *,
        workers: int = WORKERS,
        per_host: int = PER_HOST,
    ) -> None:
        self.sessions = sessions
        self.options = options
        self.interval = interval
        self.workers = workers
        self.per_host = per_host
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._context = delivery.ssl_context(options)
        self._pool: ThreadPoolExecutor | None = None
        self._in_flight: dict[Future[Outcome], Claimed] = {}
        self._hosts: Counter[str] = Counter()
        self._lock = threading.RLock()
        self._under_way = delivery.UnderWay()
        self._last_emitted = float("-inf")
        self._last_pruned = float("-inf")

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="survey-api-webhooks", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the loop and cut the attempts under way short (they are retried when their
        lease ends); returns within about ``timeout`` seconds."""
        self._stop.set()
        self._wake.set()
        self._under_way.abort()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def run_forever(self) -> None:
        """Dispatch until stopped (the CLI's loop; Ctrl-C stops it)."""
        self._run(first_wait=0.0)

    def _run(self, first_wait: float | None = None) -> None:
        wait_for = self.interval if first_wait is None else first_wait
        self._stop.wait(wait_for)
        while not self._stop.is_set():
            self._wake.clear()
            try:
                self._tick(DispatchPass(), due_by=None)
            except Exception:  # outlive a database outage: log, try next time
                logger.exception("webhook dispatch failed; retrying in %s s", self.interval)
            self._wake.wait(self.interval)

    def run_once(self) -> DispatchPass:
        """Emit due events, then deliver everything due now and wait for those attempts
        (retries that come due during the pass wait for the next one)."""
        done = DispatchPass()
        started = utcnow()
        self._emit(done, force=True)
        self._prune(done, force=True)
        for _ in range(MAX_CLAIMS_PER_TICK):
            with self._lock:
                self._record_finished(done)
                claimed = self._claim_and_start(started)
                in_flight = list(self._in_flight)
            if not in_flight and not claimed:
                break
            if self._stop.is_set():
                break
            wait(in_flight, timeout=self.options.timeout + 1, return_when=FIRST_COMPLETED)
        with self._lock:
            self._record_finished(done)
        return done

    # ---- the steps of a tick --------------------------------------------------------------

    def _tick(self, done: DispatchPass, due_by: datetime | None) -> None:
        self._emit(done)
        with self._lock:
            self._record_finished(done)
            self._claim_and_start(due_by)
        self._prune(done)

    def _emit(self, done: DispatchPass, force: bool = False) -> None:
        from survey_api.webhooks.due import emit_due_events

        if not force and time.monotonic() - self._last_emitted < self.interval:
            return
        self._last_emitted = time.monotonic()
        with transaction(self.sessions) as session:
            done.emitted += emit_due_events(session, utcnow())

    def _prune(self, done: DispatchPass, force: bool = False) -> None:
        if not force and time.monotonic() - self._last_pruned < PRUNE_EVERY_SECONDS:
            return
        self._last_pruned = time.monotonic()
        with transaction(self.sessions) as session:
            done.pruned += delivery.prune(session, utcnow(), self.options)

    def _executor(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="webhook")
        return self._pool

    def _claim_and_start(self, due_by: datetime | None) -> int:
        """Claim what the free workers can take (at most ``per_host`` attempts at once per
        host) and start those attempts; how many were started."""
        hosts = Counter(self._hosts)

        def admit(claimed: Claimed) -> bool:
            if hosts[claimed.host] >= self.per_host:
                return False
            hosts[claimed.host] += 1
            return True

        excluded: set[int] = set()
        started = 0
        for _ in range(MAX_CLAIMS_PER_TICK):
            free = self.workers - len(self._in_flight)
            if free <= 0 or self._stop.is_set():
                break
            before = len(excluded)
            with transaction(self.sessions) as session:
                claimed = delivery.claim(
                    session,
                    utcnow(),
                    self.options,
                    due_by=due_by,
                    limit=min(free, self.options.batch),
                    admit=admit,
                    exclude_subscriptions=excluded,
                )
            for one in claimed:
                self._start(one)
            started += len(claimed)
            if not claimed and len(excluded) == before:
                break
        return started

    def _start(self, claimed: Claimed) -> None:
        self._hosts[claimed.host] += 1
        future = self._executor().submit(
            delivery.attempt, claimed, self.options, self._context, self._under_way
        )
        self._in_flight[future] = claimed
        future.add_done_callback(lambda _: self._wake.set())

    def _record_finished(self, done: DispatchPass) -> None:
        """Record each finished attempt in its own transaction: one that fails to record is
        logged and retried when its lease ends, and never holds back the others."""
        for future in [f for f in self._in_flight if f.done()]:
            claimed = self._in_flight.pop(future)
            self._hosts[claimed.host] -= 1
            if future.cancelled():
                continue
            outcome = future.result()
            try:
                with transaction(self.sessions) as session:
                    status = delivery.record(
                        session, claimed.delivery_id, outcome, utcnow(), self.options
                    )
            except Exception:
                logger.exception("recording webhook delivery %s failed", claimed.message_id)
                continue
            if status == "delivered":
                done.delivered += 1
            elif status == "failed":
                done.failed += 1
                logger.warning("webhook delivery %s failed: %s", claimed.message_id, outcome.error)
            elif status == "pending":
                done.retrying += 1
