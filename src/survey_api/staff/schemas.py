"""Staff users (console accounts) as the API shows them: never a password or a token hash."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from survey_api.input_types import RequestModel
from survey_api.paging import Page
from survey_api.timestamps import UtcDatetime

StaffRole = Literal["admin", "analyst", "viewer"]
ROLE_DOC = (
    "admin: everything, settings, keys and staff users included; analyst: define, run and "
    "read surveys; viewer: read only."
)


class StaffUserCreate(RequestModel):
    """A new console account; the person chooses a password through a one-time link."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={
            "examples": [{"email": "samordnare@bostadsbolaget.se", "role": "analyst"}]
        },
    )

    email: str = Field(min_length=3, max_length=254, description="The person's work e-mail.")
    role: StaffRole = Field(description=ROLE_DOC)


class StaffUserUpdate(RequestModel):
    """Change a role or switch an account off or on; omitted fields stay as they are."""

    model_config = ConfigDict(
        extra="forbid", strict=True, json_schema_extra={"examples": [{"role": "viewer"}]}
    )

    role: StaffRole | None = Field(default=None, description=ROLE_DOC)
    active: bool | None = Field(
        default=None,
        description="false signs the person out everywhere and stops every sign-in until "
        "set back to true.",
    )


class StaffUserRead(BaseModel):
    """A console account."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    role: StaffRole
    active: bool
    has_password: bool = Field(description="false until the person has used a set-password link.")
    created_at: UtcDatetime
    password_changed_at: UtcDatetime | None


class PasswordLink(BaseModel):
    """A one-time link to choose a password: shown in this answer only, valid once."""

    url: str = Field(description="Send it to the person; it works once.")
    expires_at: UtcDatetime


class StaffUserCreated(StaffUserRead):
    """A new account and its set-password link (the only time the link is shown)."""

    password_link: PasswordLink


class StaffUserPage(Page[StaffUserRead]):
    """A page of the organisation's staff users, by e-mail."""
