"""Turning a tallies file's counts into tally rows: the checks the counts must pass together
(``check_totals``) and the rows the fold would have written from them (``tally_rows``).

Split from imports/tallies.py, which reads the file and stores the import; the rules are in its
docstring. What is here needs no database: counts in, problems, notes and rows out.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from survey_api.imports.problems import Problems
from survey_api.questionnaires.definition import Item, QuestionnaireDefinition
from survey_api.results.fold import BASE_NON_SUBSTANTIVE, BASE_VALID

__all__ = ["ALL", "AreaCounts", "Reading", "check_totals", "respondents_with", "tally_rows"]

#: ``item`` = ALL: the area's respondents; ``option`` = ALL: a multi-choice item's respondents.
ALL = "*"


@dataclass
class AreaCounts:
    """What the file says about one area."""

    area_id: int
    code: str
    rows: int = 0
    respondents: tuple[int, int] | None = None  # (count, line)
    # item key -> option code (or ALL) -> (count, line)
    items: dict[str, dict[int | str, tuple[int, int]]] = field(
        default_factory=lambda: defaultdict(dict)
    )


@dataclass
class Reading:
    rows_read: int = 0
    encoding: str = ""
    problems: Problems = field(default_factory=Problems)
    areas: dict[int, AreaCounts] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _answers_to(item: Item, counts: dict[int | str, tuple[int, int]]) -> int | None:
    """Respondents who answered an item: the option counts' sum, or a multi-choice item's
    ``*`` row (None without it)."""
    if item.kind == "multi_choice":
        given = counts.get(ALL)
        return None if given is None else given[0]
    return sum(c for code, (c, _) in counts.items() if code != ALL)


def check_totals(reading: Reading, definition: QuestionnaireDefinition) -> None:
    """Counts that cannot come from one set of respondents, and the respondents' fallback."""
    estimated: list[str] = []
    for area in sorted(reading.areas.values(), key=lambda a: a.code):
        answered: dict[str, int] = {}
        for key, counts in area.items.items():
            item = definition.item(key)
            total = _answers_to(item, counts)
            if item.kind == "multi_choice":
                options = [(c, line) for code, (c, line) in counts.items() if code != ALL]
                exclusive = sum(
                    c for code, (c, _) in counts.items() if code != ALL and _exclusive(item, code)
                )
                if total is None:
                    total = max((c for c, _ in options), default=0)
                elif any(c > total for c, _ in options) or exclusive > total:
                    reading.problems.add(
                        counts[ALL][1],
                        "count",
                        str(total),
                        "inconsistent_counts",
                        f"fewer respondents answered '{key}' than ticked one of its options "
                        "(or its exclusive options together)",
                    )
            answered[key] = total or 0
        if area.respondents is None:
            area_total = max(answered.values(), default=0)
            estimated.append(area.code)
            area.respondents = (area_total, 0)
            continue
        respondents, line = area.respondents
        over = sorted(k for k, n in answered.items() if n > respondents)
        if over:
            reading.problems.add(
                line,
                "count",
                str(respondents),
                "inconsistent_counts",
                f"more answers to {', '.join(over)} than respondents of the area",
            )
    if estimated:
        reading.notes.append(
            "No respondents row (item '*') for "
            + ", ".join(estimated)
            + ": the number of respondents is taken as the largest number of answers to one "
            "item, which may be fewer than answered the survey."
        )
    missing = sorted(
        {
            key
            for area in reading.areas.values()
            for key, counts in area.items.items()
            if definition.item(key).kind == "multi_choice" and ALL not in counts
        }
    )
    if missing:
        reading.notes.append(
            "No row with option '*' (respondents who answered) for the multi-choice item(s) "
            + ", ".join(missing)
            + " in some areas: their option counts are stored, but their shares are "
            "unavailable there."
        )


def _exclusive(item: Item, code: int | str) -> bool:
    return isinstance(code, int) and item.option(code).exclusive


def respondents_with(
    item: Item, codes: set[int], counts: dict[int, int], answered: int | None
) -> int | None:
    """Respondents of a multi-choice item whose answer holds one of ``codes``, when option
    counts can tell it: with at most one non-exclusive code among them (exclusive options are
    ticked alone, so nobody is counted twice), or, given the respondents who answered, when
    every other option is exclusive (answered minus those who ticked only those). None
    otherwise: one respondent may have ticked several of the codes."""
    if sum(1 for code in codes if not item.option(code).exclusive) <= 1:
        return sum(counts.get(code, 0) for code in codes)
    others = [option for option in item.options if option.code not in codes]
    if answered is not None and all(option.exclusive for option in others):
        return answered - sum(counts.get(option.code, 0) for option in others)
    return None


class _Rows:
    """Tally rows of the whole area (breakdown ''), as the fold writes them."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        self.area_id = 0

    def put(
        self, measure: str, key: str, code: int, count: int, total: float = 0.0, sq: float = 0.0
    ) -> None:
        # The fold writes only the slots something was added to: so do we.
        if count > 0:
            self.rows.append(
                dict(
                    area_id=self.area_id,
                    breakdown_item="",
                    breakdown_code=0,
                    measure=measure,
                    measure_key=key,
                    code=code,
                    count=count,
                    total=total,
                    total_sq=sq,
                )
            )


def tally_rows(definition: QuestionnaireDefinition, reading: Reading) -> list[dict[str, Any]]:
    out = _Rows()
    for area in reading.areas.values():
        out.area_id = area.area_id
        assert area.respondents is not None
        out.put("respondents", "", 0, area.respondents[0])
        for key, given in area.items.items():
            item = definition.item(key)
            counts = {code: c for code, (c, _) in given.items() if isinstance(code, int)}
            for code, count in counts.items():
                out.put("option", key, code, count)
            if item.kind == "multi_choice":
                answered = given[ALL][0] if ALL in given else None
                _multi_choice(definition, item, counts, answered, out)
                continue
            valid = 0
            total = total_sq = 0.0
            non_substantive = 0
            for option in item.options:
                count = counts.get(option.code, 0)
                if option.is_substantive:
                    score = 0.0 if option.score is None else float(option.score)
                    valid += count
                    total += score * count
                    total_sq += score * score * count
                else:
                    non_substantive += count
            out.put("base", key, BASE_VALID, valid, total, total_sq)
            out.put("base", key, BASE_NON_SUBSTANTIVE, non_substantive)
            for indicator in definition.indicators:
                if indicator.item == key:
                    out.put(
                        "indicator",
                        indicator.key,
                        0,
                        sum(counts.get(c, 0) for c in indicator.codes),
                    )
    return out.rows


def _multi_choice(
    definition: QuestionnaireDefinition,
    item: Item,
    counts: dict[int, int],
    answered: int | None,
    out: _Rows,
) -> None:
    if answered is None:
        return  # shares unavailable (the results say so): no base, no respondents counts
    non_substantive = [o for o in item.options if not o.is_substantive]
    if not all(o.exclusive for o in non_substantive):
        return  # a non-exclusive "don't know" may be ticked beside others: n is unknown
    ns_count = sum(counts.get(o.code, 0) for o in non_substantive)
    out.put("base", item.key, BASE_VALID, answered - ns_count)
    out.put("base", item.key, BASE_NON_SUBSTANTIVE, ns_count)
    if item.favourable:
        x = respondents_with(item, set(item.favourable), counts, answered)
        if x is not None:
            out.put("favourable", item.key, 0, x)
    for indicator in definition.indicators:
        if indicator.item == item.key:
            x = respondents_with(item, set(indicator.codes), counts, answered)
            if x is not None:
                out.put("indicator", indicator.key, 0, x)
