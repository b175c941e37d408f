"""results.updated: debounced per round, emitted by the dispatcher's tick."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session


def collect_results_updates(session: Session, now: datetime) -> int:
    """Emit the due ``results.updated`` events into the outbox (caller commits); return how
    many. Not built yet."""
    return 0
