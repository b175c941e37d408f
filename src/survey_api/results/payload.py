"""Round results: the per-area and pooled-group payload of a whole round."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any, Literal, TypedDict, Unpack

import pydantic_core
from sqlalchemy import select
from sqlalchemy.orm import Session

from survey_api.exceptions import ValidationFailed
from survey_api.models import DataImport
from survey_api.questionnaires.definition import (
    Index,
    Indicator,
    Item,
    QuestionnaireDefinition,
)
from survey_api.results.cells import (
    _SUPPRESSED_COMPOSITE,
    _SUPPRESSED_INDICATOR,
    _SUPPRESSED_ITEM,
    Json,
    _composite_fields,
    _indicator_fields,
    _item_fields,
)
from survey_api.results.fold import BASE_VALID
from survey_api.results.loading import RoundData, RoundHeader, load_header, load_round
from survey_api.results.pooled import (
    _groups,
    _pooled_composite,
    _pooled_indicator,
    _pooled_item,
    group_area_ids,
)
from survey_api.results.queries import AreaInfo, CellTally
from survey_api.results.schemas import (
    RoundResults,
)
from survey_api.results.suppression import (
    primary_suppressed,
    suppress_breakdown,
)
from survey_api.results.targets import _has_mean, _meta

ROUND_METHOD = (
    "Cells whose valid n is below min_cell_size are suppressed: only suppressed: true is shown. "
    "In a breakdown, a further group is hidden whenever a hidden group could otherwise be "
    "derived from the area's total minus the shown groups. Pooled groups use only the areas "
    "whose own cell is shown, so a pooled figure never reveals a suppressed area. Areas are "
    "weighted by households (w = H/ΣH; interval p ± z·√Σw²p(1−p)/n, clipped to 0–1); when a "
    "pooled area lacks a household count, respondents are pooled unweighted (Wilson interval) "
    "and the cell's note says so. Shares use Wilson 95 % intervals, means the t-interval."
)


def _breakdown_hidden(data: RoundData, area_id: int, n_of: Callable[[CellTally], int]) -> set[int]:
    """Breakdown codes hidden by primary and secondary suppression in one area."""
    group_ns = {code: n_of(data.group_cell(area_id, code)) for code in data.breakdown_codes}
    return suppress_breakdown(n_of(data.cell(area_id)), group_ns, data.min_cell)


def _breakdown(
    data: RoundData,
    area_id: int,
    n_of: Callable[[CellTally], int],
    suppressed: Json,
    fields: Callable[[CellTally], Json],
) -> list[Json] | None:
    """One entry per breakdown group: its figures, or the suppressed placeholder."""
    if data.by is None:
        return None
    hidden = _breakdown_hidden(data, area_id, n_of)
    return [
        dict(
            code=code,
            **(suppressed if code in hidden else fields(data.group_cell(area_id, code))),
        )
        for code in data.breakdown_codes
    ]


def _item_result(data: RoundData, item: Item, area_id: int) -> Json:
    def fields(cell: CellTally) -> Json:
        return _item_fields(item, cell, data.min_cell, data.counts_only)

    return dict(
        key=item.key,
        kind=item.kind,
        breakdown=_breakdown(
            data,
            area_id,
            lambda cell: cell.count("base", item.key, BASE_VALID),
            _SUPPRESSED_ITEM,
            fields,
        ),
        **fields(data.cell(area_id)),
    )


def _indicator_result(data: RoundData, indicator: Indicator, area_id: int) -> Json:
    def fields(cell: CellTally) -> Json:
        return _indicator_fields(data.definition, indicator, cell, data.min_cell, data.counts_only)

    return dict(
        key=indicator.key,
        item=indicator.item,
        codes=list(indicator.codes),
        breakdown=_breakdown(
            data,
            area_id,
            lambda cell: cell.count("base", indicator.item, BASE_VALID),
            _SUPPRESSED_INDICATOR,
            fields,
        ),
        **fields(data.cell(area_id)),
    )


def _composite_result(data: RoundData, index: Index, area_id: int) -> Json:
    def fields(cell: CellTally) -> Json:
        return _composite_fields(index, cell, data.min_cell, data.counts_only)

    return dict(
        key=index.key,
        orientation=index.orientation,
        breakdown=_breakdown(
            data,
            area_id,
            lambda cell: cell.count("index", index.key),
            _SUPPRESSED_COMPOSITE,
            fields,
        ),
        **fields(data.cell(area_id)),
    )


def _response_figures(data: RoundData, area: AreaInfo) -> Json:
    responses = data.cell(area.id).count("respondents", "")
    invitations = data.invitations.get(area.id, 0)
    if primary_suppressed(responses, data.min_cell):
        # The number of respondents is a cell like any other: a small area shows no count.
        return dict(
            suppressed=True,
            responses=None,
            invitations_issued=invitations,
            households=area.households,
            response_rate=None,
            rate_base=None,
        )
    rate: float | None = None
    base: Literal["invitations", "households"] | None = None
    # More responses than invitations (answers through the area link, paper and phone
    # uploads) means the invitations are not who answered: a rate over 100 % helps nobody.
    if invitations > 0 and responses <= invitations:
        rate, base = responses / invitations, "invitations"
    elif area.households:
        rate, base = responses / area.households, "households"
    return dict(
        suppressed=False,
        responses=responses,
        invitations_issued=invitations,
        households=area.households,
        response_rate=rate,
        rate_base=base,
    )


def _select(
    definition: QuestionnaireDefinition,
    items: Sequence[str] | None,
    indicators: Sequence[str] | None,
    indices: Sequence[str] | None,
) -> tuple[list[Item], list[Indicator], list[Index]]:
    everything = items is None and indicators is None and indices is None
    errors: list[dict[str, Any]] = []
    chosen_items: list[Item] = []
    for position, key in enumerate(items or []):
        item = definition.items_by_key.get(key)
        if item is None or item.kind == "text":
            why = "unknown item" if item is None else "text items have no results"
            errors.append({"loc": ["query", "item", position], "msg": why, "type": "item"})
        elif item not in chosen_items:
            chosen_items.append(item)
    indicator_keys = {i.key: i for i in definition.indicators}
    index_keys = {i.key: i for i in definition.indices}
    for name, keys, known in (
        ("indicator", indicators, indicator_keys),
        ("index", indices, index_keys),
    ):
        for position, key in enumerate(keys or []):
            if key not in known:
                errors.append(
                    {"loc": ["query", name, position], "msg": f"unknown {name}", "type": name}
                )
    if errors:
        raise ValidationFailed(
            "not in this round's questionnaire: "
            + "; ".join(f"{e['loc'][1]}[{e['loc'][2]}]: {e['msg']}" for e in errors),
            errors=errors,
        )
    if everything:
        return (
            [item for item in definition.items if item.kind != "text"],
            list(definition.indicators),
            list(definition.indices),
        )
    wanted_indicators = set(indicators or [])
    wanted_indices = set(indices or [])
    wanted_items = {item.key for item in chosen_items}
    return (
        [item for item in definition.items if item.key in wanted_items],
        [i for i in definition.indicators if i.key in wanted_indicators],
        [i for i in definition.indices if i.key in wanted_indices],
    )


class RoundQuery(TypedDict, total=False):
    """What a round's results are limited to; see :func:`round_payload`."""

    area_ids: Sequence[int] | None
    items: Sequence[str] | None
    indicators: Sequence[str] | None
    indices: Sequence[str] | None
    by: str | None


def round_results(
    session: Session, organisation_id: int, round_id: int, **query: Unpack[RoundQuery]
) -> RoundResults:
    """A whole round's results: per area × item, indicators, indices, pooled groups.

    With none of ``items``/``indicators``/``indices`` everything is returned; with any of them,
    only what they list. ``area_ids`` limits the areas listed (pools always cover the round).
    """
    return RoundResults.model_validate(round_payload(session, organisation_id, round_id, **query))


def round_results_json(
    session: Session, organisation_id: int, round_id: int, **query: Unpack[RoundQuery]
) -> bytes:
    """:func:`round_results` serialised as JSON, for the API.

    A whole round is ~15 000 small objects; serialising the plain data in one pass of
    pydantic-core, instead of first building that many model instances (and the garbage
    collector passes they trigger), more than halves the cost of a read. Tests check that
    this output validates as :class:`RoundResults` and round-trips unchanged.
    """
    return pydantic_core.to_json(round_payload(session, organisation_id, round_id, **query))


# A whole round's payload is a pure function of: the folded tallies, which the round's
# watermark fixes (responses are append-only and every id at or below it is folded); the
# questionnaire version (immutable once published); the round's areas as loaded (names,
# households, classifications); invitations issued; the minimum cell size; and the query.
# Each process keeps its last few payloads keyed by exactly those, so re-reading an unchanged
# round skips loading ~10k tally rows and building ~15k objects, and anything that changes an
# input changes the key. It is a cache, not shared state: every process fills its own.
_PAYLOAD_CACHE: OrderedDict[tuple[Any, ...], Json] = OrderedDict()
_PAYLOAD_CACHE_SIZE = 4  # a whole round is a few MB of Python objects
_payload_lock = threading.Lock()


def _imports(session: Session, round_id: int) -> tuple[tuple[int, str, str], ...]:
    """A historical round's imports: its tallies depend on them, not only on its watermark
    (answer counts move no watermark, and taking back responses deletes ids below it)."""
    return tuple(
        (import_id, kind, sha256)
        for import_id, kind, sha256 in session.execute(
            select(DataImport.id, DataImport.kind, DataImport.file_sha256)
            .where(DataImport.survey_round_id == round_id)
            .order_by(DataImport.id)
        )
    )


def round_payload(
    session: Session,
    organisation_id: int,
    round_id: int,
    *,
    area_ids: Sequence[int] | None = None,
    items: Sequence[str] | None = None,
    indicators: Sequence[str] | None = None,
    indices: Sequence[str] | None = None,
    by: str | None = None,
) -> Json:
    """:func:`round_results` as plain data (dicts and lists in the RoundResults shape)."""
    header = load_header(session, organisation_id, round_id)
    survey_round = header.survey_round
    key = (
        str(session.connection().engine.url),
        round_id,
        survey_round.name,
        survey_round.period,
        survey_round.questionnaire_version_id,
        header.folded.last_response_id,
        # A round of imported answer counts has no responses to move its watermark: its
        # imports (and the source they set) are what its tallies depend on.
        survey_round.source,
        # A collected round has no imports: no query on its (hot) read path.
        _imports(session, round_id) if survey_round.source != "collected" else (),
        header.min_cell,
        tuple(header.areas),
        tuple(sorted(header.invitations.items())),
        None if area_ids is None else tuple(area_ids),
        None if items is None else tuple(items),
        None if indicators is None else tuple(indicators),
        None if indices is None else tuple(indices),
        by,
    )
    with _payload_lock:
        cached = _PAYLOAD_CACHE.get(key)
        if cached is not None:
            _PAYLOAD_CACHE.move_to_end(key)
    if cached is not None:
        return {**cached, "as_of": header.folded.as_of, "pending": header.pending}
    payload = _build_payload(
        session,
        organisation_id,
        round_id,
        header=header,
        area_ids=area_ids,
        items=items,
        indicators=indicators,
        indices=indices,
        by=by,
    )
    with _payload_lock:
        _PAYLOAD_CACHE[key] = payload
        while len(_PAYLOAD_CACHE) > _PAYLOAD_CACHE_SIZE:
            _PAYLOAD_CACHE.popitem(last=False)
    return payload


def _build_payload(
    session: Session,
    organisation_id: int,
    round_id: int,
    *,
    area_ids: Sequence[int] | None,
    items: Sequence[str] | None,
    indicators: Sequence[str] | None,
    indices: Sequence[str] | None,
    by: str | None,
    header: RoundHeader,
) -> Json:
    data = load_round(session, organisation_id, round_id, by=by, header=header)
    definition = data.definition
    chosen_items, chosen_indicators, chosen_indices = _select(
        definition, items, indicators, indices
    )
    round_area_ids = {area.id for area in data.areas}
    if area_ids is not None:
        unknown = [a for a in area_ids if a not in round_area_ids]
        if unknown:
            raise ValidationFailed(
                f"areas {', '.join(map(str, unknown))} do not take part in round {round_id}",
                errors=[
                    {"loc": ["query", "area_id"], "msg": f"area {a} not in round", "type": "area"}
                    for a in unknown
                ],
            )
    shown = [a for a in data.areas if area_ids is None or a.id in set(area_ids)]
    areas = [
        dict(
            area_id=area.id,
            code=area.code,
            name=area.name,
            households=area.households,
            area_type=area.area_type,
            police_classification=area.police_classification,
            classification_year=area.classification_year,
            responses=_response_figures(data, area),
            items=[_item_result(data, item, area.id) for item in chosen_items],
            indicators=[_indicator_result(data, i, area.id) for i in chosen_indicators],
            indices=[_composite_result(data, i, area.id) for i in chosen_indices],
        )
        for area in shown
    ]
    pooled = []
    for group, kind, value in _groups(data.areas):
        members = group_area_ids(data.areas, kind, value)
        pooled.append(
            dict(
                group=group,
                kind=kind,
                value=value,
                area_ids=members,
                items=[
                    _pooled_item(data, item, members)
                    for item in chosen_items
                    if _has_mean(item) or _meta(item).has_favourable
                ],
                indicators=[_pooled_indicator(data, i, members) for i in chosen_indicators],
                indices=[_pooled_composite(data, i, members) for i in chosen_indices],
            )
        )
    survey_round = data.survey_round
    return {
        "survey_round_id": survey_round.id,
        "name": survey_round.name,
        "period": survey_round.period,
        "questionnaire_version_id": survey_round.questionnaire_version_id,
        "source": survey_round.source,
        "as_of": data.as_of,
        "pending": header.pending,
        "min_cell_size": data.min_cell,
        "by": None if data.by is None else data.by.key,
        "breakdown_codes": None if data.by is None else data.breakdown_codes,
        "areas": areas,
        "pooled": pooled,
        "method": ROUND_METHOD,
    }
