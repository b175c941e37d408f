"""Each process caches whole-round payloads; every input that changes a figure must change it."""

import random

from tests.conftest import Org
from tests.helpers import ok, open_round
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
