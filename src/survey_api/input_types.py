"""Strict input: a request body is accepted only as the API documents it.

FastAPI validates JSON bodies in pydantic's python mode, whose lax coercion takes `false` for
0, "12" for 12, 12.0 for 12 and 0 for 1970-01-01. Request bodies derive from RequestModel
instead, which also refuses what the databases cannot store or the code cannot walk:

- strict types (a bool is not an int, a string of digits is not an int, a float is not an int);
- dates only as ISO 8601 strings, YYYY-MM-DD (IsoDate; strict mode alone would refuse those);
- no NUL character in any string, dictionary keys included: PostgreSQL text and jsonb cannot
  hold one, so it would fail on insert instead of answering 422;
- no value nested deeper than MAX_DEPTH (free-form fields such as `answers` are walked and
  serialised recursively).
"""

import re
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

# No request body needs more: an answer is at most an object of lists of codes.
MAX_DEPTH = 16
NUL = "\x00"
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _iso_date(value: object) -> object:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise PydanticCustomError(
                "date_from_iso", "{value} is not a calendar date", {"value": value}
            ) from None
    raise PydanticCustomError(
        "date_type", "Input should be a date as an ISO 8601 string, YYYY-MM-DD"
    )


IsoDate = Annotated[date, BeforeValidator(_iso_date)]
"""A date given as "YYYY-MM-DD" (never a number, a timestamp or a datetime)."""


def problem_in(value: object, path: str = "", depth: int = 0) -> tuple[str, str] | None:
    """(error type, message) if ``value`` holds a NUL character or nests too deeply; else None."""
    if depth > MAX_DEPTH:
        return "too_deep", f"{path or 'the value'} is nested more than {MAX_DEPTH} levels deep"
    if isinstance(value, str):
        if NUL in value:
            return "nul_character", f"{path or 'the text'} contains a NUL character (\\u0000)"
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and NUL in key:
                where = path or "the object"
                return "nul_character", f"{where} has a key with a NUL character (\\u0000)"
            found = problem_in(item, f"{path}[{key!r}]", depth + 1)
            if found:
                return found
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found = problem_in(item, f"{path}[{index}]", depth + 1)
            if found:
                return found
    # Nested models check their own fields; numbers, bools and None hold no text.
    return None


class RequestModel(BaseModel):
    """Base of every request body: strict, no unknown keys, no NUL, bounded nesting."""

    model_config = ConfigDict(extra="forbid", strict=True)

    @field_validator("*", mode="after")
    @classmethod
    def storable(cls, value: Any, info: ValidationInfo) -> Any:
        """Refuse a NUL character or too deep a nesting anywhere in the field."""
        problem = problem_in(value, info.field_name or "")
        if problem is not None:
            raise PydanticCustomError(*problem)
        return value
