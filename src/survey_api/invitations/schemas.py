from pydantic import BaseModel, ConfigDict, Field

from survey_api.ids import Id
from survey_api.input_types import RequestModel


class InvitationIssue(RequestModel):
    """How many single-use codes to issue for one area of the round."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"area_id": 1, "count": 250}]}
    )

    area_id: Id
    count: int = Field(ge=1, le=10_000, description="One code per household letter.")


class IssuedCode(BaseModel):
    """A code in print-friendly form and its QR link."""

    code: str = Field(description="12 characters from an alphabet without look-alikes.")
    url: str = Field(description="The link to print as a QR code: /i/{code}.")


class IssuedInvitations(BaseModel):
    """Newly issued codes. They are shown only here, once; only hashes are stored."""

    survey_round_id: int
    area_id: int
    codes: list[IssuedCode]


class InvitationCount(BaseModel):
    """Codes issued and used for one area.

    `used` follows the small-cell rule of results: below the organisation's minimum cell size
    (or when it could be derived from the total and the other areas) it is null and
    `suppressed` is true, whatever the true count, 0 included.
    """

    area_id: int
    issued: int
    used: int | None
    suppressed: bool


class InvitationTotal(BaseModel):
    """Codes issued and used in the whole round; `used` suppressed like an area's."""

    issued: int
    used: int | None
    suppressed: bool


class InvitationCounts(BaseModel):
    """Issued and used codes per area of a round, and in total."""

    survey_round_id: int
    min_cell_size: int = Field(description="Used counts below this are suppressed.")
    areas: list[InvitationCount]
    total: InvitationTotal
