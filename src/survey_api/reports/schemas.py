from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from survey_api.ids import Id
from survey_api.input_types import RequestModel


class ShareLinkCreate(RequestModel):
    """A share link to a round's printable results page."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"area_id": 1, "language": "sv", "expires_in_days": 30}]},
    )

    area_id: Id | None = Field(
        default=None, description="One area's page; omit for the whole organisation."
    )
    language: Literal["sv", "en"] = "sv"
    expires_in_days: int = Field(default=30, ge=1, le=365)


class ShareLink(BaseModel):
    """A signed link anyone holding it can open until it expires; no API key needed."""

    url: str
    expires_at: datetime
    survey_round_id: int
    area_id: int | None
    language: Literal["sv", "en"]
