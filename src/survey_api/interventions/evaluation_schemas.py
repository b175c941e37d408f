from typing import Literal

from pydantic import BaseModel, Field

from survey_api.results.schemas import SOURCE, UNAVAILABLE
from survey_api.rounds.schemas import RoundSource

CAVEAT_SV = (
    "Skillnad-i-skillnader visar om utvecklingen i insatsområdena skilde sig från "
    "jämförelseområdena. Det är inte ett bevis för att insatsen orsakade skillnaden: "
    "regression mot medelvärdet, förflyttning av problem till andra områden och andra "
    "förändringar under samma tid kan ge samma mönster."
)
CAVEAT_EN = (
    "Difference-in-differences shows whether the treated areas developed differently from the "
    "comparison areas. It is not proof that the intervention caused the difference: regression "
    "to the mean, displacement of problems to other areas and other changes at the same time "
    "can produce the same pattern."
)


class EvaluationCell(BaseModel):
    """A pooled share of the treated or comparison areas in one round (null if suppressed)."""

    role: Literal["treated", "comparison"]
    when: Literal["before", "after", "earlier"]
    survey_round_id: int
    period: str
    source: RoundSource = Field(description=SOURCE)
    suppressed: bool
    n: int | None = Field(description="Respondents in the pooled areas (valid base).")
    areas_used: list[int] = Field(description="Areas whose cells were shown and pooled.")
    p: float | None
    low: float | None
    high: float | None
    weighting: Literal["households", "unweighted"] | None
    note: str | None
    unavailable_reason: str | None = Field(default=None, description=UNAVAILABLE)


class Estimate(BaseModel):
    """A difference-in-differences with its 95 % interval."""

    estimate: float = Field(description="(p_T,after − p_T,before) − (p_C,after − p_C,before).")
    se: float
    low: float
    high: float
    significant: bool = Field(description="The interval excludes 0.")


class PreTrend(BaseModel):
    """The same comparison over two rounds before the start: it should be near 0."""

    from_period: str
    to_period: str
    estimate: Estimate | None = Field(description="Null when a cell is suppressed.")


class InterventionEvaluation(BaseModel):
    """Did the treated areas change differently from comparable areas?"""

    intervention_id: int
    target: Literal["indicator", "item"]
    key: str = Field(description="The indicator key, or the item whose favourable share is used.")
    treated_area_ids: list[int]
    comparison_area_ids: list[int]
    comparison_rule: str = Field(description="How the comparison areas were chosen.")
    before_period: str = Field(
        description="Default: the last round that closed before the start (`before=` to choose)."
    )
    after_period: str = Field(
        description="Default: the latest closed round of the same period kind as the one "
        "before that opened on or after the start; while none has closed, the latest open one "
        "(`after=` to choose)."
    )
    questionnaire_key: str = Field(
        description="The survey (questionnaire key) whose rounds every cell comes from: an "
        "evaluation never mixes surveys. Default: the only survey whose rounds carry the "
        "target, else the survey that can be evaluated here (comparable rounds covering a "
        "treated and a comparison area, one before and one after the start) with the most "
        "such rounds (ties: the one whose latest round is the latest), said in `period_note` "
        "(`questionnaire=` to choose)."
    )
    period_choice: Literal["default", "requested"] = Field(
        description="`requested` when `before=` or `after=` was given."
    )
    period_note: dict[str, str] = Field(
        description="In Swedish and English: which periods are compared and why, and which "
        "survey (by name) when another survey has rounds or one was asked for."
    )
    cells: list[EvaluationCell]
    did: Estimate | None = Field(
        description="Null when any of the four cells is suppressed or unavailable."
    )
    pre_trend: list[PreTrend] = Field(
        description="Placebo comparisons between earlier rounds (when two or more exist)."
    )
    interpretation: str
    caveat: dict[str, str] = Field(description="In Swedish and English: why this is not proof.")
