"""A benchmark cell as every response shows it: shown with its figure, or only suppressed.

GET /benchmarks, the round results' benchmark block and the area overview share these shapes
(this module imports nothing of the results package, so both can use it)."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class SuppressedCell(BaseModel):
    """A cell that fails disclosure control: nothing but this flag, whatever the reason."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    suppressed: Literal[True]


class BenchmarkCell(BaseModel):
    """A shown benchmark cell: the pooled figure across organisations and what is behind it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    suppressed: Literal[False]
    value: float = Field(
        description="The pooled figure, household-weighted across every contributing area: a "
        "share in 0–1 (indicator_share, favourable_share), an index 0–100 (item_index, "
        "composite_index) or a mean (mean)."
    )
    low: float | None = Field(description="Lower end of the 95 % interval.")
    high: float | None = Field(description="Upper end of the 95 % interval.")
    n: int = Field(description="Valid answers over every contributing area.")
    organisations: int = Field(description="Organisations whose areas contribute (at least 3).")
    areas: int = Field(description="Areas that contribute (at least 5).")


BenchmarkFigure = BenchmarkCell | SuppressedCell
