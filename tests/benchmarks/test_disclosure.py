"""Disclosure control: each rule on its own hides a benchmark cell, and a hidden cell is the
same bytes whatever the reason."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from survey_api.benchmarks.disclosure import Contribution, disclosed, shown_cells
from tests.benchmarks.support import CELLS, INDICATOR, cell_bytes, company, fresh_period
from tests.conftest import Org

SUPPRESSED = b'{"suppressed":true}'


def test_each_rule_alone_hides_a_cell_identically(make_org: Callable[[], Org]) -> None:
    period = fresh_period()
    a, b, c = (company(make_org()) for _ in range(3))
    # (area type, households, x, n) per area, by organisation.
    plan = [
        (
            a,
            [(1, 500, 3, 12), (1, 500, 5, 12)]  # type 1: shown (3 orgs, 5 areas, 40 %)
            + [(2, 500, 4, 12)] * 3  # type 2: two organisations only
            + [(3, 500, 6, 12)] * 2  # type 3: four areas only
            + [(4, 500, 2, 12)] * 2  # type 4: c's areas are below c's minimum cell
            + [(5, 1200, 7, 12)],
        ),  # type 5: a carries 60 % of the households
        (
            b,
            [(1, 500, 1, 12)] * 2
            + [(2, 500, 9, 12)] * 3
            + [(3, 500, 2, 12)]
            + [(4, 500, 3, 12)] * 2
            + [(5, 200, 5, 12)] * 2,
        ),
        (c, [(1, 500, 8, 12)] + [(3, 500, 4, 12)] + [(4, 500, 1, 9)] * 2 + [(5, 200, 3, 12)] * 2),
    ]
    for made, areas in plan:
        counts = {}
        for i, (area_type, households, x, n) in enumerate(areas):
            made.area(f"x{i}", area_type, "utsatt" if area_type == 1 else "none", households)
            counts[f"x{i}"] = (x, n)
        made.round(period, counts)

    response = a.org.analyst.get(
        "/api/v1/benchmarks", params={"period": period, "indicator": INDICATOR}
    )
    assert response.status_code == 200, response.text
    cells = response.json()["cells"]
    shown = cells["area_type:1"]
    assert shown["suppressed"] is False
    assert (shown["organisations"], shown["areas"], shown["n"]) == (3, 5, 60)
    for key in ("area_type:2", "area_type:3", "area_type:4", "area_type:5"):
        assert cells[key] == {"suppressed": True}, key
        assert cell_bytes(response, key) == SUPPRESSED, key
    # Police class utsatt holds exactly the type-1 areas: the same figure.
    assert cells["police:utsatt"] == shown
    for key in CELLS:
        if cells[key]["suppressed"]:
            assert cell_bytes(response, key) == SUPPRESSED
    # A cell nobody has any area in looks the same as the others.
    assert cell_bytes(response, "police:sarskilt_utsatt") == SUPPRESSED


def _areas(*spec: tuple[int, int, int, int]) -> list[Contribution]:
    """(organisation, households, n, minimum cell) per area."""
    return [
        Contribution(
            organisation_id=org,
            area_id=i,
            households=households,
            n=n,
            x=0,
            total=0.0,
            total_sq=0.0,
            min_cell=min_cell,
        )
        for i, (org, households, n, min_cell) in enumerate(spec)
    ]


BASE = [(1, 100, 10, 10), (1, 100, 10, 10), (2, 100, 10, 10), (2, 100, 10, 10), (3, 100, 10, 10)]


@pytest.mark.parametrize(
    ("spec", "shown"),
    [
        (BASE, True),
        ([(1, 100, 10, 10)] * 3 + [(2, 100, 10, 10)] * 3, False),  # two organisations
        (BASE[:2] + BASE[3:], False),  # four areas
        # Valid n 50 below the largest contributor's minimum cell (60) on its own.
        (BASE[:4] + [(3, 100, 10, 60)], False),
        (BASE[:4] + [(3, 100, 50, 60)], True),
        # 300 of 500 households: 60 %.
        (
            [
                (1, 150, 10, 10),
                (1, 150, 10, 10),
                (2, 100, 10, 10),
                (3, 50, 10, 10),
                (3, 50, 10, 10),
            ],
            False,
        ),
        # Exactly 50 % is not more than half.
        (
            [
                (1, 125, 10, 10),
                (1, 125, 10, 10),
                (2, 100, 10, 10),
                (3, 100, 10, 10),
                (3, 50, 10, 10),
            ],
            True,
        ),
        # The two largest carry 980 of 1000 households (98 %), neither more than half: a near
        # 50/50 split with a sliver of a third organisation.
        (
            [
                (1, 245, 10, 10),
                (1, 245, 10, 10),
                (2, 245, 10, 10),
                (2, 245, 10, 10),
                (3, 20, 10, 10),
            ],
            False,
        ),
        # Exactly 85 % for the two largest (250 + 175 of 500) is allowed.
        (
            [
                (1, 125, 10, 10),
                (1, 125, 10, 10),
                (2, 100, 10, 10),
                (2, 75, 10, 10),
                (3, 75, 10, 10),
            ],
            True,
        ),
    ],
)
def test_the_rules_one_by_one(spec: list[tuple[int, int, int, int]], shown: bool) -> None:
    assert disclosed(_areas(*spec)) is shown


def _placed(
    spec: list[tuple[int, int, int, int]], area_type: int, police: str, first: int
) -> list[Contribution]:
    return [
        Contribution(
            organisation_id=org,
            area_id=first + i,
            households=households,
            n=n,
            x=0,
            total=0.0,
            total_sq=0.0,
            min_cell=min_cell,
            area_type=area_type,
            police=police,
        )
        for i, (org, households, n, min_cell) in enumerate(spec)
    ]


def test_a_cell_nested_in_another_is_hidden_when_the_difference_could_not_be_shown() -> None:
    inner = _placed(BASE, 1, "utsatt", 0)
    lone = _placed([(4, 100, 10, 10)], 1, "none", 100)
    # Area type 1 minus police class utsatt is organisation 4's single area.
    cells = {"area_type:1": inner + lone, "police:utsatt": inner, "police:none": lone}
    assert disclosed(cells["area_type:1"]) and disclosed(inner)
    assert shown_cells(cells) == {"area_type:1"}
    # With a difference that passes on its own, both stay.
    rest = _placed([(o, 100, 10, 10) for o in (4, 5, 6, 4, 5)], 1, "none", 100)
    cells = {"area_type:1": inner + rest, "police:utsatt": inner, "police:none": rest}
    assert shown_cells(cells) == {"area_type:1", "police:utsatt", "police:none"}


def test_sums_and_differences_of_several_cells_are_audited() -> None:
    # Four atoms in a 2 × 2 grid: no atom follows from the four cells, all shown.
    grid = {
        (t, p): _placed(BASE, t, p, 10 * i)
        for i, (t, p) in enumerate([(1, "none"), (1, "risk"), (2, "none"), (2, "risk")])
    }
    cells = {
        "area_type:1": grid[(1, "none")] + grid[(1, "risk")],
        "area_type:2": grid[(2, "none")] + grid[(2, "risk")],
        "police:none": grid[(1, "none")] + grid[(2, "none")],
        "police:risk": grid[(1, "risk")] + grid[(2, "risk")],
    }
    assert shown_cells(cells) == set(cells)
    # Type 2 holds only police class risk, which also has the atom (1, risk) of two
    # organisations: risk − type 2 reveals it, and type 1 − none does too.
    small = _placed([(1, 50, 10, 10), (2, 50, 10, 10)], 1, "risk", 100)
    cells = {
        "area_type:1": grid[(1, "none")] + small,
        "area_type:2": grid[(2, "risk")],
        "police:none": grid[(1, "none")],
        "police:risk": small + grid[(2, "risk")],
    }
    shown = shown_cells(cells)
    assert all(disclosed(cells[key]) for key in cells)
    assert not {"area_type:1", "police:none"} <= shown
    assert not {"area_type:2", "police:risk"} <= shown


def test_any_role_reads_the_benchmark(org: Org) -> None:
    for client in (org.admin, org.analyst, org.integrator):
        response = client.get(
            "/api/v1/benchmarks", params={"period": "2026", "indicator": INDICATOR}
        )
        assert response.status_code == 200, response.text


def test_without_a_key_it_is_401(anonymous: httpx.Client) -> None:
    response = anonymous.get(
        "/api/v1/benchmarks", params={"period": "2026", "indicator": INDICATOR}
    )
    assert response.status_code == 401
