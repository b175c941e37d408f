"""Results: round figures, breakdowns, pooled groups and trends, computed from folded tallies.

This module is the public facade of the results package; the code lives in:

* :mod:`.targets` — :class:`Target` (an item, an indicator or a composite index) and what its
  figures need to know about it;
* :mod:`.loading` — :func:`load_round` folds a round and loads its tallies into a
  :class:`RoundData`;
* :mod:`.cells` — :func:`share_counts`, :func:`mean_sums` and :func:`valid_n` read one area's
  sufficient statistics for a :class:`Target`; :func:`area_share` / :func:`area_mean` give one
  area's suppression-aware estimate;
* :mod:`.pooled` — :func:`pooled_share_of` / :func:`pooled_mean_of` pool a set of areas
  (suppression-aware, household-weighted per DESIGN.md) and return :mod:`statistics` objects
  with their variances, ready for :func:`statistics.difference_in_differences`;
* :mod:`.payload` and :mod:`.trends` — :func:`round_results` and :func:`trend` build the API
  payloads.

Every statistic comes from :mod:`survey_api.results.statistics` and every suppression decision
from :mod:`survey_api.results.suppression`.
"""

from __future__ import annotations

from survey_api.results.cells import Json as Json
from survey_api.results.cells import area_mean, area_share, mean_sums, share_counts, valid_n
from survey_api.results.loading import RoundData, load_round, min_cell_of
from survey_api.results.payload import ROUND_METHOD as ROUND_METHOD
from survey_api.results.payload import (
    RoundQuery,
    round_payload,
    round_results,
    round_results_json,
)
from survey_api.results.pooled import (
    GroupKind,
    PooledMeanResult,
    PooledShareResult,
    group_area_ids,
    parse_group,
    pooled_mean_of,
    pooled_share_of,
)
from survey_api.results.targets import Target, target_of, target_signature
from survey_api.results.targets import statistic_of as statistic_of
from survey_api.results.trends import TREND_METHOD as TREND_METHOD
from survey_api.results.trends import trend, welch_change

__all__ = [
    "GroupKind",
    "PooledMeanResult",
    "PooledShareResult",
    "RoundData",
    "RoundQuery",
    "Target",
    "area_mean",
    "area_share",
    "group_area_ids",
    "load_round",
    "mean_sums",
    "min_cell_of",
    "parse_group",
    "pooled_mean_of",
    "pooled_share_of",
    "round_payload",
    "round_results",
    "round_results_json",
    "share_counts",
    "target_of",
    "target_signature",
    "trend",
    "valid_n",
    "welch_change",
]
