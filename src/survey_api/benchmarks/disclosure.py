"""Disclosure control of benchmark cells (docs/methods.md, section 18).

A cell is shown only when it passes :func:`disclosed` on its own, and when no pool that could be
derived from the shown cells by adding and subtracting them (given every area's household count,
which a determined attacker may know from annual reports) fails it: area types and police classes
overlap, so an area type minus a police class inside it, or a sum of cells minus another, is a
pool of its own. Pools are unions of *atoms*, the areas sharing an (area type, police class)
pair; a union is derivable exactly when its indicator vector over the atoms lies in the row space
of the shown cells' vectors. :func:`shown_cells_of_atoms` hides cells until no derivable union
fails (:func:`shown_cells` takes the cells as their areas).

With every derivable pool passing (at least 3 organisations, none with more than half the
weight, the two largest with at most 85 % of it), an organisation that subtracts its own areas
from any of them is left with at least two other organisations, never one, and never with one
other and a sliver.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import numpy.typing as npt

    IntArray = npt.NDArray[np.int64]

MIN_ORGANISATIONS = 3
MIN_AREAS = 5
MAX_ORGANISATION_WEIGHT = 0.5
#: The (2, 85) dominance rule beside the (1, 50) one: the two largest organisations together
#: carry at most 85 % of the weight, so neither of them, subtracting itself, is left with the
#: other and a sliver (a near 50/50 split with a tiny third organisation).
MAX_TWO_ORGANISATIONS_WEIGHT = 0.85


def dominated(weights: Collection[int]) -> bool:
    """Whether one organisation carries more than half of the household weight, or the two
    largest more than 85 % of it."""
    total = sum(weights)
    largest = sorted(weights, reverse=True)[:2]
    return (
        largest[0] > MAX_ORGANISATION_WEIGHT * total
        or sum(largest) > MAX_TWO_ORGANISATIONS_WEIGHT * total
    )


#: Beyond this many atoms the union search is not run and only the area-type cells (disjoint,
#: so every union of shown ones passes) can be shown.
MAX_ATOMS = 16

Atom = tuple[int | None, str | None]


@dataclass(frozen=True, slots=True)
class Contribution:
    """One shown area of one organisation in a benchmark cell."""

    organisation_id: int
    area_id: int
    households: int
    n: int
    x: int
    total: float
    total_sq: float
    min_cell: int
    area_type: int | None = None
    police: str | None = None

    @property
    def atom(self) -> Atom:
        return (self.area_type, self.police)


def _passes(areas: int, n: int, min_cell: int, weights: Collection[int]) -> bool:
    """The rules of a pool: at least 5 areas and 3 organisations (``weights``: each
    contributing organisation's households), valid n at least the largest minimum cell size
    among the contributors, and no dominance (:func:`dominated`)."""
    return (
        areas >= MIN_AREAS
        and len(weights) >= MIN_ORGANISATIONS
        and n >= min_cell
        and not dominated(weights)
    )


def disclosed(contributions: list[Contribution]) -> bool:
    """Whether a pool may be shown: at least 3 organisations and 5 areas, valid n at least the
    largest minimum cell size among the contributors, no organisation with more than half of
    the household weight and the two largest with at most 85 % of it."""
    if not contributions:
        return False
    organisations: dict[int, int] = defaultdict(int)
    for c in contributions:
        organisations[c.organisation_id] += c.households
    return _passes(
        len(contributions),
        sum(c.n for c in contributions),
        max(c.min_cell for c in contributions),
        list(organisations.values()),
    )


def _search(shown: list[str], by_atom: Mapping[tuple[int, ...], AtomTotals]) -> list[str] | None:
    """The shown cells whose sums and differences give a union of atoms that fails the rules
    (the first such union, smallest first), or None when there is none. ``by_atom`` holds the
    atoms' totals keyed by the rows of the shown cells they lie in (the finest pools sums and
    differences of those cells can tell apart)."""
    atoms = sorted(by_atom)
    if not shown or not atoms:
        return None
    rows = np.zeros((len(shown), len(atoms)))
    for i, atom in enumerate(atoms):
        rows[list(atom), i] = 1.0
    # u is derivable iff it is orthogonal to the null space of the cell matrix.
    _, singular, vt = np.linalg.svd(rows)
    rank = int(np.sum(singular > 1e-9))
    null = vt[rank:].T
    k = len(atoms)
    subsets = ((np.arange(1, 2**k)[:, None] >> np.arange(k)) & 1).astype(float)
    if null.size:
        subsets = subsets[np.all(np.abs(subsets @ null) < 1e-9, axis=1)]
    for chosen in sorted(subsets.tolist(), key=sum):
        if not _disclosed_totals([by_atom[atoms[i]] for i, bit in enumerate(chosen) if bit]):
            coefficients = np.linalg.lstsq(rows.T, np.array(chosen), rcond=None)[0]
            return [
                key for key, k in zip(shown, coefficients, strict=True) if abs(k) > 1e-9
            ] or list(shown)
    return None


@dataclass(slots=True)
class AtomTotals:
    """What disclosure control needs of the areas sharing one atom (area type, police class):
    how many, their valid n, their largest minimum cell size and the households per
    organisation (one entry per organisation of the benchmark, 0 for one without areas here)."""

    areas: int
    n: int
    min_cell: int
    households: IntArray


def _disclosed_totals(totals: list[AtomTotals]) -> bool:
    """The rules of the union of atoms, from their totals."""
    households = np.sum([t.households for t in totals], axis=0)
    return _passes(
        sum(t.areas for t in totals),
        sum(t.n for t in totals),
        max(t.min_cell for t in totals),
        [int(h) for h in households if h],
    )


def shown_cells_of_atoms(cells: dict[str, list[Atom]], stats: dict[Atom, AtomTotals]) -> set[str]:
    """The cells that may be shown. Every cell is a union of atoms (area type, police class),
    and ``stats`` holds the totals of the atoms that have areas (every household count
    positive). Each shown cell passes the rules, and no union of atoms derivable from the
    shown cells fails them; while one does, the smallest of the cells it is derived from is
    hidden too (a police class before an area type of the same size)."""

    def of(key: str) -> list[AtomTotals]:
        return [stats[atom] for atom in cells[key] if atom in stats]

    size = {key: sum(s.areas for s in of(key)) for key in cells}
    shown = sorted(key for key in cells if of(key) and _disclosed_totals(of(key)))
    atoms = {atom for key in shown for atom in cells[key] if atom in stats}
    if len(atoms) > MAX_ATOMS:
        shown = [key for key in shown if key.startswith("area_type:")]
    while True:
        by_atom: dict[tuple[int, ...], AtomTotals] = {}
        for atom, totals in stats.items():
            rows_in = tuple(r for r, key in enumerate(shown) if atom in cells[key])
            if not rows_in:
                continue
            merged = by_atom.get(rows_in)
            if merged is None:
                by_atom[rows_in] = AtomTotals(
                    totals.areas, totals.n, totals.min_cell, totals.households.copy()
                )
            else:
                merged.areas += totals.areas
                merged.n += totals.n
                merged.min_cell = max(merged.min_cell, totals.min_cell)
                merged.households += totals.households
        involved = _search(shown, by_atom)
        if involved is None:
            return set(shown)
        victim = min(
            involved,
            key=lambda key: (size[key], not key.startswith("police:"), key),
        )
        shown.remove(victim)


def shown_cells(cells: dict[str, list[Contribution]]) -> set[str]:
    """:func:`shown_cells_of_atoms` of cells given as their contributing areas (each area in
    the atom of its own area type and police class, as in a benchmark)."""
    areas = {(c.organisation_id, c.area_id): c for key in cells for c in cells[key]}
    organisations = sorted({c.organisation_id for c in areas.values()})
    column = {organisation: i for i, organisation in enumerate(organisations)}
    stats: dict[Atom, AtomTotals] = {}
    for c in areas.values():
        totals = stats.setdefault(
            c.atom, AtomTotals(0, 0, 0, np.zeros(len(organisations), dtype=np.int64))
        )
        totals.areas += 1
        totals.n += c.n
        totals.min_cell = max(totals.min_cell, c.min_cell)
        totals.households[column[c.organisation_id]] += c.households
    return shown_cells_of_atoms(
        {key: sorted({c.atom for c in cells[key]}, key=repr) for key in cells}, stats
    )
