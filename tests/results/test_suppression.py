"""Tests for survey_api.results.suppression (DESIGN.md, "Privacy (normative)")."""

from __future__ import annotations

import random

import pytest

from survey_api.results.suppression import (
    DEFAULT_MIN_CELL,
    MIN_CELL_FLOOR,
    effective_min_cell,
    primary_suppressed,
    suppress_breakdown,
)


def test_effective_min_cell_default_and_floor() -> None:
    assert effective_min_cell(None) == DEFAULT_MIN_CELL == 10
    assert effective_min_cell(15) == 15
    assert effective_min_cell(5) == 5
    assert effective_min_cell(3) == MIN_CELL_FLOOR == 5
    assert effective_min_cell(0) == 5
    assert effective_min_cell(-7) == 5


def test_primary_suppression() -> None:
    assert primary_suppressed(0, 10)
    assert primary_suppressed(9, 10)
    assert not primary_suppressed(10, 10)
    assert not primary_suppressed(250, 10)
    assert primary_suppressed(9, None)
    assert not primary_suppressed(10, None)
    # A setting below 5 is clamped: 4 is still suppressed, 5 is not.
    assert primary_suppressed(4, 2)
    assert not primary_suppressed(5, 2)


def test_nothing_hidden_when_all_groups_large() -> None:
    assert suppress_breakdown(60, {"16-29": 15, "30-64": 30, "65+": 15}, 10) == set()


def test_total_suppressed_hides_all_groups() -> None:
    assert suppress_breakdown(9, {"a": 5, "b": 4}, 10) == {"a", "b"}
    assert suppress_breakdown(0, {"a": 0, "b": 0}, 10) == {"a", "b"}
    # Clamped minimum: total 4 with setting 1 is still suppressed.
    assert suppress_breakdown(4, {"a": 4}, 1) == {"a"}


def test_single_hidden_group_triggers_secondary() -> None:
    # "65+" (n 4) alone would be 50 − 20 − 26 = 4; hide the next smallest ("16-29") too.
    groups = {"16-29": 20, "30-64": 26, "65+": 4}
    assert suppress_breakdown(50, groups, 10) == {"65+", "16-29"}


def test_secondary_ties_broken_by_mapping_order() -> None:
    groups = {"not_answered": 3, "x": 12, "y": 12, "z": 30}
    assert suppress_breakdown(57, groups, 10) == {"not_answered", "x"}
    groups = {"not_answered": 3, "y": 12, "x": 12, "z": 30}
    assert suppress_breakdown(57, groups, 10) == {"not_answered", "y"}


def test_two_primary_groups_need_no_secondary() -> None:
    # Only the sum 7 + 3 = 10 can be derived, not either group.
    groups = {"man": 25, "kvinna": 30, "annat": 3, "not_answered": 7}
    assert suppress_breakdown(65, groups, 10) == {"annat", "not_answered"}


def test_zero_group_alone_is_still_protected() -> None:
    # A hidden 0 would be derivable as 0 just like any other lone hidden group.
    groups = {"a": 0, "b": 40, "c": 12}
    assert suppress_breakdown(52, groups, 10) == {"a", "c"}


def test_hidden_groups_summing_to_zero_are_protected() -> None:
    # Two hidden zeros: total − shown = 0 reveals both are 0, so hide another group.
    groups = {"a": 0, "b": 0, "c": 40, "d": 12}
    assert suppress_breakdown(52, groups, 10) == {"a", "b", "d"}


def test_hidden_groups_summing_below_minimum_are_protected() -> None:
    # 65–79 (0) and 80+ (2) hidden: total − shown = 2 would publish their union as a cell of 2
    # (and, with 65–79 empty, the 80+ group itself), so one more group is hidden.
    groups = {"16-64": 40, "65-79": 0, "80+": 2, "not_answered": 14}
    assert suppress_breakdown(56, groups, 10) == {"65-79", "80+", "not_answered"}


def test_differencing_never_yields_a_small_aggregate() -> None:
    rng = random.Random(99)
    for _ in range(3000):
        groups = {
            f"g{i}": rng.choice([0, rng.randint(0, 12), rng.randint(0, 60)])
            for i in range(rng.randint(2, 7))
        }
        total = sum(groups.values())
        hidden = suppress_breakdown(total, groups, 10)
        if hidden and total >= 10:
            assert sum(groups[key] for key in hidden) >= 10


def test_suppressed_decision_same_whatever_true_small_n() -> None:
    # Hidden groups' pattern depends only on which groups are small, not on their values.
    patterns = {frozenset(suppress_breakdown(40 + k, {"a": k, "b": 40}, 10)) for k in range(1, 10)}
    patterns.add(frozenset(suppress_breakdown(40, {"a": 0, "b": 40}, 10)))
    assert patterns == {frozenset({"a", "b"})}


def test_single_group_breakdown() -> None:
    assert suppress_breakdown(30, {"only": 30}, 10) == set()


def test_rejects_negative_counts() -> None:
    with pytest.raises(ValueError):
        suppress_breakdown(10, {"a": -1, "b": 11}, 10)


def test_uses_default_when_setting_missing() -> None:
    assert suppress_breakdown(30, {"a": 9, "b": 10, "c": 11}, None) == {"a", "b"}


def test_differencing_attack_on_random_breakdowns() -> None:
    rng = random.Random(20240601)
    checked = 0
    for _ in range(5000):
        k = rng.randint(1, 7)
        min_cell = rng.choice([None, 1, 5, 10, 15])
        minimum = effective_min_cell(min_cell)
        groups = {
            f"g{i}": rng.choice([0, rng.randint(0, 12), rng.randint(0, 60)]) for i in range(k)
        }
        total = sum(groups.values())  # groups include "not answered", so they add up
        hidden = suppress_breakdown(total, groups, min_cell)
        shown = {key: n for key, n in groups.items() if key not in hidden}

        # Every small group is hidden; every shown group is large enough.
        assert all(key in hidden for key, n in groups.items() if n < minimum)
        assert all(n >= minimum for n in shown.values())

        if total < minimum:
            assert hidden == set(groups)
            continue
        # At most one secondary group beyond the primary ones.
        primary = {key for key, n in groups.items() if n < minimum}
        assert primary <= hidden
        assert len(hidden - primary) <= 1

        if not hidden:
            continue
        checked += 1
        # The attack: total − Σ shown gives the sum of the hidden groups.
        derived = total - sum(shown.values())
        assert derived == sum(groups[key] for key in hidden)
        # A lone hidden group would be disclosed exactly as total − Σ shown.
        assert len(hidden) >= 2
        # Hidden groups summing to 0 would each be disclosed as 0 (counts are non-negative).
        # With >= 2 hidden groups and a positive sum, each could be anything from 0 to the
        # sum as far as the attacker knows: only the sum is derivable.
        assert derived > 0
    assert checked > 500
