"""The transactional outbox: an event is written in the same transaction as the change it
reports, so it is delivered if and only if that change committed."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

EVENT_TYPES = ("round.opened", "round.closed", "results.updated", "import.finished")


def emit(
    session: Session,
    organisation_id: int,
    event_type: str,
    data: dict[str, Any],
    *,
    round_id: int | None = None,
) -> None:
    """Record an event of the organisation in the caller's transaction (no commit here).

    ``data`` is the event's aggregate-level payload (never a single response's content or
    time); ``round_id`` orders a subscription's deliveries per round. Not built yet: a no-op
    until the outbox table exists.
    """
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}")
