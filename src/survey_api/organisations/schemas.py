from pydantic import BaseModel, ConfigDict, Field

LANGUAGE_PATTERN = r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$"


class OrganisationRead(BaseModel):
    """An organisation and its settings."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    slug: str
    min_cell_size: int = Field(description="Cells with a valid n below this are suppressed.")
    languages: list[str] | None = Field(
        description="Languages offered on the tenant form; null offers all of the questionnaire's."
    )


class OrganisationUpdate(BaseModel):
    """Settings an admin can change; omitted fields stay as they are."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"min_cell_size": 15, "languages": ["sv", "en", "ar"]}]},
    )

    name: str | None = Field(default=None, min_length=1, max_length=200)
    min_cell_size: int | None = Field(
        default=None, ge=5, le=1000, description="Never below 5 (DESIGN.md, Privacy)."
    )
    languages: list[str] | None = Field(default=None, min_length=1, max_length=30)
