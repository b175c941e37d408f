"""Timestamps in API payloads are always timezone-aware UTC.

SQLite has no time zone type, so `_at` columns come back naive there (they were written as UTC);
PostgreSQL returns them in the session's zone. Reading them through this type gives every client
the same `…Z` form whichever database is behind the API.
"""

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator


def as_utc(value: datetime) -> datetime:
    """Naive values are UTC by construction (models.utcnow); aware ones are converted."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


UtcDatetime = Annotated[datetime, AfterValidator(as_utc)]
