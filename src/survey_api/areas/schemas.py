from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from survey_api.input_types import RequestModel
from survey_api.paging import Page
from survey_api.timestamps import UtcDatetime

PoliceClassification = Literal["none", "utsatt", "risk", "sarskilt_utsatt"]

# [0-9], not \d: \d also matches other scripts' digits, such as Arabic-Indic ones.
MUNICIPALITY_PATTERN = r"^[0-9]{4}$"
DESO_PATTERN = r"^[0-9]{4}[A-C][0-9]{4}$"
REGSO_PATTERN = r"^[0-9]{4}R[0-9]{3}$"
VERSION_PATTERN = r"^[0-9]{4}$"

AREA_EXAMPLE: dict[str, Any] = {
    "code": "hjallbo",
    "name": "Hjällbo",
    "municipality_code": "1480",
    "deso_code": "1480C1010",
    "deso_version": "2025",
    "regso_code": "1480R001",
    "regso_version": "2025",
    "households": 2300,
    "classifications": [{"year": 2025, "area_type": 1, "police_classification": "sarskilt_utsatt"}],
}


class Classification(RequestModel):
    """An area's area type (Segregationsbarometern 1–5) and police classification in one year."""

    model_config = ConfigDict(extra="forbid", from_attributes=True)

    year: int = Field(ge=1990, le=2100)
    area_type: int | None = Field(
        default=None,
        ge=1,
        le=5,
        description="1 stora socioekonomiska utmaningar … 5 mycket goda förutsättningar.",
    )
    police_classification: PoliceClassification | None = None


class _AreaCodes(RequestModel):
    @model_validator(mode="after")
    def codes_have_versions(self) -> Self:
        for kind in ("deso", "regso"):
            code = getattr(self, f"{kind}_code", None)
            version = getattr(self, f"{kind}_version", None)
            if code is not None and version is None:
                raise ValueError(f"{kind}_code needs {kind}_version (the year of the code set)")
            municipality = getattr(self, "municipality_code", None)
            if code is not None and municipality is not None and code[:4] != municipality:
                raise ValueError(f"{kind}_code {code} does not lie in municipality {municipality}")
        return self


class AreaCreate(_AreaCodes):
    """A residential area to create."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [AREA_EXAMPLE]})

    code: str = Field(
        min_length=1,
        max_length=40,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
        description="Your own stable reference for the area, unique in the organisation.",
    )
    name: str = Field(min_length=1, max_length=200)
    municipality_code: str = Field(pattern=MUNICIPALITY_PATTERN, description="Kommunkod, 4 digits.")
    deso_code: str | None = Field(default=None, pattern=DESO_PATTERN, examples=["1480C1010"])
    deso_version: str | None = Field(default=None, pattern=VERSION_PATTERN, examples=["2025"])
    regso_code: str | None = Field(default=None, pattern=REGSO_PATTERN, examples=["1480R001"])
    regso_version: str | None = Field(default=None, pattern=VERSION_PATTERN, examples=["2025"])
    households: int | None = Field(default=None, ge=0, le=1_000_000)
    classifications: list[Classification] = Field(default_factory=list, max_length=100)


class AreaUpdate(RequestModel):
    """Fields to change; omitted fields stay. `classifications` upserts the years given."""

    # No _AreaCodes check here: a partial update is checked after merging with the stored
    # area (areas.service), so a new deso_code alone keeps the stored deso_version.

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"households": 2350}]}
    )

    name: str | None = Field(default=None, min_length=1, max_length=200)
    municipality_code: str | None = Field(default=None, pattern=MUNICIPALITY_PATTERN)
    deso_code: str | None = Field(default=None, pattern=DESO_PATTERN)
    deso_version: str | None = Field(default=None, pattern=VERSION_PATTERN)
    regso_code: str | None = Field(default=None, pattern=REGSO_PATTERN)
    regso_version: str | None = Field(default=None, pattern=VERSION_PATTERN)
    households: int | None = Field(default=None, ge=0, le=1_000_000)
    classifications: list[Classification] | None = Field(default=None, max_length=100)


class AreaRead(BaseModel):
    """A residential area with its classifications, newest year first."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str
    municipality_code: str
    deso_code: str | None
    deso_version: str | None
    regso_code: str | None
    regso_version: str | None
    households: int | None
    classifications: list[Classification]
    created_at: UtcDatetime
    updated_at: UtcDatetime


class AreaPage(Page[AreaRead]):
    """A page of the organisation's areas, by code."""


ImportOutcome = Literal["create", "update", "unchanged"]


class AreaFieldChange(BaseModel):
    """One field an import sets: its stored value and the file's. A classification field
    (`year`, `area_type`, `police_classification`) names its `year`; `field` `year` with
    `old` null means the year is added."""

    field: str = Field(examples=["households"])
    year: int | None = Field(default=None, description="The classification year, if any.")
    old: str | int | None = Field(description="The stored value; null for a new area.")
    new: str | int | None = Field(description="The value from the file.")


class AreaImportRow(BaseModel):
    """What the import does with one valid row of the file."""

    line: int = Field(description="The row's line in the file (the header is line 1).")
    code: str
    outcome: ImportOutcome = Field(
        description="`create` a new area, `update` the area with this code, or leave it "
        "`unchanged` (the file holds what is stored)."
    )
    area_id: int | None = Field(
        description="The area's id; null on a dry run for an area not created yet."
    )
    changes: list[AreaFieldChange] = Field(
        description="For `create` every field given, for `update` the fields that differ; "
        "empty when `unchanged`."
    )


class AreaImportError(BaseModel):
    """A bad field of a row: `loc` is `["row", line, column]` (no column for the whole row)."""

    loc: list[str | int] = Field(examples=[["row", 3, "municipality_code"]])
    msg: str
    type: str


class AreaImportResult(BaseModel):
    """What an import did, or with `dry_run` what it would do.

    A real import stores every row or, when any row is bad, nothing (a 422 listing the
    errors). A dry run (`?dry_run=true`) validates the same file by the same rules and
    stores nothing: it answers 200 with the outcome of every valid row and, in `errors`,
    every bad field by line; the import itself would then do exactly what `rows` says,
    provided `errors` is empty and the stored areas do not change in between."""

    dry_run: bool = Field(default=False, description="True: nothing was stored.")
    created: int
    updated: int
    unchanged: int = 0
    rows: list[AreaImportRow] = Field(default_factory=list, description="One per valid row.")
    errors: list[AreaImportError] = Field(
        default_factory=list, description="Row errors; only a dry run answers with any."
    )
    areas: list[AreaRead] = Field(description="The imported areas; empty on a dry run.")
