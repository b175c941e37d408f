from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from survey_api.ids import Id
from survey_api.input_types import RequestModel
from survey_api.languages import LanguageCode

Channel = Literal["web", "paper", "phone"]

_ANSWERS_EXAMPLE: dict[str, Any] = {
    "trygg_ute_kvall": 2,
    "trygg_bostad": 1,
    "utsatt_brott_12m": [6],
    "trivsel": 3,
    "aldersgrupp": 2,
    "kon": 1,
}


class ResponseSubmit(RequestModel):
    """One tenant's answers, validated against the round's published questionnaire version."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"area_id": 1, "language": "sv", "channel": "web", "answers": _ANSWERS_EXAMPLE}
            ]
        },
    )

    area_id: Id | None = Field(
        default=None, description="The area answered for; implied by `invitation_code`."
    )
    invitation_code: str | None = Field(
        default=None,
        min_length=4,
        max_length=40,
        description="A single-use code from a letter; marked used, never stored with the answers.",
    )
    language: LanguageCode = Field(
        description="The language answered in: one of the questionnaire's languages."
    )
    channel: Channel = "web"
    answers: dict[str, Any] = Field(
        description="item key → option code (scale, single_choice), list of codes "
        "(multi_choice), number, or text. Omit unanswered items."
    )


class BulkResponse(RequestModel):
    """A paper or phone response in a bulk upload (no invitation codes)."""

    model_config = ConfigDict(extra="forbid")

    area_id: Id
    language: LanguageCode = Field(
        description="The language answered in: one of the questionnaire's languages."
    )
    channel: Literal["paper", "phone"]
    answers: dict[str, Any]


class BulkUpload(RequestModel):
    """Up to 1000 responses stored all together or not at all."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "responses": [
                        {
                            "area_id": 1,
                            "language": "sv",
                            "channel": "paper",
                            "answers": _ANSWERS_EXAMPLE,
                        },
                        {
                            "area_id": 2,
                            "language": "ar",
                            "channel": "phone",
                            "answers": {"trivsel": 4},
                        },
                    ]
                }
            ]
        },
    )

    responses: list[BulkResponse] = Field(min_length=1, max_length=1000)


Entry = Literal["code", "link", "api"]


class ResponseReceipt(BaseModel):
    """A received response. Only the date is kept, never the time.

    An answer sent with an invitation code is not stored at once: it waits, anonymously, until
    it can join a shuffled batch of answers from the same area (docs/privacy.md), so it has no
    id yet and never gets one that could be tied to this receipt.
    """

    id: int | None = Field(
        description="The stored response's id; null while a code answer is pending."
    )
    survey_round_id: int
    area_id: int
    entry: Entry = Field(
        description="How the answer came in: `code` (invitation), `link` (area link) or `api`."
    )
    pending: bool = Field(
        description="True for a code answer waiting to join a batch; it counts in results "
        "once released (at the latest when the round closes)."
    )
    submitted_date: date


class BulkReceipt(BaseModel):
    """What a bulk upload stored."""

    survey_round_id: int
    accepted: int
    response_ids: list[int]
