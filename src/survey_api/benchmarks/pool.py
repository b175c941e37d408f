"""A target's contributing areas as columns, and its cells computed from them.

The benchmark of one target over 300 organisations × 50 areas pools ~15,000 areas into nine
cells. Held as one ``Contribution`` object per area, building, auditing and pooling them cost
~250 ms a target in Python; as arrays (one entry per contributing area, in the order the areas
contribute) it is a few milliseconds. The numbers are the same to the last bit:

* disclosure control adds up integers (areas, valid n, households per organisation) per atom
  (area type, police class), then runs :func:`disclosure.shown_cells_of_atoms`;
* a shown cell's pooled share or mean follows ``results.statistics.pooled_share`` and
  ``pooled_mean`` operation by operation on float64, adding up with ``np.cumsum`` (a running
  sum in order, as their loops do; ``np.sum`` would add pairwise and could differ in the last
  bit). Integer sums are exact either way. A pool those functions would treat otherwise (an
  area without households or respondents, a single respondent) goes through them unchanged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from survey_api.benchmarks.disclosure import (
    Atom,
    AtomTotals,
    shown_cells_of_atoms,
)
from survey_api.models import POLICE_CLASSIFICATIONS
from survey_api.results.statistics import (
    AreaCell,
    AreaMeanCell,
    Z,
    pooled_mean,
    pooled_share,
)

if TYPE_CHECKING:
    import numpy.typing as npt

    FloatArray = npt.NDArray[np.float64]
    IntArray = npt.NDArray[np.int64]

AREA_TYPES = (1, 2, 3, 4, 5)
#: area_type column value of an area without a type; police column value without a class.
NO_TYPE = 0
NO_POLICE = -1


def cell_keys() -> list[str]:
    """Every benchmark cell, in order: area types 1–5, then the police classes."""
    return [f"area_type:{t}" for t in AREA_TYPES] + [f"police:{p}" for p in POLICE_CLASSIFICATIONS]


@dataclass(frozen=True, slots=True)
class Pool:
    """The contributing areas of one target, one entry per area in contribution order."""

    organisation: IntArray
    area: IntArray
    households: IntArray
    n: IntArray
    x: IntArray
    total: FloatArray
    total_sq: FloatArray
    min_cell: IntArray
    area_type: IntArray
    police: IntArray

    @staticmethod
    def empty() -> Pool:
        ints = np.zeros(0, dtype=np.int64)
        floats = np.zeros(0)
        return Pool(ints, ints, ints, ints, ints, floats, floats, ints, ints, ints)

    def mask(self, key: str) -> npt.NDArray[np.bool_]:
        """Which areas lie in a cell."""
        kind, value = key.split(":", 1)
        column, wanted = (
            (self.area_type, int(value))
            if kind == "area_type"
            else (self.police, POLICE_CLASSIFICATIONS.index(value))
        )
        result: npt.NDArray[np.bool_] = column == wanted
        return result

    def shown(self) -> set[str]:
        """The cells disclosure control lets through (:func:`disclosure.shown_cells_of_atoms`)."""
        owners, owner = np.unique(self.organisation, return_inverse=True)
        stats = {}
        for t in (NO_TYPE, *AREA_TYPES):
            for p in range(NO_POLICE, len(POLICE_CLASSIFICATIONS)):
                where = (self.area_type == t) & (self.police == p)
                if not where.any():
                    continue
                households = np.zeros(len(owners), dtype=np.int64)
                np.add.at(households, owner[where], self.households[where])
                atom: Atom = (
                    None if t == NO_TYPE else t,
                    None if p == NO_POLICE else POLICE_CLASSIFICATIONS[p],
                )
                stats[atom] = AtomTotals(
                    int(where.sum()),
                    int(self.n[where].sum()),
                    int(self.min_cell[where].max()),
                    households,
                )
        cells: dict[str, list[Atom]] = {}
        for key in cell_keys():
            kind, value = key.split(":", 1)
            cells[key] = [
                atom
                for atom in stats
                if (atom[0] == int(value) if kind == "area_type" else atom[1] == value)
            ]
        return shown_cells_of_atoms(cells, stats)

    def pooled_share(self, key: str) -> tuple[float, float, float]:
        """(p, low, high) of ``results.statistics.pooled_share`` over a cell's areas."""
        where = self.mask(key)
        h, x, n = self.households[where], self.x[where], self.n[where]
        if len(n) == 0 or (n <= 0).any() or (h <= 0).any() or (x > n).any() or (x < 0).any():
            share = pooled_share(self._area_cells(where))
            return share.p, share.low, share.high
        total_h = int(h.sum())
        wa = h / total_h
        pa = x / n
        p = float(np.cumsum(wa * pa)[-1])
        variance = float(np.cumsum(wa * wa * pa * (1.0 - pa) / n)[-1])
        half = Z * math.sqrt(variance)
        return p, max(0.0, p - half), min(1.0, p + half)

    def pooled_mean(self, key: str) -> tuple[float, float | None, float | None]:
        """(mean, low, high) of ``results.statistics.pooled_mean`` over a cell's areas."""
        where = self.mask(key)
        h, n = self.households[where], self.n[where]
        if len(n) == 0 or (n < 2).any() or (h <= 0).any():
            mean = pooled_mean(self._mean_cells(where))
            return mean.mean, mean.low, mean.high
        total, total_sq = self.total[where], self.total_sq[where]
        total_h = int(h.sum())
        wa = h / total_h
        area_mean = total / n
        sd = np.sqrt(np.maximum(0.0, (total_sq - total * total / n) / (n - 1)))
        value = float(np.cumsum(wa * area_mean)[-1])
        variance = float(np.cumsum(wa * wa * sd * sd / n)[-1])
        half = Z * math.sqrt(variance)
        return value, value - half, value + half

    def _area_cells(self, where: npt.NDArray[np.bool_]) -> list[AreaCell]:
        return [
            AreaCell(households=h, x=x, n=n)
            for h, x, n in zip(
                self.households[where].tolist(),
                self.x[where].tolist(),
                self.n[where].tolist(),
                strict=True,
            )
        ]

    def _mean_cells(self, where: npt.NDArray[np.bool_]) -> list[AreaMeanCell]:
        return [
            AreaMeanCell(households=h, n=n, total=t, total_sq=q)
            for h, n, t, q in zip(
                self.households[where].tolist(),
                self.n[where].tolist(),
                self.total[where].tolist(),
                self.total_sq[where].tolist(),
                strict=True,
            )
        ]
