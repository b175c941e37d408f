"""Disclosure control of benchmark cells (docs/methods.md, section 18).

A cell is shown only when it passes :func:`disclosed` on its own, and when no pool that could be
derived from the shown cells by adding and subtracting them (given every area's household count,
which a determined attacker may know from annual reports) fails it: area types and police classes
overlap, so an area type minus a police class inside it, or a sum of cells minus another, is a
pool of its own. Pools are unions of *atoms*, the areas sharing an (area type, police class)
pair; a union is derivable exactly when its indicator vector over the atoms lies in the row space
of the shown cells' vectors. :func:`shown_cells` hides cells until no derivable union fails.

With every derivable pool passing (at least 3 organisations, none with more than half the
weight, the two largest with at most 85 % of it), an organisation that subtracts its own areas
from any of them is left with at least two other organisations, never one, and never with one
other and a sliver.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

import numpy as np

if TYPE_CHECKING:
    import numpy.typing as npt

    IntArray = npt.NDArray[np.int64]

_Stats = TypeVar("_Stats")

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


def disclosed(contributions: list[Contribution]) -> bool:
    """Whether a pool may be shown: at least 3 organisations and 5 areas, valid n at least the
    largest minimum cell size among the contributors, no organisation with more than half of
    the household weight and the two largest with at most 85 % of it."""
    if len(contributions) < MIN_AREAS:
        return False
    organisations: dict[int, int] = defaultdict(int)
    for c in contributions:
        organisations[c.organisation_id] += c.households
    if len(organisations) < MIN_ORGANISATIONS:
        return False
    if sum(c.n for c in contributions) < max(c.min_cell for c in contributions):
        return False
    return not dominated(list(organisations.values()))


@dataclass(slots=True)
class _AtomStats:
    """What disclosure control needs of an atom's contributions, to add atoms up cheaply."""

    areas: int = 0
    n: int = 0
    min_cell: int = 0
    households: dict[int, int] = field(default_factory=lambda: defaultdict(int))


def _disclosed_stats(stats: list[_AtomStats]) -> bool:
    """:func:`disclosed` of the union of atoms, from their stats."""
    if sum(s.areas for s in stats) < MIN_AREAS:
        return False
    households: dict[int, int] = defaultdict(int)
    for s in stats:
        for org, h in s.households.items():
            households[org] += h
    if len(households) < MIN_ORGANISATIONS:
        return False
    if sum(s.n for s in stats) < max(s.min_cell for s in stats):
        return False
    return not dominated(list(households.values()))


def _failing_union(shown: list[str], cells: dict[str, list[Contribution]]) -> list[str] | None:
    """The shown cells whose sum and differences give a union of atoms that fails
    :func:`disclosed` (the first such union, smallest first), or None when there is none."""
    # Atoms: the areas that lie in the same shown cells (the finest pools sums and differences
    # of those cells can tell apart).
    membership: dict[tuple[int, int], list[int]] = defaultdict(list)
    first: dict[tuple[int, int], Contribution] = {}
    for r, key in enumerate(shown):
        for c in cells[key]:
            membership[(c.organisation_id, c.area_id)].append(r)
            first.setdefault((c.organisation_id, c.area_id), c)
    by_atom: dict[tuple[int, ...], _AtomStats] = defaultdict(_AtomStats)
    for area, rows_in in membership.items():
        c = first[area]
        stats = by_atom[tuple(rows_in)]
        stats.areas += 1
        stats.n += c.n
        stats.min_cell = max(stats.min_cell, c.min_cell)
        stats.households[c.organisation_id] += c.households
    return _search(shown, by_atom, _disclosed_stats)


def _search(
    shown: list[str],
    by_atom: Mapping[tuple[int, ...], _Stats],
    passes: Callable[[list[_Stats]], bool],
) -> list[str] | None:
    """:func:`_failing_union` given the atoms, keyed by the rows of the shown cells they lie
    in, and the test of :func:`disclosed` on a union of them."""
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
        if not passes([by_atom[atoms[i]] for i, bit in enumerate(chosen) if bit]):
            coefficients = np.linalg.lstsq(rows.T, np.array(chosen), rcond=None)[0]
            return [
                key for key, k in zip(shown, coefficients, strict=True) if abs(k) > 1e-9
            ] or list(shown)
    return None


def shown_cells(cells: dict[str, list[Contribution]]) -> set[str]:
    """The cells that may be shown: each passes :func:`disclosed`, and no union of atoms
    derivable from them fails it; while one does, the smallest of the cells it is derived from
    is hidden too (a police class before an area type of the same size)."""
    shown = sorted(key for key, contributions in cells.items() if disclosed(contributions))
    atoms = {c.atom for key in shown for c in cells[key]}
    if len(atoms) > MAX_ATOMS:
        # Area types alone are disjoint: each area is in one at most, so atoms are the types.
        shown = [key for key in shown if key.startswith("area_type:")]
    while True:
        involved = _failing_union(shown, cells)
        if involved is None:
            return set(shown)
        victim = min(
            involved,
            key=lambda key: (len(cells[key]), not key.startswith("police:"), key),
        )
        shown.remove(victim)


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
    """:func:`disclosed` of the union of atoms, from their totals (the same integers)."""
    if sum(t.areas for t in totals) < MIN_AREAS:
        return False
    households = np.sum([t.households for t in totals], axis=0)
    if int(np.count_nonzero(households)) < MIN_ORGANISATIONS:
        return False
    if sum(t.n for t in totals) < max(t.min_cell for t in totals):
        return False
    return not dominated([int(h) for h in households if h])


def shown_cells_of_atoms(cells: dict[str, list[Atom]], stats: dict[Atom, AtomTotals]) -> set[str]:
    """:func:`shown_cells` when every cell is a union of atoms (area type, police class) and
    every area lies in the atom of its own type and class, as in a benchmark: the same cells,
    computed from each atom's totals instead of each area (``stats`` holds the atoms that have
    areas; every household count is positive). The areas lying in the same shown cells are
    exactly those of the atoms that do, so the unions searched are the same."""

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
        involved = _search(shown, by_atom, _disclosed_totals)
        if involved is None:
            return set(shown)
        victim = min(
            involved,
            key=lambda key: (size[key], not key.startswith("police:"), key),
        )
        shown.remove(victim)
