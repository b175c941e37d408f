"""Bounds for ids sent by clients.

Primary keys are 32-bit INTEGER columns on PostgreSQL: a larger id in a query fails in the
driver ("integer out of range") instead of simply matching nothing, and SQLite cannot bind
integers beyond 64 bits. Bounding ids where they enter the API turns such input into a 422
naming the field, never a 500.
"""

from typing import Annotated

from pydantic import Field

MAX_ID = 2_147_483_647

Id = Annotated[int, Field(ge=1, le=MAX_ID)]
