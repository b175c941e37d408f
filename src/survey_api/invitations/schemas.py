from pydantic import BaseModel, ConfigDict, Field

from survey_api.ids import Id


class InvitationIssue(BaseModel):
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
    """Codes issued and used for one area."""

    area_id: int
    issued: int
    used: int


class InvitationCounts(BaseModel):
    """Issued and used codes per area of a round."""

    survey_round_id: int
    areas: list[InvitationCount]
