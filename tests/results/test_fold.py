"""The tally fold: incremental, exact, and safe under concurrent submissions on both databases."""

import random
import threading
import time
from datetime import date, datetime
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from survey_api.models import Response, TallyWatermark
from survey_api.questionnaires import service as questionnaires_service
from survey_api.results import fold, tally_store
from tests.conftest import Org
from tests.helpers import full_answers, open_round
from tests.results.support import (
    ITEMS,
    area_of,
    by_key,
    generate,
    indicator_reference,
    item_reference,
    results,
    upload,
)

Key = tuple[int, str, int, str, str, int]


def stored_tallies(db: sessionmaker[Session], round_id: int) -> dict[Key, tuple[int, float, float]]:
    with db() as session:
        return {
            (
                t["area_id"],
                t["breakdown_item"],
                t["breakdown_code"],
                t["measure"],
                t["measure_key"],
                t["code"],
            ): (t["count"], t["total"], t["total_sq"])
            for t in tally_store.stored_rows(session, round_id)
        }


def stored_answers(db: sessionmaker[Session], round_id: int) -> list[tuple[int, dict[str, Any]]]:
    with db() as session:
        return [
            (r.area_id, r.answers)
            for r in session.execute(
                select(Response.area_id, Response.answers)
                .where(Response.survey_round_id == round_id)
                .order_by(Response.id)
            )
        ]


def full_recount(
    db: sessionmaker[Session], round_id: int, version_id: int
) -> dict[Key, tuple[int, float, float]]:
    """All responses folded in one pass, to compare incremental folds with."""
    with db() as session:
        definition = questionnaires_service.published_definition(session, version_id)
    rows = fold.tally_answers(definition, round_id, stored_answers(db, round_id))
    return {
        (
            r["area_id"],
            r["breakdown_item"],
            r["breakdown_code"],
            r["measure"],
            r["measure_key"],
            r["code"],
        ): (r["count"], r["total"], r["total_sq"])
        for r in rows
    }


def assert_same_tallies(
    a: dict[Key, tuple[int, float, float]], b: dict[Key, tuple[int, float, float]]
) -> None:
    assert a.keys() == b.keys()
    for key in a:
        assert a[key][0] == b[key][0], key
        assert a[key][1:] == pytest.approx(b[key][1:], rel=1e-12, abs=1e-9), key


def independent_check(
    tallies: dict[Key, tuple[int, float, float]], area_id: int, answers: list[dict[str, Any]]
) -> None:
    """Whole-area tallies against counts taken straight from the raw answers."""
    assert tallies[(area_id, "", 0, "respondents", "", 0)][0] == len(answers)
    for key, item in ITEMS.items():
        if item["kind"] == "text":
            continue
        ref = item_reference(answers, key)
        assert tallies.get((area_id, "", 0, "base", key, 0), (0, 0, 0))[0] == ref["n"]
        assert tallies.get((area_id, "", 0, "base", key, 1), (0, 0, 0))[0] == ref["non_substantive"]
        for code, count in ref["counts"].items():
            assert tallies.get((area_id, "", 0, "option", key, code), (0, 0, 0))[0] == count
        if len(ref["scores"]):
            total, total_sq = tallies[(area_id, "", 0, "base", key, 0)][1:]
            assert total == pytest.approx(float(ref["scores"].sum()))
            assert total_sq == pytest.approx(float((ref["scores"] ** 2).sum()))
    for key in ("andel_otrygga_kvall", "andel_utsatta_12m", "anmalningsgrad"):
        x, _ = indicator_reference(answers, key)
        assert tallies.get((area_id, "", 0, "indicator", key, 0), (0, 0, 0))[0] == x


def test_fold_is_incremental_and_exact(org: Org, db: sessionmaker[Session]) -> None:
    rng = random.Random(1)
    survey_round = open_round(org.analyst, n_areas=2)
    a, b = survey_round.area_ids
    first = {a: generate(rng, 40), b: generate(rng, 25)}
    for area_id, sets in first.items():
        upload(org.integrator, survey_round.id, area_id, sets)
    # Submissions are append-only: nothing is tallied until results are read.
    assert stored_tallies(db, survey_round.id) == {}
    with db() as session:
        assert session.get(TallyWatermark, survey_round.id) is None

    one = results(org.analyst, survey_round.id)
    tallies = stored_tallies(db, survey_round.id)
    for area_id, sets in first.items():
        independent_check(tallies, area_id, sets)
    assert_same_tallies(tallies, full_recount(db, survey_round.id, survey_round.version_id))

    second = {a: generate(rng, 33), b: generate(rng, 51)}
    for area_id, sets in second.items():
        upload(org.integrator, survey_round.id, area_id, sets)
    two = results(org.analyst, survey_round.id)
    assert datetime.fromisoformat(two["as_of"]) > datetime.fromisoformat(one["as_of"])
    tallies = stored_tallies(db, survey_round.id)
    for area_id in (a, b):
        independent_check(tallies, area_id, first[area_id] + second[area_id])
        n1 = by_key(area_of(one, area_id)["items"])["trivsel"]["n"]
        n2 = by_key(area_of(two, area_id)["items"])["trivsel"]["n"]
        assert n2 == n1 + item_reference(second[area_id], "trivsel")["n"]
        assert area_of(two, area_id)["responses"]["responses"] == len(first[area_id]) + len(
            second[area_id]
        )
    assert_same_tallies(tallies, full_recount(db, survey_round.id, survey_round.version_id))
    with db() as session:
        watermark = session.get(TallyWatermark, survey_round.id)
        assert watermark is not None
        assert watermark.last_response_id == session.scalar(
            select(func.max(Response.id)).where(Response.survey_round_id == survey_round.id)
        )

    # Nothing new: the tallies stay, as_of still moves on (it is "complete up to now").
    three = results(org.analyst, survey_round.id)
    assert stored_tallies(db, survey_round.id) == tallies
    assert datetime.fromisoformat(three["as_of"]) >= datetime.fromisoformat(two["as_of"])
    assert three["areas"] == two["areas"]


def test_text_answers_never_reach_tallies(org: Org, db: sessionmaker[Session]) -> None:
    survey_round = open_round(org.analyst, n_areas=1)
    upload(org.integrator, survey_round.id, survey_round.area_ids[0], [full_answers()] * 3)
    results(org.analyst, survey_round.id)
    keys = {key[4] for key in stored_tallies(db, survey_round.id)}
    assert "fritext_plats" not in keys
    assert keys >= {"trivsel", "utsatt_brott_12m", "trygghetsindex", "andel_utsatta_12m"}


def test_fold_in_small_batches_equals_one_pass(org: Org, db: sessionmaker[Session]) -> None:
    rng = random.Random(2)
    survey_round = open_round(org.analyst, n_areas=2)
    for area_id in survey_round.area_ids:
        upload(org.integrator, survey_round.id, area_id, generate(rng, 37))
    with db() as session:
        definition = questionnaires_service.published_definition(session, survey_round.version_id)
        result = fold.fold_round(session, survey_round.id, definition, batch_size=7)
        session.commit()
    assert result.folded == 74
    assert_same_tallies(
        stored_tallies(db, survey_round.id),
        full_recount(db, survey_round.id, survey_round.version_id),
    )


def test_concurrent_submissions_while_folding_lose_nothing(
    org: Org, db: sessionmaker[Session]
) -> None:
    survey_round = open_round(org.analyst, n_areas=3)
    errors: list[BaseException] = []
    submitted = [0]
    lock = threading.Lock()
    done = threading.Event()

    def submitter(seed: int) -> None:
        rng = random.Random(seed)
        try:
            for _ in range(8):
                sets = generate(rng, rng.randint(1, 25))
                upload(org.integrator, survey_round.id, rng.choice(survey_round.area_ids), sets)
                with lock:
                    submitted[0] += len(sets)
        except BaseException as exc:  # surfaced in the main thread
            errors.append(exc)

    reads = [0]

    def reader() -> None:
        try:
            while not done.is_set():
                results(org.analyst, survey_round.id, item="trivsel")
                reads[0] += 1
        except BaseException as exc:
            errors.append(exc)

    submitters = [threading.Thread(target=submitter, args=(seed,)) for seed in range(4)]
    readers = [threading.Thread(target=reader) for _ in range(2)]
    for thread in readers + submitters:
        thread.start()
    for thread in submitters:
        thread.join(timeout=300)
    done.set()
    for thread in readers:
        thread.join(timeout=300)
    assert not errors, errors
    assert reads[0] >= 2

    final = results(org.analyst, survey_round.id)
    assert sum(a["responses"]["responses"] or 0 for a in final["areas"]) == submitted[0]
    assert_same_tallies(
        stored_tallies(db, survey_round.id),
        full_recount(db, survey_round.id, survey_round.version_id),
    )


def _insert(session: Session, round_id: int, area_id: int) -> int:
    fold.hold_round_for_submission(session, round_id)
    response = Response(
        survey_round_id=round_id,
        area_id=area_id,
        language="sv",
        channel="paper",
        entry="api",
        submitted_date=date.today(),
        answers={"trivsel": 4},
    )
    session.add(response)
    session.flush()
    return response.id


def test_a_late_committing_response_is_not_skipped(
    org: Org, db: sessionmaker[Session], backend: str
) -> None:
    """Ids commit out of order on PostgreSQL; the fold must wait for the lower one."""
    if backend != "postgresql":
        pytest.skip("SQLite has a single writer: ids commit in order")
    survey_round = open_round(org.analyst, n_areas=1)
    area_id = survey_round.area_ids[0]
    with db() as session:
        definition = questionnaires_service.published_definition(session, survey_round.version_id)
    early = db()
    try:
        early_id = _insert(early, survey_round.id, area_id)  # id drawn, not committed yet
        with db() as late:
            late_id = _insert(late, survey_round.id, area_id)
            late.commit()
        assert early_id < late_id

        folded: list[fold.FoldResult] = []

        def folder() -> None:
            with db() as session:
                folded.append(fold.fold_round(session, survey_round.id, definition))
                session.commit()

        thread = threading.Thread(target=folder)
        thread.start()
        time.sleep(0.5)
        assert thread.is_alive(), "the fold must wait for the in-flight submission"
        early.commit()
        thread.join(timeout=10)
        assert not thread.is_alive()
    finally:
        early.close()
    assert folded[0].folded == 2 and folded[0].last_response_id == late_id
    tallies = stored_tallies(db, survey_round.id)
    assert tallies[(area_id, "", 0, "respondents", "", 0)][0] == 2
    assert tallies[(area_id, "", 0, "option", "trivsel", 4)][0] == 2


def test_two_folders_do_not_double_count(org: Org, db: sessionmaker[Session]) -> None:
    rng = random.Random(4)
    survey_round = open_round(org.analyst, n_areas=2)
    for area_id in survey_round.area_ids:
        upload(org.integrator, survey_round.id, area_id, generate(rng, 300))
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def read() -> None:
        try:
            barrier.wait()
            results(org.analyst, survey_round.id, item="trivsel")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=read) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert_same_tallies(
        stored_tallies(db, survey_round.id),
        full_recount(db, survey_round.id, survey_round.version_id),
    )


def test_a_fold_in_progress_blocks_no_submitter_and_as_of_never_goes_back(
    org: Org, db: sessionmaker[Session], backend: str
) -> None:
    """While one request folds a round, submissions go on; a reader waits for the folder and
    then folds what arrived, so `as_of` is monotonic (a reader that skipped the fold would
    report the previous fold's time, older than a read with nothing new reported)."""
    if backend != "postgresql":
        pytest.skip("SQLite runs one writer at a time")
    survey_round = open_round(org.analyst, n_areas=1)
    area_id = survey_round.area_ids[0]
    upload(org.integrator, survey_round.id, area_id, [full_answers()] * 20)
    first = results(org.analyst, survey_round.id, item="trivsel")
    nothing_new = results(org.analyst, survey_round.id, item="trivsel")
    assert nothing_new["as_of"] >= first["as_of"]
    upload(org.integrator, survey_round.id, area_id, [full_answers()] * 15)
    folder = db()
    read: dict[str, Any] = {}
    try:
        # What a long fold holds during its unlocked phase: the watermark row.
        folder.execute(
            select(TallyWatermark)
            .where(TallyWatermark.survey_round_id == survey_round.id)
            .with_for_update()
        ).one()
        reader = threading.Thread(
            target=lambda: read.update(results(org.analyst, survey_round.id, item="trivsel"))
        )
        reader.start()
        time.sleep(0.5)
        assert reader.is_alive(), "the reader should wait for the folder"
        started = time.monotonic()
        upload(org.integrator, survey_round.id, area_id, [full_answers()] * 5)  # not blocked
        assert time.monotonic() - started < 5
    finally:
        folder.rollback()
        folder.close()
    reader.join(timeout=60)
    assert read["areas"][0]["responses"]["responses"] == 40
    assert datetime.fromisoformat(read["as_of"]) >= datetime.fromisoformat(nothing_new["as_of"])
