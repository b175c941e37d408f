from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from survey_api.paging import Page
from survey_api.timestamps import UtcDatetime

VersionStatus = Literal["draft", "published"]


class VersionSummary(BaseModel):
    """A version's number and state."""

    model_config = ConfigDict(from_attributes=True)

    id: int = Field(description="Use this id as `questionnaire_version_id` when creating a round.")
    number: int
    status: VersionStatus
    created_at: UtcDatetime
    published_at: UtcDatetime | None


class QuestionnaireRead(BaseModel):
    """A questionnaire and its versions, oldest first."""

    id: int
    key: str
    name: dict[str, str]
    versions: list[VersionSummary]


class QuestionnairePage(Page[QuestionnaireRead]):
    """A page of the organisation's questionnaires, oldest first."""


class VersionRead(VersionSummary):
    """One version with its full definition (the JSON format of the standard questionnaire)."""

    questionnaire_id: int
    definition: dict[str, Any]


class CreatedQuestionnaire(BaseModel):
    """The new questionnaire and its first (draft) version."""

    questionnaire: QuestionnaireRead
    version: VersionRead
