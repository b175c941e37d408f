"""Small-cell suppression (DESIGN.md, "Privacy (normative)").

A cell whose valid base n is below the organisation's minimum cell size shows no counts, shares,
means or intervals — only ``suppressed: true``. The minimum defaults to 10 and is never below 5.
Callers must render every suppressed cell identically whatever its true n (0 included): this
module only decides *which* cells are hidden and never exposes why.

Breakdowns (one background variable) additionally get secondary suppression, see
:func:`suppress_breakdown`.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import TypeVar

__all__ = [
    "DEFAULT_MIN_CELL",
    "MIN_CELL_FLOOR",
    "effective_min_cell",
    "primary_suppressed",
    "shown_count",
    "suppress_breakdown",
]

#: Minimum valid n per cell when the organisation has not set one.
DEFAULT_MIN_CELL = 10
#: The minimum can never be configured lower than this.
MIN_CELL_FLOOR = 5

K = TypeVar("K", bound=Hashable)


def effective_min_cell(setting: int | None) -> int:
    """The minimum cell size actually applied: the setting (default 10), never below 5."""
    if setting is None:
        return DEFAULT_MIN_CELL
    return max(setting, MIN_CELL_FLOOR)


def primary_suppressed(n: int, min_cell: int | None) -> bool:
    """True when a cell with valid base ``n`` must be hidden: n < effective minimum.

    ``min_cell`` is clamped through :func:`effective_min_cell`, so a misconfigured value below 5
    can never weaken suppression. n == 0 is suppressed like any other small n.
    """
    return n < effective_min_cell(min_cell)


def shown_count(n: int, min_cell: int | None) -> int | None:
    """A count as shown: itself, or None (suppressed) when below the minimum, 0 included.

    For round-wide counts that can be a small cell, such as the code answers waiting to join a
    batch: in a round of one or a few areas a handful of them is a handful of respondents.
    """
    return None if primary_suppressed(n, min_cell) else n


def suppress_breakdown(total_n: int, group_ns: Mapping[K, int], min_cell: int | None) -> set[K]:
    """Keys of the groups of a breakdown that must be hidden.

    ``total_n`` is the valid base of the whole cell (shown alongside the breakdown) and
    ``group_ns`` the valid base of each group, in a deterministic order. The groups may include
    a "not answered" group so that they add up to the total; they need not (then derivation is
    only harder, and the same rule is applied anyway).

    Rule:

    1. If the total itself is suppressed (total_n < minimum), every group is hidden.
    2. Primary: every group with n < minimum is hidden (n == 0 included).
    3. Secondary: the hidden groups must not be individually derivable from
       total − Σ(shown groups). They are when

       * exactly one group is hidden: its n *is* that difference. A lone hidden group with
         n == 0 is just as derivable (as 0), and since a suppressed cell must look the same
         whatever its n, it gets the same treatment; or
       * the hidden groups add up to less than the minimum: total − Σ(shown) then publishes
         their union as a small cell (its n and, option by option, its distribution), and a
         hidden group whose companions are empty (0 included) is disclosed outright. A sum of 0
         is the extreme case: counts are non-negative, so each hidden group is known to be 0.

       In either case the smallest shown group is hidden as well (ties broken by position in
       ``group_ns``). That group has n >= minimum, so one secondary group always suffices.

    With two or more hidden groups adding up to at least the minimum, only their *sum* can be
    derived, and that sum is itself a publishable cell; that is the accepted level of
    protection (standard secondary suppression).
    The rule protects one breakdown against its own total; combining several breakdowns of the
    same total, or bounds reasoning beyond non-negativity, is not covered.
    """
    if total_n < 0 or any(n < 0 for n in group_ns.values()):
        raise ValueError("counts must be non-negative")
    minimum = effective_min_cell(min_cell)
    if total_n < minimum:
        return set(group_ns)

    hidden = {key for key, n in group_ns.items() if n < minimum}
    while hidden and (len(hidden) == 1 or sum(group_ns[key] for key in hidden) < minimum):
        shown = [
            (n, position, key)
            for position, (key, n) in enumerate(group_ns.items())
            if key not in hidden
        ]
        if not shown:
            break
        _, _, next_smallest = min(shown, key=lambda item: (item[0], item[1]))
        hidden.add(next_smallest)
    return hidden
