"""API keys as the API shows them: never a stored secret, the secret itself only once."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from survey_api.auth.service import MAX_KEY_NAME_LENGTH
from survey_api.input_types import RequestModel
from survey_api.paging import Page
from survey_api.timestamps import UtcDatetime

ApiKeyRole = Literal["admin", "analyst", "integrator"]


class ApiKeyCreate(RequestModel):
    """A new key for an integrator, a script or a colleague."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={
            "examples": [{"name": "Fastighetssystemet, export varje natt", "role": "integrator"}]
        },
    )

    name: str = Field(
        min_length=1,
        max_length=MAX_KEY_NAME_LENGTH,
        pattern=r"\S",
        description="What the key is for, e.g. 'Fastighetssystemet, export varje natt'.",
    )
    role: ApiKeyRole = Field(
        description="admin: everything; analyst: define and read; integrator: read and upload "
        "paper and phone answers."
    )


class ApiKeyRead(BaseModel):
    """A key as listed: its first characters, never its secret."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    role: ApiKeyRole
    prefix: str = Field(description="The secret's first characters, to recognise a key by.")
    created_at: UtcDatetime
    revoked_at: UtcDatetime | None = Field(
        description="When it stopped working; null while it works."
    )


class ApiKeyCreated(ApiKeyRead):
    """A new key, with its secret: shown in this answer only, never again."""

    secret: str = Field(description="Send it as `Authorization: Bearer <secret>`. Store it now.")


class ApiKeyPage(Page[ApiKeyRead]):
    """A page of the organisation's API keys, oldest first, revoked ones included."""
