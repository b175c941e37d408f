import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

from survey_api.benchmarks.sharing import BENCHMARK_SHARING_TEXT
from survey_api.input_types import RequestModel

LANGUAGE_PATTERN = r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$"


class LetterText(RequestModel):
    """Who sends the invitation letters, in one language: printed on every letter."""

    model_config = ConfigDict(extra="forbid")

    sender: str = Field(
        min_length=1,
        max_length=200,
        description="The sender as tenants know it, e.g. 'Demobostäder AB, områdeskontoret'.",
    )
    contact: str | None = Field(
        default=None,
        max_length=300,
        description="How to reach a person with questions (phone, e-mail, office hours).",
    )
    privacy: str | None = Field(
        default=None,
        max_length=1000,
        description="A short privacy text; without it the letter says that answers are "
        "anonymous and nothing that can identify the tenant is saved with them.",
    )


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
    letter_texts: dict[str, LetterText] = Field(
        description="Sender, contact line and privacy text printed on invitation letters, per "
        "language code."
    )
    benchmark_opt_in: bool = Field(
        description="Whether the organisation takes part in the cross-organisation benchmark "
        "(GET /benchmarks); off by default. What that shares is `benchmark_sharing_text`."
    )
    benchmark_sharing_text: dict[str, str] = Field(
        default_factory=lambda: dict(BENCHMARK_SHARING_TEXT),
        description="Exactly what taking part in the benchmark shares, per language (sv, en).",
    )

    @field_validator("letter_texts", mode="before")
    @classmethod
    def none_is_empty(cls, value: object) -> object:
        return {} if value is None else value


class OrganisationUpdate(RequestModel):
    """Settings an admin can change; omitted fields stay as they are."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "min_cell_size": 15,
                    "languages": ["sv", "en", "ar"],
                    "letter_texts": {
                        "sv": {
                            "sender": "Demobostäder AB, områdeskontoret i Hjällbo",
                            "contact": "Frågor? Ring 031-123 45 67 eller mejla trygg@example.se",
                        }
                    },
                },
                {"benchmark_opt_in": True},
            ]
        },
    )

    name: str | None = Field(default=None, min_length=1, max_length=200)
    min_cell_size: int | None = Field(
        default=None, ge=5, le=1000, description="Never below 5 (DESIGN.md, Privacy)."
    )
    languages: list[str] | None = Field(default=None, min_length=1, max_length=30)
    letter_texts: dict[str, LetterText] | None = Field(
        default=None,
        max_length=30,
        description="Replaces the letter texts: sender, contact line and privacy text per "
        "language code (e.g. sv, en, ar); a language without one gets the organisation's "
        "name and the standard privacy sentence.",
    )
    benchmark_opt_in: bool | None = Field(
        default=None,
        description="Take part in the cross-organisation benchmark (true) or stop (false); "
        "GET /organisation returns the exact text of what is shared.",
    )

    @field_validator("name", "min_cell_size", "benchmark_opt_in")
    @classmethod
    def not_null(cls, value: object) -> object:
        """`null` cannot be stored for these; omitting the field keeps the current value."""
        if value is None:
            raise ValueError("may not be null; omit the field to keep its value")
        return value

    @field_validator("languages")
    @classmethod
    def language_codes(cls, value: list[str] | None) -> list[str] | None:
        bad = [lang for lang in value or [] if not re.fullmatch(LANGUAGE_PATTERN, lang)]
        if bad:
            raise ValueError(f"not language codes: {', '.join(bad)}")
        return value

    @field_validator("letter_texts")
    @classmethod
    def letter_languages(cls, value: dict[str, LetterText] | None) -> dict[str, LetterText] | None:
        bad = [lang for lang in value or {} if not re.fullmatch(LANGUAGE_PATTERN, lang)]
        if bad:
            raise ValueError(f"not language codes: {', '.join(bad)}")
        return value
