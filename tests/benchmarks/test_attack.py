"""An organisation that knows its own areas' figures attacks the benchmark.

The attacker (A) reads every cell of two periods, with itself opted in and opted out, and is
granted more than the API gives: every area's household count H and exactly which areas are
behind each shown cell. A shown cell then is a linear equation Σ_{a ∈ S} H_a·p_a = H_S·value in
the unknown per-area figures, and A's own areas are known outright. What A can recover is
exactly the row space of those equations (numpy, independent of the app's code): it must not
contain another organisation's single area, or any set of one other organisation's areas (its
total in a cell or overall).
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import combinations

import numpy as np
import pytest

from tests.benchmarks.support import CELLS, Company, benchmark, company, fresh_period
from tests.conftest import Org

# organisation -> (code, area type, police class, households) per area
AREAS: dict[str, list[tuple[str, int, str, int]]] = {
    "A": [
        ("a1", 1, "sarskilt_utsatt", 800),
        ("a2", 1, "utsatt", 600),
        ("a3", 2, "utsatt", 500),
        ("a4", 3, "none", 700),
        ("a5", 4, "none", 400),
    ],
    "B": [
        ("b1", 1, "sarskilt_utsatt", 700),
        ("b2", 1, "utsatt", 500),
        ("b3", 2, "none", 600),
        ("b4", 3, "none", 500),
    ],
    "C": [
        ("c1", 1, "utsatt", 600),
        ("c2", 2, "utsatt", 400),
        ("c3", 2, "none", 500),
        ("c4", 3, "none", 600),
        ("c5", 4, "none", 300),
    ],
    "D": [
        ("d1", 1, "sarskilt_utsatt", 500),
        ("d2", 2, "risk", 400),
        ("d3", 3, "none", 800),
        ("d4", 4, "none", 600),
    ],
    "E": [
        ("e1", 1, "utsatt", 300),
        ("e2", 3, "none", 400),
        ("e3", 4, "none", 500),
        ("e4", 2, "risk", 450),
    ],
}
# (x unsafe, n) per area and period; e4 is below E's minimum cell (10) in the first period,
# D and b3 take no part in the second.
COUNTS: list[dict[str, tuple[int, int]]] = [
    {
        **{"a1": (9, 20), "a2": (7, 18), "a3": (4, 15), "a4": (3, 22), "a5": (6, 14)},
        **{"b1": (11, 21), "b2": (5, 16), "b3": (8, 19), "b4": (2, 17)},
        **{"c1": (6, 13), "c2": (9, 24), "c3": (3, 11), "c4": (7, 25), "c5": (4, 12)},
        **{"d1": (12, 23), "d2": (5, 10), "d3": (1, 15), "d4": (8, 20)},
        **{"e1": (4, 14), "e2": (6, 18), "e3": (5, 16), "e4": (2, 6)},
    },
    {
        **{"a1": (8, 21), "a2": (6, 17), "a3": (5, 14), "a4": (4, 20), "a5": (5, 15)},
        **{"b1": (10, 22), "b2": (6, 15), "b4": (3, 18)},
        **{"c1": (5, 12), "c2": (8, 23), "c3": (4, 12), "c4": (6, 24), "c5": (3, 13)},
        **{"e1": (5, 15), "e2": (5, 17), "e3": (6, 15), "e4": (4, 12)},
    },
]


def _organisation(code: str) -> str:
    return code[0].upper()


# A police class inside an area type, one area short of it: type 1 minus utsatt is B's b2.
NESTED: dict[str, list[tuple[str, int, str, int]]] = {
    "A": [("a1", 1, "utsatt", 500), ("a2", 1, "utsatt", 500), ("a3", 3, "none", 600)],
    "B": [("b1", 1, "utsatt", 500), ("b2", 1, "sarskilt_utsatt", 400), ("b3", 3, "none", 500)],
    "C": [("c1", 1, "utsatt", 500), ("c2", 3, "none", 400)],
    "D": [("d1", 1, "utsatt", 600), ("d2", 3, "none", 500), ("d3", 3, "none", 300)],
}
NESTED_COUNTS: list[dict[str, tuple[int, int]]] = [
    {
        **{"a1": (5, 20), "a2": (8, 18), "a3": (3, 15)},
        **{"b1": (9, 22), "b2": (12, 16), "b3": (4, 19)},
        **{"c1": (6, 14), "c2": (2, 12)},
        **{"d1": (7, 21), "d2": (5, 13), "d3": (3, 11)},
    },
    {
        **{"a1": (4, 19), "a2": (7, 17), "a3": (4, 16)},
        **{"b1": (8, 20), "b2": (11, 15), "b3": (5, 18)},
        **{"c1": (5, 15), "c2": (3, 13)},
    },
]


def _cell_members(
    layout: dict[str, list[tuple[str, int, str, int]]],
    key: str,
    counts: dict[str, tuple[int, int]],
    present: set[str],
) -> list[str]:
    """The areas behind a cell: the cell's areas of organisations taking part, shown to their
    own organisation (n at least 10)."""
    kind, _, value = key.partition(":")
    members = []
    for org, areas in layout.items():
        if org not in present:
            continue
        for code, area_type, police, _ in areas:
            if code not in counts or counts[code][1] < 10:
                continue
            if (kind == "area_type" and str(area_type) == value) or (
                kind == "police" and police == value
            ):
                members.append(code)
    return members


def _households(layout: dict[str, list[tuple[str, int, str, int]]]) -> dict[str, int]:
    return {code: h for areas in layout.values() for code, _, _, h in areas}


def _pooled(
    members: list[str], counts: dict[str, tuple[int, int]], households: dict[str, int]
) -> float:
    h = np.array([households[c] for c in members], dtype=float)
    p = np.array([counts[c][0] / counts[c][1] for c in members])
    return float(np.sum(h * p) / h.sum())


def _in_row_space(rows: np.ndarray, vector: np.ndarray) -> bool:
    if rows.size == 0:
        return False
    solution = np.linalg.lstsq(rows.T, vector, rcond=None)[0]
    return bool(np.allclose(rows.T @ solution, vector, atol=1e-9))


@pytest.mark.parametrize(
    ("layout", "plan"), [(AREAS, COUNTS), (NESTED, NESTED_COUNTS)], ids=["overlapping", "nested"]
)
def test_an_organisation_recovers_nothing_by_differencing(
    make_org: Callable[[], Org],
    layout: dict[str, list[tuple[str, int, str, int]]],
    plan: list[dict[str, tuple[int, int]]],
) -> None:
    periods = [fresh_period(), fresh_period()]
    households = _households(layout)
    companies: dict[str, Company] = {}
    for org, areas in layout.items():
        made = company(make_org())
        for code, area_type, police, size in areas:
            made.area(code, area_type, police, size)
        companies[org] = made
    for period, counts in zip(periods, plan, strict=True):
        for org, made in companies.items():
            mine = {code: counts[code] for code, *_ in layout[org] if code in counts}
            if mine:
                made.round(period, mine)

    attacker = companies["A"]
    codes = sorted(c for areas in layout.values() for c, *_ in areas)
    column = {code: i for i, code in enumerate(codes)}
    shown_any = 0
    for period, counts in zip(periods, plan, strict=True):
        equations: list[np.ndarray] = []
        views = {}
        for opted_in in (True, False):
            attacker.opt(opted_in)
            present = {org for org in layout if org != "A" or opted_in}
            body = benchmark(attacker.org.analyst, period)
            views[opted_in] = body["cells"]
            for key in CELLS:
                cell = body["cells"][key]
                if cell == {"suppressed": True}:
                    continue
                shown_any += 1
                members = _cell_members(layout, key, counts, present)
                organisations = {_organisation(c) for c in members}
                # What the API says is behind the cell is what is behind it.
                assert cell["value"] == pytest.approx(
                    _pooled(members, counts, households), abs=1e-12
                )
                assert (cell["organisations"], cell["areas"]) == (len(organisations), len(members))
                assert len(organisations) >= 3 and len(members) >= 5
                weight = {o: 0 for o in organisations}
                for c in members:
                    weight[_organisation(c)] += households[c]
                assert max(weight.values()) <= 0.5 * sum(weight.values())
                row = np.zeros(len(codes))
                for c in members:
                    row[column[c]] = 1.0
                equations.append(row)
        attacker.opt(True)
        # Opting out never turns a shown cell into one of one or two organisations.
        for key in CELLS:
            if not views[True][key]["suppressed"] and not views[False][key]["suppressed"]:
                assert views[False][key]["organisations"] >= 3
                assert views[False][key]["organisations"] == views[True][key]["organisations"] - (
                    1
                    if any(
                        _organisation(c) == "A"
                        for c in _cell_members(layout, key, counts, set(layout))
                    )
                    else 0
                )
        # The attacker knows its own areas outright.
        for code, *_ in layout["A"]:
            row = np.zeros(len(codes))
            row[column[code]] = 1.0
            equations.append(row)
        rows = np.array(equations)
        for victim in sorted(set(layout) - {"A"}):
            mine = [c for c, *_ in layout[victim] if c in counts]
            for size in range(1, len(mine) + 1):
                for subset in combinations(mine, size):
                    target = np.zeros(len(codes))
                    for c in subset:
                        target[column[c]] = 1.0
                    assert not _in_row_space(rows, target), (period, victim, subset)
    # The attack had something to work with.
    assert shown_any >= 4
