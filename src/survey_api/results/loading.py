"""Loading a round: folding it and reading its tallies into a RoundData."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

from sqlalchemy.orm import Session

from survey_api.exceptions import Conflict, ValidationFailed
from survey_api.models import SurveyRound
from survey_api.organisations import service as organisations_service
from survey_api.questionnaires import service as questionnaires_service
from survey_api.questionnaires.definition import (
    Item,
    QuestionnaireDefinition,
)
from survey_api.responses import pending
from survey_api.results import queries
from survey_api.results.cells import (
    REASON_BREAKDOWN,
    counts_only_gap,
    mean_sums,
    share_counts,
    valid_n,
)
from survey_api.results.fold import FoldResult, fold_round
from survey_api.results.queries import AreaInfo, CellTally, Sums
from survey_api.results.suppression import shown_count
from survey_api.results.targets import Target, _has_mean_target, _has_share, _measure_keys
from survey_api.rounds import service as rounds_service

_EMPTY = CellTally()


@dataclass(frozen=True, slots=True)
class _AreaStats:
    n: int
    x: int
    sums: Sums | None
    households: int | None


@dataclass
class RoundData:
    """A round folded and loaded: everything its figures are computed from, in O(cells)."""

    survey_round: SurveyRound
    definition: QuestionnaireDefinition
    as_of: datetime
    min_cell: int
    areas: list[AreaInfo]
    invitations: dict[int, int]
    tallies: dict[tuple[int, int], CellTally]
    by: Item | None = None
    breakdown: dict[tuple[int, int], CellTally] = field(default_factory=dict)
    # Whole-area statistics per target, computed once and shared by every pooled group.
    _area_stats: dict[Target, dict[int, _AreaStats]] = field(default_factory=dict, repr=False)

    @cached_property
    def area_by_id(self) -> dict[int, AreaInfo]:
        """The round's areas by id."""
        return {area.id: area for area in self.areas}

    def area_stats(self, target: Target) -> dict[int, _AreaStats]:
        """Per area: the target's valid n, share count x (share targets) and sums (means)."""
        stats = self._area_stats.get(target)
        if stats is None:
            stats = self._area_stats[target] = {}
            share = _has_share(self.definition, target)
            mean = _has_mean_target(self.definition, target)
            for area in self.areas:
                cell = self.cell(area.id)
                stats[area.id] = _AreaStats(
                    n=valid_n(self.definition, target, cell),
                    x=share_counts(self.definition, target, cell)[0] if share else 0,
                    sums=mean_sums(self.definition, target, cell) if mean else None,
                    households=area.households,
                )
        return stats

    @property
    def counts_only(self) -> bool:
        """Whether the round holds only imported answer counts (source imported_tallies)."""
        return self.survey_round.source == "imported_tallies"

    def unavailable(self, target: Target, area_ids: Collection[int]) -> str | None:
        """Why the target's headline figure cannot be computed in one of these areas (a round
        of answer counts only), or None. Checked before suppression, so an unavailable area is
        never passed off as a small one."""
        if not self.counts_only:
            return None
        if target.kind == "index":
            return counts_only_gap(self.definition, target, _EMPTY)
        for area_id in area_ids:
            reason = counts_only_gap(self.definition, target, self.cell(area_id))
            if reason is not None:
                return reason
        return None

    def cell(self, area_id: int) -> CellTally:
        """An area's whole-area tallies."""
        return self.tallies.get((area_id, 0), _EMPTY)

    def group_cell(self, area_id: int, code: int) -> CellTally:
        """An area's tallies for one breakdown group (code -1: not answered)."""
        return self.breakdown.get((area_id, code), _EMPTY)

    @property
    def breakdown_codes(self) -> list[int]:
        """The breakdown groups in order: the background item's codes, then -1."""
        return [] if self.by is None else [*self.by.codes, -1]


def min_cell_of(session: Session, organisation_id: int) -> int:
    """The organisation's effective minimum cell size (default 10, never below 5)."""
    return organisations_service.min_cell_size(session, organisation_id)


def round_year(survey_round: SurveyRound) -> int:
    return int(survey_round.period[:4])


def _background_item(definition: QuestionnaireDefinition, by: str) -> Item:
    item = definition.items_by_key.get(by)
    if item is None or not item.background:
        keys = ", ".join(i.key for i in definition.background_items) or "none"
        raise ValidationFailed(
            f"by={by!r} is not a background item of this round's questionnaire "
            f"(background items: {keys})",
            errors=[{"loc": ["query", "by"], "msg": "not a background item", "type": "by"}],
        )
    return item


@dataclass(frozen=True, slots=True)
class RoundHeader:
    """What a round's figures depend on besides its tallies, read with a few cheap queries."""

    survey_round: SurveyRound
    definition: QuestionnaireDefinition
    folded: FoldResult
    areas: list[AreaInfo]
    invitations: dict[int, int]
    min_cell: int
    pending: int

    @property
    def shown_pending(self) -> int | None:
        """The waiting code answers as a payload shows them: None below the minimum cell."""
        return shown_count(self.pending, self.min_cell)


def load_header(
    session: Session, organisation_id: int, round_id: int, *, min_cell: int | None = None
) -> RoundHeader:
    """Fold a round's new responses and read its areas, invitations and minimum cell size."""
    survey_round = rounds_service.get_round(session, organisation_id, round_id)
    definition = questionnaires_service.published_definition(
        session, survey_round.questionnaire_version_id
    )
    waiting = pending.waiting_count(session, round_id)
    if waiting and rounds_service.status_of(survey_round) == "closed":
        # A round that closed by its date: the code answers still waiting join it now.
        pending.release_all(session, round_id)
        waiting = 0
    folded = fold_round(session, round_id, definition)
    if folded.folded:
        # Folding took the round's exclusive lock, which holds back every submission to the
        # round until this transaction ends: end it now, not after the caller has built a
        # payload from the tallies (what it read so far, and a release of pending answers
        # above, would be committed at the end of the request anyway).
        session.commit()
    return RoundHeader(
        survey_round=survey_round,
        definition=definition,
        pending=waiting,
        folded=folded,
        areas=queries.areas_of_round(session, round_id, round_year(survey_round)),
        invitations=queries.invitations_issued(session, round_id),
        min_cell=min_cell_of(session, organisation_id) if min_cell is None else min_cell,
    )


def load_round(
    session: Session,
    organisation_id: int,
    round_id: int,
    *,
    by: str | None = None,
    targets: Collection[Target] | None = None,
    measure_keys: Collection[str] | None = None,
    min_cell: int | None = None,
    header: RoundHeader | None = None,
) -> RoundData:
    """Fold a round's new responses, then load its tallies and the breakdown by background
    item ``by`` (a caller that already read the round's ``header`` passes it in).

    ``targets`` limits the tallies read to what those targets need (an indicator also needs
    its item's base); they must be in the round's questionnaire. ``measure_keys`` does the
    same with raw tally keys. The default reads every item, indicator and index.
    """
    if header is None:
        header = load_header(session, organisation_id, round_id, min_cell=min_cell)
    definition = header.definition
    by_item = None if by is None else _background_item(definition, by)
    if by_item is not None and header.survey_round.source == "imported_tallies":
        raise Conflict(f"by={by}: {REASON_BREAKDOWN}")
    area_ids = [area.id for area in header.areas]
    keys = None
    if targets is not None or measure_keys is not None:
        keys = {"", *(measure_keys or ())}  # "": the respondents count
        for target in targets or ():
            keys |= _measure_keys(definition, target)
    return RoundData(
        survey_round=header.survey_round,
        definition=definition,
        as_of=header.folded.as_of,
        min_cell=header.min_cell,
        areas=header.areas,
        invitations=header.invitations,
        tallies=queries.load_tallies(session, round_id, area_ids, measure_keys=keys),
        by=by_item,
        breakdown=(
            {}
            if by_item is None
            else queries.load_tallies(
                session, round_id, area_ids, breakdown_item=by_item.key, measure_keys=keys
            )
        ),
    )
