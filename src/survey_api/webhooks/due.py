"""Time-driven events, emitted by the dispatcher's tick: a round that opens or closes by its
dates, and results.updated (debounced per round)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session


def emit_due_events(session: Session, now: datetime) -> int:
    """Emit every due time-driven event into the outbox (the caller commits); return how many.
    Not built yet."""
    return 0
