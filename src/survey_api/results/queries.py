"""The SQL behind results: tallies, invitations, classifications and rounds (no statistics)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from survey_api.models import (
    Area,
    AreaClassification,
    Invitation,
    SurveyRound,
    SurveyRoundArea,
)
from survey_api.results import tally_store

__all__ = [
    "AreaInfo",
    "CellTally",
    "Sums",
    "areas_of_round",
    "invitations_issued",
    "load_tallies",
    "rounds_of_organisation",
]


@dataclass(frozen=True, slots=True)
class Sums:
    """count, Σ value and Σ value² of one tally slot."""

    count: int = 0
    total: float = 0.0
    total_sq: float = 0.0


_ZERO = (0, 0.0, 0.0)


@dataclass(slots=True)
class CellTally:
    """The tally slots of one area (× one breakdown group): (measure, key, code) ->
    (count, Σ, Σ²)."""

    slots: dict[tuple[str, str, int], tuple[int, float, float]] = field(default_factory=dict)

    def get(self, measure: str, key: str, code: int = 0) -> Sums:
        """The sums of a slot; zeros when nothing was tallied there."""
        return Sums(*self.slots.get((measure, key, code), _ZERO))

    def count(self, measure: str, key: str, code: int = 0) -> int:
        """The count of a slot."""
        found = self.slots.get((measure, key, code))
        return 0 if found is None else found[0]


def load_tallies(
    session: Session,
    round_id: int,
    area_ids: Sequence[int],
    *,
    breakdown_item: str = "",
    measure_keys: Collection[str] | None = None,
) -> dict[tuple[int, int], CellTally]:
    """Tallies of a round keyed by (area_id, breakdown_code); code 0 for the whole area.

    One block per area (and breakdown group) is read, so the cost is the number of groups
    read, whatever the number of responses.
    """
    result: dict[tuple[int, int], CellTally] = defaultdict(CellTally)
    wanted = None if measure_keys is None else set(measure_keys)
    for area_id, code, slots in tally_store.read_blocks(
        session, round_id, area_ids, breakdown_item
    ):
        if wanted is not None:
            slots = {slot: sums for slot, sums in slots.items() if slot[1] in wanted}
        result[(area_id, code)].slots.update(slots)
    return result


def invitations_issued(session: Session, round_id: int) -> dict[int, int]:
    """Invitation codes issued per area of a round."""
    return {
        area_id: count
        for area_id, count in session.execute(
            select(Invitation.area_id, func.count())
            .where(Invitation.survey_round_id == round_id)
            .group_by(Invitation.area_id)
        )
    }


@dataclass(frozen=True, slots=True)
class AreaInfo:
    """An area as results need it, with its classification for the round's year."""

    id: int
    code: str
    name: str
    households: int | None
    area_type: int | None
    police_classification: str | None
    classification_year: int | None


def areas_of_round(session: Session, round_id: int, year: int) -> list[AreaInfo]:
    """A round's areas by id, each with the classification of ``year`` (else the latest earlier
    one)."""
    areas = session.execute(
        select(Area.id, Area.code, Area.name, Area.households)
        .join(SurveyRoundArea, SurveyRoundArea.area_id == Area.id)
        .where(SurveyRoundArea.survey_round_id == round_id)
        .order_by(Area.id)
    ).all()
    classification: dict[int, tuple[int | None, str | None, int | None]] = {}
    if areas:
        # Ascending year, so the latest year not after the round's wins.
        for area_id, area_type, police, class_year in session.execute(
            select(
                AreaClassification.area_id,
                AreaClassification.area_type,
                AreaClassification.police_classification,
                AreaClassification.year,
            )
            .where(
                AreaClassification.area_id.in_([a.id for a in areas]),
                AreaClassification.year <= year,
            )
            .order_by(AreaClassification.area_id, AreaClassification.year)
        ):
            classification[area_id] = (area_type, police, class_year)
    infos = []
    for area_id, code, name, households in areas:
        found = classification.get(area_id, (None, None, None))
        infos.append(
            AreaInfo(
                id=area_id,
                code=code,
                name=name,
                households=households,
                area_type=found[0],
                police_classification=found[1],
                classification_year=found[2],
            )
        )
    return infos


def rounds_of_organisation(
    session: Session, organisation_id: int, *, area_id: int | None = None
) -> list[SurveyRound]:
    """The organisation's rounds in period order (then id); only those covering ``area_id``."""
    query = select(SurveyRound).where(SurveyRound.organisation_id == organisation_id)
    if area_id is not None:
        query = query.join(
            SurveyRoundArea,
            (SurveyRoundArea.survey_round_id == SurveyRound.id)
            & (SurveyRoundArea.area_id == area_id),
        )
    return list(session.scalars(query.order_by(SurveyRound.period, SurveyRound.id)))
