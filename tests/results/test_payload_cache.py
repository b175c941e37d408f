"""Each process caches whole-round payloads; every input that changes a figure must change it."""

import json
import random
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pydantic_core
import pytest
from sqlalchemy.orm import Session, sessionmaker

from survey_api.results import payload
from survey_api.results.loading import load_header
from survey_api.results.payload import CachedPayload, PayloadCache
from survey_api.results.schemas import RoundResults
from tests.conftest import Org
from tests.helpers import OpenRound, ok, open_round
from tests.results.support import area_of, generate, results, upload


def _trygg(payload: dict, area_id: int) -> dict:  # type: ignore[type-arg]
    area = area_of(payload, area_id)
    return next(i for i in area["items"] if i["key"] == "trygg_ute_kvall")


def _organisation_pool(payload: dict) -> dict:  # type: ignore[type-arg]
    group = next(g for g in payload["pooled"] if g["group"] == "organisation")
    return next(i for i in group["items"] if i["key"] == "trygg_ute_kvall")


def test_repeated_reads_follow_every_change_that_alters_a_figure(org: Org) -> None:
    survey_round = open_round(org.analyst, n_areas=2)
    a, b = survey_round.area_ids
    rng = random.Random(5)
    upload(org.integrator, survey_round.id, a, generate(rng, 30, skip=0.0))
    upload(org.integrator, survey_round.id, b, generate(rng, 30, skip=0.0, tilt=0.8))
    first = results(org.analyst, survey_round.id)
    assert results(org.analyst, survey_round.id)["areas"] == first["areas"]  # a cache hit

    # New responses: n grows.
    upload(org.integrator, survey_round.id, a, generate(rng, 5, skip=0.0))
    after_upload = results(org.analyst, survey_round.id)
    assert area_of(after_upload, a)["responses"]["responses"] == 35

    # The minimum cell size: area a (35) stays, area b (30) is now suppressed.
    ok(org.admin.patch("/api/v1/organisation", json={"min_cell_size": 31}))
    assert _trygg(results(org.analyst, survey_round.id), b)["suppressed"] is True
    ok(org.admin.patch("/api/v1/organisation", json={"min_cell_size": 10}))
    assert _trygg(results(org.analyst, survey_round.id), b)["suppressed"] is False

    # Households re-weight the organisation pool.
    before = _organisation_pool(results(org.analyst, survey_round.id))["favourable"]["p"]
    ok(org.analyst.patch(f"/api/v1/areas/{b}", json={"households": 5000}))
    after = _organisation_pool(results(org.analyst, survey_round.id))["favourable"]["p"]
    assert after != before

    # A classification adds an area-type pool; invitations change the response rate.
    ok(
        org.analyst.patch(
            f"/api/v1/areas/{a}", json={"classifications": [{"year": 2026, "area_type": 2}]}
        )
    )
    groups = {g["group"] for g in results(org.analyst, survey_round.id)["pooled"]}
    assert "area_type:2" in groups
    ok(
        org.analyst.post(
            f"/api/v1/rounds/{survey_round.id}/invitations", json={"area_id": a, "count": 70}
        ),
        201,
    )
    rate = area_of(results(org.analyst, survey_round.id), a)["responses"]
    assert rate["rate_base"] == "invitations" and rate["response_rate"] == 35 / 70


# --- the cache holds serialised payloads, bounded in bytes --------------------------------------


@pytest.fixture
def cache() -> Iterator[PayloadCache]:
    """This process's payload cache (the test server runs in this process), emptied, with its
    limit restored afterwards."""
    cache = payload.results_cache()
    saved = cache.limit
    cache.clear()
    yield cache
    cache.limit = saved
    cache.clear()


def _held(cache: PayloadCache, round_id: int) -> int:
    return sum(1 for key in cache if key[1] == round_id)


def _filled_round(org: Org, rng: random.Random) -> OpenRound:
    survey_round = open_round(org.analyst, n_areas=2)
    for area_id in survey_round.area_ids:
        upload(org.integrator, survey_round.id, area_id, generate(rng, 25))
    return survey_round


def test_the_cache_never_holds_more_bytes_than_its_limit(
    org: Org, make_org: Callable[[], Org], cache: PayloadCache
) -> None:
    rng = random.Random(11)
    # One round per organisation (the standard questionnaire is published once per organisation).
    owners = [org, make_org(), make_org()]
    a, b, c = (_filled_round(owner, rng).id for owner in owners)
    client = {a: owners[0].analyst, b: owners[1].analyst, c: owners[2].analyst}

    def read(round_id: int) -> bytes:
        response = client[round_id].get(f"/api/v1/rounds/{round_id}/results")
        response.raise_for_status()
        return response.content

    first = {round_id: read(round_id) for round_id in (a, b, c)}
    largest = max(len(body) for body in first.values())
    # Room for two of these rounds, not three.
    cache.clear()
    cache.limit = 2 * largest + 2 * (payload.ENTRY_OVERHEAD_BYTES + 2_000)

    for round_id in (a, b, c):
        assert json.loads(read(round_id))["areas"] == json.loads(first[round_id])["areas"]
        assert cache.size <= cache.limit
    # The least recently read (a) went; reading b makes c the least recent, so a's return
    # drops c.
    assert (_held(cache, a), _held(cache, b), _held(cache, c)) == (0, 1, 1)
    assert len(cache) == 2 and cache.size >= len(first[b]) + len(first[c])
    hits = cache.hits
    read(b)
    assert cache.hits == hits + 1
    read(a)
    assert (_held(cache, a), _held(cache, b), _held(cache, c)) == (1, 1, 0)
    assert cache.size <= cache.limit

    # Lowering the limit evicts at once; a payload larger than the limit is served, not kept.
    cache.limit = largest // 2
    assert len(cache) == 0 and cache.size == 0
    assert json.loads(read(c))["areas"] == json.loads(first[c])["areas"]
    assert len(cache) == 0 and cache.size == 0

    # 0 turns it off: every read builds.
    cache.limit = 0
    misses = cache.misses
    read(a)
    read(a)
    assert cache.misses == misses + 2 and len(cache) == 0


def test_a_changed_input_misses_and_an_unchanged_round_hits(org: Org, cache: PayloadCache) -> None:
    rng = random.Random(12)
    survey_round = _filled_round(org, rng)
    a, b = survey_round.area_ids

    def read() -> tuple[int, int]:
        hits, misses = cache.hits, cache.misses
        results(org.analyst, survey_round.id)
        return cache.hits - hits, cache.misses - misses

    assert read() == (0, 1)
    assert read() == (1, 0)
    upload(org.integrator, survey_round.id, a, generate(rng, 3))  # folded by the next read
    assert read() == (0, 1)
    assert read() == (1, 0)
    ok(org.admin.patch("/api/v1/organisation", json={"min_cell_size": 12}))
    assert read() == (0, 1)
    ok(org.analyst.patch(f"/api/v1/areas/{b}", json={"households": 4321}))
    assert read() == (0, 1)
    ok(org.analyst.patch(f"/api/v1/areas/{b}", json={"name": "Nytt namn"}))
    assert read() == (0, 1)
    assert read() == (1, 0)
    assert cache.size <= cache.limit


@pytest.mark.parametrize("query", [{}, {"by": "kon", "item": ["trygg_ute_kvall"]}])
def test_a_hit_is_byte_for_byte_a_fresh_build_apart_from_as_of_and_pending(
    org: Org, cache: PayloadCache, db: sessionmaker[Session], query: dict[str, Any]
) -> None:
    rng = random.Random(13)
    survey_round = _filled_round(org, rng)
    url = f"/api/v1/rounds/{survey_round.id}/results"
    org.analyst.get(url, params=query).raise_for_status()
    hits = cache.hits
    hit = org.analyst.get(url, params=query)
    hit.raise_for_status()
    assert cache.hits == hits + 1
    served = json.loads(hit.content)

    with db() as session:
        header = load_header(session, org.id, survey_round.id)
        fresh = payload._build_payload(
            session,
            org.id,
            survey_round.id,
            header=header,
            items=query.get("item"),
            by=query.get("by"),
        )
    # The per-read fields, set to what the hit said: then the bytes are the same.
    assert (
        pydantic_core.to_json({**fresh, "as_of": served["as_of"], "pending": served["pending"]})
        == hit.content
    )
    assert RoundResults.model_validate_json(hit.content).model_dump(
        exclude={"as_of", "pending"}
    ) == RoundResults.model_validate(fresh).model_dump(exclude={"as_of", "pending"})


def test_the_per_read_fields_are_written_into_a_cached_payload() -> None:
    built = {
        "survey_round_id": 1,
        "name": "Vår",
        "as_of": datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC),
        "pending": 0,
        "areas": [{"area_id": 2, "share": 0.1 + 0.2}],
        "method": "…",
    }
    entry = CachedPayload(*payload._serialise(built), key_bytes=0)
    later = datetime(2026, 3, 2, 8, 30, tzinfo=UTC)
    assert entry.with_fields(later, 7) == pydantic_core.to_json(
        {**built, "as_of": later, "pending": 7}
    )
    assert entry.cost >= len(pydantic_core.to_json(built))
    # Wherever the two fields sit.
    for shape in ({"as_of": later, "pending": 1}, {"as_of": later, "pending": 1, "n": [1]}):
        cut = CachedPayload(*payload._serialise(shape), key_bytes=0)
        assert cut.with_fields(later, 3) == pydantic_core.to_json({**shape, "pending": 3})


def test_the_console_s_models_and_dicts_are_the_same_from_a_build_and_from_the_cache(
    org: Org, cache: PayloadCache, db: sessionmaker[Session]
) -> None:
    survey_round = _filled_round(org, random.Random(14))
    with db() as session:
        misses = cache.misses
        built = payload.round_results(session, org.id, survey_round.id)
        built_dict = payload.round_payload(session, org.id, survey_round.id, by="kon")
        assert cache.misses == misses + 2
        hits = cache.hits
        cached = payload.round_results(session, org.id, survey_round.id)
        cached_dict = payload.round_payload(session, org.id, survey_round.id, by="kon")
        assert cache.hits == hits + 2
    # Equal apart from the instant of each read.
    assert cached.as_of >= built.as_of and cached_dict["as_of"] >= built_dict["as_of"]
    assert cached.model_copy(update={"as_of": built.as_of}) == built
    assert {**cached_dict, "as_of": built_dict["as_of"]} == built_dict
