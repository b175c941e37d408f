"""The background folder: folds new responses without a read, skips a round being folded,
and runs in a served app when fold_interval_seconds is set."""

import random
import threading
import time
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from survey_api.models import Response, TallyWatermark
from survey_api.results import payload
from survey_api.results.folder import Folder, rounds_to_fold
from tests.conftest import Org, serve, settings_for
from tests.helpers import open_round
from tests.results.support import by_key, generate, results, upload
from tests.results.test_fold import assert_same_tallies, full_recount, stored_tallies


def _watermark(db: sessionmaker[Session], round_id: int) -> int | None:
    with db() as session:
        return session.scalar(
            select(TallyWatermark.last_response_id).where(
                TallyWatermark.survey_round_id == round_id
            )
        )


def _last_response(db: sessionmaker[Session], round_id: int) -> int:
    with db() as session:
        last = session.scalar(
            select(func.max(Response.id)).where(Response.survey_round_id == round_id)
        )
        assert last is not None
        return last


def test_a_pass_folds_new_responses_exactly_and_warms_the_round(
    org: Org, db: sessionmaker[Session]
) -> None:
    rng = random.Random(7)
    survey_round = open_round(org.analyst, n_areas=2)
    a, b = survey_round.area_ids
    upload(org.integrator, survey_round.id, a, generate(rng, 30))
    upload(org.integrator, survey_round.id, b, generate(rng, 12))
    folder = Folder(db, interval=60)
    with db() as session:
        assert survey_round.id in [r for r, _, _ in rounds_to_fold(session)]

    done = folder.run_once()

    assert done.folded_rounds >= 1 and done.folded_responses >= 42
    last = _last_response(db, survey_round.id)
    assert _watermark(db, survey_round.id) == last
    assert_same_tallies(
        stored_tallies(db, survey_round.id),
        full_recount(db, survey_round.id, survey_round.version_id),
    )
    with db() as session:
        assert survey_round.id not in [r for r, _, _ in rounds_to_fold(session)]
    # The folder built the whole round's payload: a read finds it folded and as counted.
    assert any(key[1] == survey_round.id for key in payload._PAYLOAD_CACHE)
    read = results(org.analyst, survey_round.id)
    assert _watermark(db, survey_round.id) == last
    areas = {area["area_id"]: area for area in read["areas"]}
    assert areas[a]["responses"]["responses"] == 30
    assert areas[b]["responses"]["responses"] == 12

    # More answers: the next pass folds only those, and the read agrees with a full recount.
    upload(org.integrator, survey_round.id, b, generate(rng, 9))
    again = folder.run_once()
    assert again.folded_responses >= 9
    assert _watermark(db, survey_round.id) == _last_response(db, survey_round.id)
    assert_same_tallies(
        stored_tallies(db, survey_round.id),
        full_recount(db, survey_round.id, survey_round.version_id),
    )
    after = {area["area_id"]: area for area in results(org.analyst, survey_round.id)["areas"]}
    assert after[b]["responses"]["responses"] == 21
    assert by_key(after[a]["items"]) == by_key(areas[a]["items"])


def test_a_round_being_folded_elsewhere_is_skipped_not_waited_for(
    org: Org, db: sessionmaker[Session], backend: str
) -> None:
    if backend != "postgresql":
        pytest.skip("SQLite runs one writer at a time: there is no concurrent folder to skip")
    survey_round = open_round(org.analyst, n_areas=1)
    area_id = survey_round.area_ids[0]
    upload(org.integrator, survey_round.id, area_id, generate(random.Random(3), 5))
    results(org.analyst, survey_round.id)  # creates the watermark row
    folder = Folder(db, interval=60, warm=False)
    folder.run_once()  # whatever earlier tests left in this database
    upload(org.integrator, survey_round.id, area_id, generate(random.Random(4), 6))
    outcome: list[int] = []
    with db() as busy:
        # Another folder holds the round's watermark row (as fold_round does while folding).
        busy.execute(
            select(TallyWatermark)
            .where(TallyWatermark.survey_round_id == survey_round.id)
            .with_for_update()
        ).one()
        worker = threading.Thread(target=lambda: outcome.append(_folded_here(folder)))
        worker.start()
        worker.join(timeout=60)
        assert not worker.is_alive(), "the folder waited for the round's other folder"
        still_held = _watermark(db, survey_round.id)
        busy.rollback()
    assert outcome == [0]
    assert still_held is not None and still_held < _last_response(db, survey_round.id)
    assert folder.run_once().folded_responses >= 6
    assert _watermark(db, survey_round.id) == _last_response(db, survey_round.id)


def _folded_here(folder: Folder) -> int:
    return folder.run_once().folded_rounds


def test_a_served_app_folds_in_the_background(
    org: Org, db: sessionmaker[Session], database_url: str
) -> None:
    """With fold_interval_seconds set, new answers are folded with no results read at all."""
    survey_round = open_round(org.analyst, n_areas=1)
    with serve(settings_for(database_url, fold_interval_seconds=0.1)) as live:
        with httpx.Client(
            base_url=live.base_url, headers=dict(org.integrator.headers), timeout=30
        ) as client:
            upload(client, survey_round.id, survey_round.area_ids[0], generate(random.Random(5), 8))
        last = _last_response(db, survey_round.id)
        deadline = time.monotonic() + 60
        while _watermark(db, survey_round.id) != last and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _watermark(db, survey_round.id) == last


def test_a_pass_refreshes_a_cached_round_another_process_folded(
    org: Org, db: sessionmaker[Session]
) -> None:
    """A process whose cache holds a round's payload rebuilds it after another process folded
    the round, so a read in this process is served from the cache at the new watermark."""
    rng = random.Random(9)
    survey_round = open_round(org.analyst, n_areas=1)
    area_id = survey_round.area_ids[0]
    upload(org.integrator, survey_round.id, area_id, generate(rng, 12))
    results(org.analyst, survey_round.id)  # folds, and caches the whole round here
    Folder(db, interval=60, warm=False).run_once()  # whatever earlier tests left
    upload(org.integrator, survey_round.id, area_id, generate(rng, 7))
    # "Another process": it folds the round and builds nothing in this process's cache.
    assert Folder(db, interval=60, warm=False).run_once().folded_responses >= 7
    new_watermark = _watermark(db, survey_round.id)
    url = str(db.kw["bind"].url)
    assert payload.cached_whole_rounds(url)[survey_round.id] < new_watermark

    Folder(db, interval=60).run_once()

    assert payload.cached_whole_rounds(url)[survey_round.id] == new_watermark
    hits = payload.results_cache().hits
    read = results(org.analyst, survey_round.id)
    assert payload.results_cache().hits == hits + 1
    assert read["areas"][0]["responses"]["responses"] == 19


def test_a_read_that_folds_lets_submissions_in_before_it_builds_the_payload(
    org: Org,
    db: sessionmaker[Session],
    backend: str,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The fold's exclusive round lock holds back submissions; a read ends its transaction
    right after folding, so building the payload (~0.1 s for 50 areas) holds nothing back."""
    if backend != "postgresql":
        pytest.skip("SQLite has no advisory locks: one writer at a time")
    import psycopg

    from survey_api.results.fold import LOCK_NAMESPACE

    survey_round = open_round(org.analyst, n_areas=1)
    upload(org.integrator, survey_round.id, survey_round.area_ids[0], generate(random.Random(1), 4))
    plain = database_url.replace("postgresql+psycopg://", "postgresql://", 1)
    submitter_waited: list[str] = []
    build = payload._build_payload

    def build_while_a_submitter_comes(*args: Any, **kwargs: Any) -> Any:
        # What a submitter does first (fold.hold_round_for_submission), from another
        # connection, while this read builds its payload.
        with psycopg.connect(plain) as other:
            other.execute("SET lock_timeout = '10s'")
            try:
                other.execute(
                    "SELECT pg_advisory_xact_lock_shared(%s, %s)",
                    (LOCK_NAMESPACE, survey_round.id),
                )
            except psycopg.errors.LockNotAvailable as error:
                submitter_waited.append(str(error))
            other.rollback()
        return build(*args, **kwargs)

    monkeypatch.setattr(payload, "_build_payload", build_while_a_submitter_comes)
    results(org.analyst, survey_round.id)
    assert submitter_waited == []
    assert _watermark(db, survey_round.id) == _last_response(db, survey_round.id)
