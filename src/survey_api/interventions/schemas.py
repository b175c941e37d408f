from datetime import date
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from survey_api.ids import Id
from survey_api.input_types import IsoDate, RequestModel
from survey_api.paging import Page
from survey_api.timestamps import UtcDatetime

CATEGORY_PATTERN = r"^[a-z][a-z0-9_]{0,62}$"


class _Dates(RequestModel):
    @model_validator(mode="after")
    def dates_ordered(self) -> Self:
        start = getattr(self, "start_date", None)
        end = getattr(self, "end_date", None)
        if start is not None and end is not None and end < start:
            raise ValueError("end_date is before start_date")
        area_ids = getattr(self, "area_ids", None)
        if area_ids is not None and len(set(area_ids)) != len(area_ids):
            raise ValueError("area_ids lists an area more than once")
        return self


class InterventionCreate(_Dates):
    """A social investment (satsning) to register."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "Trygghetsvärdar i Hjällbo",
                    "category": "trygghetsvardar",
                    "area_ids": [1],
                    "start_date": "2025-01-15",
                    "end_date": None,
                    "cost_sek": 1800000,
                    "description": "Två trygghetsvärdar kvällar och helger.",
                }
            ]
        },
    )

    name: str = Field(min_length=1, max_length=200)
    category: str = Field(
        pattern=CATEGORY_PATTERN,
        description="A short key shared by similar investments, e.g. trygghetsvardar, "
        "fritidsbanken, belysning, sommarjobb, polissamverkan. Default comparison areas are "
        "those without an intervention of the same category.",
    )
    area_ids: list[Id] = Field(min_length=1, max_length=500)
    start_date: IsoDate
    end_date: IsoDate | None = None
    cost_sek: int | None = Field(default=None, ge=0, le=10_000_000_000)
    description: str | None = Field(default=None, max_length=5000)


class InterventionUpdate(_Dates):
    """Fields to change; omitted fields stay as they are."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"end_date": "2026-12-31"}]}
    )

    name: str | None = Field(default=None, min_length=1, max_length=200)
    category: str | None = Field(default=None, pattern=CATEGORY_PATTERN)
    area_ids: list[Id] | None = Field(default=None, min_length=1, max_length=500)
    start_date: IsoDate | None = None
    end_date: IsoDate | None = None
    cost_sek: int | None = Field(default=None, ge=0, le=10_000_000_000)
    description: str | None = Field(default=None, max_length=5000)


class InterventionRead(BaseModel):
    """A registered social investment."""

    id: int
    name: str
    category: str
    area_ids: list[int]
    start_date: date
    end_date: date | None
    cost_sek: int | None
    description: str | None
    created_at: UtcDatetime
    updated_at: UtcDatetime


class InterventionPage(Page[InterventionRead]):
    """A page of registered social investments, oldest start first."""
