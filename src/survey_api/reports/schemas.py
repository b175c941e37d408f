from datetime import datetime
from typing import cast

from pydantic import BaseModel, ConfigDict, Field, field_validator

from survey_api.ids import Id
from survey_api.input_types import RequestModel
from survey_api.languages import LanguageCode
from survey_api.reports.share import ReportLanguage

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
    """A signed link anyone holding it can open until it expires; no API key needed."""

    url: str
    expires_at: datetime
    survey_round_id: int
    area_id: int | None
    language: LanguageCode
