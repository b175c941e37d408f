"""Round results: the per-area and pooled-group payload of a whole round."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
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
from survey_api.rounds import service as rounds_service

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
    A cached round is validated straight from its JSON (the same figures as the API sends).
    """
    header, entry, built = _cached(session, organisation_id, round_id, query)
    if built is not None:
        return RoundResults.model_validate(built)  # no JSON round trip for a fresh build
    return RoundResults.model_validate_json(
        entry.with_fields(header.folded.as_of, header.shown_pending)
    )


def round_results_json(
    session: Session, organisation_id: int, round_id: int, **query: Unpack[RoundQuery]
) -> bytes:
    """:func:`round_results` serialised as JSON, for the API.

    A whole round is ~15 000 small objects; serialising the plain data in one pass of
    pydantic-core, instead of first building that many model instances (and the garbage
    collector passes they trigger), more than halves the cost of a read. Tests check that
    this output validates as :class:`RoundResults` and round-trips unchanged. An unchanged
    round is served from this process's cache of serialised payloads (see
    :class:`PayloadCache`), with only ``as_of`` and ``pending`` written in afresh.
    """
    header, entry, _ = _cached(session, organisation_id, round_id, query)
    return entry.with_fields(header.folded.as_of, header.shown_pending)


def round_payload(
    session: Session, organisation_id: int, round_id: int, **query: Unpack[RoundQuery]
) -> Json:
    """:func:`round_results` as plain data (dicts and lists in the RoundResults shape).

    From the cache it is decoded JSON, so every value is JSON's own type except ``as_of``,
    which stays a datetime as in a fresh build. Fills the cache like a read (the background
    folder uses it to warm a round).
    """
    header, entry, built = _cached(session, organisation_id, round_id, query)
    if built is not None:
        return built
    decoded: Json = pydantic_core.from_json(entry.with_fields(None, header.shown_pending))
    decoded["as_of"] = header.folded.as_of
    return decoded


def _cached(
    session: Session, organisation_id: int, round_id: int, query: RoundQuery
) -> tuple[RoundHeader, CachedPayload, Json | None]:
    """The payload's cache entry, built and kept first on a miss (then with the built data)."""
    header, key = _header_and_key(session, organisation_id, round_id, query)
    entry = _PAYLOAD_CACHE.get(key)
    if entry is not None:
        return header, entry, None
    built = _build_payload(session, organisation_id, round_id, header=header, **query)
    return header, _PAYLOAD_CACHE.put(key, _serialise(built)), built


# --- the payload cache ----------------------------------------------------------------------
#
# A whole round's payload is a pure function of: the folded tallies, which the round's
# watermark fixes (responses are append-only and every id at or below it is folded); the
# questionnaire version (immutable once published); the round's areas as loaded (names,
# households, classifications); invitations issued; the minimum cell size; and the query.
# Each process keeps recent payloads keyed by exactly those, so re-reading an unchanged round
# skips loading ~10k tally rows and building ~15k objects, and anything that changes an input
# changes the key. It is a cache, not shared state: every process fills its own.
#
# It holds the payloads serialised, not as dicts: a whole round of 50 areas is a few MB of
# small Python objects but a fraction of that as JSON bytes, and the API sends bytes anyway.
# It is bounded by the bytes it holds (settings.results_cache_bytes), so a worker's memory
# does not grow with the number or the size of the rounds read.

# Everything in a payload comes from the key except these two, which each read sets afresh:
# the folded instant and the code answers waiting for a batch.
_PER_READ = ("as_of", "pending")
_AS_OF = b',"as_of":'
_PENDING = b',"pending":'
# What an entry costs beyond its JSON: the entry, its OrderedDict slot, the key's tuple.
ENTRY_OVERHEAD_BYTES = 512


class CachedPayload:
    """A payload's JSON cut around its per-read fields: ``head`` ends just before ``as_of``'s
    value, ``tail`` starts with the comma after ``pending``'s value."""

    __slots__ = ("head", "tail", "cost")

    def __init__(self, head: bytes, tail: bytes, key_bytes: int) -> None:
        self.head = head
        self.tail = tail
        self.cost = len(head) + len(tail) + key_bytes + ENTRY_OVERHEAD_BYTES

    def with_fields(self, as_of: Any, pending: int | None) -> bytes:
        """The whole payload's JSON with these per-read values, byte for byte what serialising
        a fresh build would give."""
        return b"".join(
            (
                self.head,
                pydantic_core.to_json(as_of),
                _PENDING,
                pydantic_core.to_json(pending),
                self.tail,
            )
        )


def _serialise(payload: Json) -> tuple[bytes, bytes]:
    """A built payload as (head, tail) JSON around its per-read fields (key order kept)."""
    keys = list(payload)
    at = keys.index(_PER_READ[0])
    if keys[at : at + 2] != list(_PER_READ):
        raise AssertionError("as_of and pending must be adjacent in a round payload")
    before = {k: payload[k] for k in keys[:at]}
    after = {k: payload[k] for k in keys[at + 2 :]}
    head = pydantic_core.to_json(before)[:-1] + _AS_OF if before else b'{"as_of":'
    tail = b"," + pydantic_core.to_json(after)[1:] if after else b"}"
    return head, tail


class PayloadCache:
    """Serialised round payloads, least recently used evicted first, bounded in bytes.

    ``limit`` is the most bytes the entries may cost together (their JSON plus a per-entry
    estimate of the key and bookkeeping, :attr:`CachedPayload.cost`); 0 disables the cache. A
    payload that alone exceeds the limit is served but not kept. ``None`` reads
    ``settings.results_cache_bytes`` on first use (the process's environment).
    """

    def __init__(self, limit: int | None = None) -> None:
        self._limit = limit
        self._entries: OrderedDict[tuple[Any, ...], CachedPayload] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0  # reads answered from the cache, since the process started
        self.misses = 0

    @property
    def limit(self) -> int:
        if self._limit is None:
            from survey_api.config import get_settings

            self._limit = get_settings().results_cache_bytes
        return self._limit

    @limit.setter
    def limit(self, value: int) -> None:
        with self._lock:
            self._limit = value
            self._evict()

    @property
    def size(self) -> int:
        """What the entries held now cost, by the cache's own accounting."""
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        """The keys held, least recently used first (a snapshot)."""
        with self._lock:
            return iter(list(self._entries))

    def get(self, key: tuple[Any, ...]) -> CachedPayload | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                self.misses += 1
            else:
                self.hits += 1
                self._entries.move_to_end(key)
            return entry

    def put(self, key: tuple[Any, ...], parts: tuple[bytes, bytes]) -> CachedPayload:
        """Keep a payload's JSON (unless it alone exceeds the limit); returns its entry."""
        entry = CachedPayload(*parts, key_bytes=len(repr(key)))
        limit = self.limit
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old.cost
            if entry.cost <= limit:
                self._entries[key] = entry
                self._bytes += entry.cost
                self._evict()
        return entry

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def _evict(self) -> None:
        limit = self._limit or 0
        while self._entries and self._bytes > limit:
            _, entry = self._entries.popitem(last=False)
            self._bytes -= entry.cost


_PAYLOAD_CACHE = PayloadCache()


def results_cache() -> PayloadCache:
    """This process's cache of round payloads (create_app sets its limit from the settings)."""
    return _PAYLOAD_CACHE


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


def _header_and_key(
    session: Session, organisation_id: int, round_id: int, query: RoundQuery
) -> tuple[RoundHeader, tuple[Any, ...]]:
    """Fold the round, read its header, and the cache key of the payload ``query`` asks for."""
    header = load_header(session, organisation_id, round_id)
    survey_round = header.survey_round
    area_ids, items = query.get("area_ids"), query.get("items")
    indicators, indices = query.get("indicators"), query.get("indices")
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
        query.get("by"),
    )
    return header, key


def cached_whole_rounds(url: str) -> dict[int, int]:
    """Round id -> the newest watermark of its whole-round payloads (no filter, no breakdown)
    held in this process's cache for the database at ``url`` (the background folder refreshes
    those that fall behind)."""
    rounds: dict[int, int] = {}
    for key in _PAYLOAD_CACHE:
        # The key's layout is _header_and_key's: url, round, …, watermark (index 5), …, then
        # the query's five parts, all None for a whole round.
        if key[0] == url and all(part is None for part in key[-5:]):
            rounds[key[1]] = max(rounds.get(key[1], 0), key[5])
    return rounds


def _build_payload(
    session: Session,
    organisation_id: int,
    round_id: int,
    *,
    header: RoundHeader,
    area_ids: Sequence[int] | None = None,
    items: Sequence[str] | None = None,
    indicators: Sequence[str] | None = None,
    indices: Sequence[str] | None = None,
    by: str | None = None,
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
        # A function of the (immutable, published) version: the cache key already holds it.
        "questionnaire": rounds_service.questionnaires_of_versions(
            session, [survey_round.questionnaire_version_id]
        )[survey_round.questionnaire_version_id].model_dump(),
        "source": survey_round.source,
        "as_of": data.as_of,
        "pending": header.shown_pending,
        "min_cell_size": data.min_cell,
        "by": None if data.by is None else data.by.key,
        "breakdown_codes": None if data.by is None else data.breakdown_codes,
        "areas": areas,
        "pooled": pooled,
        "method": ROUND_METHOD,
    }
