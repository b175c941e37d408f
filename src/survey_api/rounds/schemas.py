from datetime import date
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from survey_api.ids import Id
from survey_api.input_types import IsoDate, RequestModel
from survey_api.paging import Page
from survey_api.timestamps import UtcDatetime

PERIOD_PATTERN = r"^[0-9]{4}(-(H[12]|Q[1-4]|0[1-9]|1[0-2]))?$"
# A questionnaire's key (questionnaires/checker.py), e.g. trygghetsmatning-standard.
QUESTIONNAIRE_KEY_PATTERN = r"^[a-z][a-z0-9_-]{0,62}$"
RoundStatus = Literal["scheduled", "open", "closed", "historical"]
RoundSource = Literal["collected", "imported", "imported_tallies"]
SOURCE_DESCRIPTION = (
    "Where the round's answers come from: `collected` through this service, or a historical "
    "round whose past answers were `imported` response by response, or of which only the "
    "answer counts per area, item and option were imported (`imported_tallies`: figures that "
    "need respondent-level data, such as composite indices and breakdowns, are unavailable)."
)


class SurveyRoundCreate(RequestModel):
    """A survey round to create: one published questionnaire version, a period, areas, dates."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "Trygghetsmätning 2026",
                    "questionnaire_version_id": 1,
                    "period": "2026",
                    "area_ids": [1, 2, 3],
                    "open_date": "2026-03-01",
                    "close_date": "2026-04-15",
                }
            ]
        },
    )

    name: str = Field(min_length=1, max_length=200)
    questionnaire_version_id: Id = Field(description="A published questionnaire version's id.")
    period: str = Field(
        pattern=PERIOD_PATTERN,
        description="YYYY, YYYY-H1/H2, YYYY-Q1..Q4 or YYYY-MM; sorts in time order per format.",
    )
    area_ids: list[Id] = Field(min_length=1, max_length=2000)
    open_date: IsoDate
    close_date: IsoDate
    area_links_enabled: bool = Field(
        default=True,
        description="Whether the round's area links (posters) accept answers. An area link can "
        "be answered more than once by nature; invitation codes cannot.",
    )
    historical: bool = Field(
        default=False,
        description="A past survey brought in from elsewhere (admins only): its dates lie in "
        "the past, it is never open to tenants and takes no invitations; its answers arrive "
        "through `POST /rounds/{id}/imports` (response by response) or "
        "`POST /rounds/{id}/tallies/import` (answer counts only).",
    )

    @model_validator(mode="after")
    def dates_ordered(self) -> Self:
        if self.close_date < self.open_date:
            raise ValueError("close_date is before open_date")
        if self.historical and self.area_links_enabled:
            # A historical round has no area links; the default is for collected rounds.
            self.area_links_enabled = False
        if len(set(self.area_ids)) != len(self.area_ids):
            raise ValueError("area_ids lists an area more than once")
        return self


class SurveyRoundUpdate(RequestModel):
    """Settings of a round that may change while it runs."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"area_links_enabled": False}]}
    )

    area_links_enabled: bool = Field(
        description="False turns the round's area links off at once; codes keep working."
    )


class RoundQuestionnaire(BaseModel):
    """The questionnaire (survey) a round belongs to: which survey its figures come from."""

    model_config = ConfigDict(frozen=True)

    id: int
    key: str = Field(description="The questionnaire's key, e.g. trygghetsmatning-standard.")
    name: dict[str, str] = Field(
        description="The questionnaire's name in every language, as its definition states it "
        "in the round's version."
    )


class SurveyRoundRead(BaseModel):
    """A survey round and its state; `status` follows the dates unless closed early, and is
    `historical` for a past survey that was imported."""

    id: int
    name: str
    questionnaire_id: int
    questionnaire_version_id: int
    questionnaire_version_number: int
    questionnaire: RoundQuestionnaire
    period: str
    area_ids: list[int]
    open_date: date
    close_date: date
    closed_at: UtcDatetime | None
    status: RoundStatus
    source: RoundSource = Field(description=SOURCE_DESCRIPTION)
    area_links_enabled: bool
    min_cell_size: int = Field(
        description="The organisation's minimum cell size k: counts that could show fewer "
        "than k respondents are suppressed."
    )
    response_count: int | None = Field(
        description="Responses stored and counted in results, in all the round's areas; null "
        "when suppressed (see `response_count_suppressed`)."
    )
    response_count_suppressed: bool = Field(
        description="True when `response_count` is hidden (null), like a suppressed results "
        "cell: the total is shown only when it is at least `min_cell_size` and the areas whose "
        "own response count is suppressed (fewer than `min_cell_size`, 0 included) add up to "
        "at least `min_cell_size` or there are none, so that no hidden area's count can be "
        "worked out as the total minus the areas shown."
    )
    pending_responses: int | None = Field(
        description="Answers sent with an invitation code, in all the round's areas, that are "
        "waiting to join a batch (see docs/privacy.md); they are counted once released, at the "
        "latest at the close. Null when suppressed (see `pending_responses_suppressed`)."
    )
    pending_responses_suppressed: bool = Field(
        description="True when `pending_responses` is hidden (null): fewer than "
        "`min_cell_size` answers are waiting (0 included), a small cell in a round of few "
        "areas."
    )


class SurveyRoundPage(Page[SurveyRoundRead]):
    """A page of survey rounds, newest period first."""
