"""The benchmark payload: cells keyed by area type or police class, shown or suppressed."""

from pydantic import BaseModel, ConfigDict, Field

from survey_api.benchmarks.cells import BenchmarkCell, SuppressedCell
from survey_api.results.schemas import Statistic, TargetKind


class BenchmarkTarget(BaseModel):
    kind: TargetKind
    key: str


class LeftOut(BaseModel):
    """Opted-in organisations whose rounds in the period do not take part, by reason (never
    their names)."""

    organisations: int = Field(description="How many organisations are left out for this reason.")
    reason: str


class Benchmark(BaseModel):
    """A target's benchmark across opted-in organisations in one period."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "period": "2026",
                    "target": {"kind": "indicator", "key": "andel_otrygga_kvall"},
                    "statistic": "indicator_share",
                    "standard_questionnaire": "trygghetsmatning-standard",
                    "cells": {
                        "area_type:1": {
                            "suppressed": False,
                            "value": 0.41,
                            "low": 0.37,
                            "high": 0.45,
                            "n": 1840,
                            "organisations": 6,
                            "areas": 23,
                        },
                        "area_type:2": {"suppressed": True},
                    },
                    "left_out": [{"organisations": 1, "reason": "…"}],
                }
            ]
        }
    )

    period: str
    target: BenchmarkTarget
    statistic: Statistic | None = Field(
        description="What `value` is: a share, an index 0–100 or a mean."
    )
    standard_questionnaire: str = Field(
        description="The shipped standard questionnaire whose definition of the target a "
        "round must match exactly to take part."
    )
    cells: dict[str, BenchmarkCell | SuppressedCell] = Field(
        description="Keyed area_type:1..5 and police:none|utsatt|risk|sarskilt_utsatt "
        "(classification of the round's year)."
    )
    left_out: list[LeftOut]
