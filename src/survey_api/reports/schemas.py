from datetime import datetime
from typing import Literal, cast

from pydantic import BaseModel, ConfigDict, Field, field_validator

from survey_api.ids import Id
from survey_api.input_types import RequestModel
from survey_api.languages import LanguageCode
from survey_api.paging import Page
from survey_api.reports.share import ReportLanguage
from survey_api.timestamps import UtcDatetime

REPORT_LANGUAGES: tuple[ReportLanguage, ...] = ("sv", "en")


class ShareLinkCreate(RequestModel):
    """A share link to a round's printable results page."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"area_id": 1, "language": "sv", "expires_in_days": 30}]},
    )

    area_id: Id | None = Field(
        default=None, description="One area's page; omit for the whole organisation."
    )
    language: LanguageCode = Field(
        default="sv", description="The page's language: the results page exists in sv and en."
    )
    expires_in_days: int = Field(default=30, ge=1, le=365)

    @field_validator("language")
    @classmethod
    def report_language(cls, value: str) -> str:
        if value not in REPORT_LANGUAGES:
            raise ValueError(f"the results page is available in {' and '.join(REPORT_LANGUAGES)}")
        return value

    @property
    def page_language(self) -> ReportLanguage:
        """The validated language, as the share link carries it."""
        return cast(ReportLanguage, self.language)


class ShareLink(BaseModel):
    """A signed link anyone holding it can open until it expires or is revoked; no API key
    needed. The URL is in this answer only: the list shows the link without it."""

    id: int = Field(description="The link's id, to revoke it.")
    url: str
    expires_at: datetime
    survey_round_id: int
    area_id: int | None
    language: LanguageCode


ShareLinkStatus = Literal["active", "expired", "revoked"]


class ShareLinkRead(BaseModel):
    """A stored share link, without its URL (shown once, when it was created)."""

    id: int
    survey_round_id: int
    area_id: int | None = Field(description="The area's page, or null for the organisation's.")
    language: LanguageCode
    created_at: UtcDatetime
    expires_at: UtcDatetime
    revoked_at: UtcDatetime | None
    status: ShareLinkStatus = Field(
        description="`revoked` when revoked (whatever its expiry), else `expired` after "
        "`expires_at`, else `active`."
    )
    created_by_staff_user_id: int | None = Field(
        description="The console user who made it, when made in the console."
    )
    created_by_api_key_id: int | None = Field(
        description="The API key that made it, when made through the API."
    )


class ShareLinkPage(Page[ShareLinkRead]):
    """A page of a round's share links, newest first."""
