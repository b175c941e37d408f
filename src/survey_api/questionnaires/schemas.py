from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from survey_api.paging import Page
from survey_api.questionnaires.comparability import ChangeType, Status, TargetKind
from survey_api.questionnaires.document import Index, Indicator
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


class ComparabilityChange(BaseModel):
    """One reason a target's trend breaks."""

    type: ChangeType = Field(
        description="kind_changed, codes_added, codes_removed, scores_changed (a score, "
        "substantiveness or exclusivity of existing codes), favourable_changed, "
        "unfavourable_changed, indicator_item_changed, indicator_codes_changed, "
        "index_orientation_changed or index_items_changed."
    )
    item: str | None = Field(description="The item concerned, when the change is an item's.")
    codes: list[int] = Field(description="Codes added, removed or rescored; otherwise empty.")
    before: list[str] = Field(
        description="The previous value (kind, codes, orientation, item or components)."
    )
    after: list[str] = Field(description="The new value, in the same form as `before`.")
    message: str = Field(description="The change in English, as trend breaks word it.")


class ComparabilityEntry(BaseModel):
    """Whether one item, indicator or index keeps its trend from the previous version."""

    target: TargetKind
    key: str
    status: Status = Field(
        description="keeps_trend: figures join the earlier series; breaks: a new series starts "
        "(see changes); new: not in the previous version; removed: only in the previous version."
    )
    reason: str | None = Field(description="Why it does not keep its trend, in English.")
    changes: list[ComparabilityChange]


class ComparabilityReport(BaseModel):
    """A version against the previous published version: which trends continue and which break.

    The rule is the one trends use: texts and labels never matter; an item's kind, option codes,
    scores (and null scores) and favourable/unfavourable codes, an indicator's codes and an
    index's orientation and components do. Free-text items have no figures and are left out.
    """

    questionnaire_id: int
    number: int
    previous_number: int | None = Field(
        description="The published version compared against; null when there is none."
    )
    keeps_trend: int
    breaks: int
    new: int
    removed: int
    entries: list[ComparabilityEntry]


class StandardQuestionnaire(BaseModel):
    """A standard questionnaire shipped with the service: what it measures and how.

    Its indicators and indices are open: each states its items, codes and orientation (the
    formulas are in docs/methods.md). The whole definition is at
    `/standard-questionnaires/{key}`, ready to post to `/questionnaires`.
    """

    key: str
    name: dict[str, str]
    languages: list[str]
    default_language: str
    items: int = Field(description="The number of items (questions).")
    indicators: list[Indicator]
    indices: list[Index]


class StandardQuestionnaireList(BaseModel):
    """Every standard questionnaire shipped with the service, the trygghetsmätning first."""

    items: list[StandardQuestionnaire]
