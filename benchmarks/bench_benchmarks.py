"""Benchmark: GET /benchmarks over many opted-in organisations (issue 13, part 1).

    .venv/bin/python benchmarks/bench_benchmarks.py [--postgres-url URL | --sqlite]
        [--organisations 300] [--areas 50] [--repeats 21] [--keep]

On the PostgreSQL server at --postgres-url (default: $SURVEY_API_TEST_POSTGRES_URL, else
postgresql://postgres@127.0.0.1:54329/postgres), or in a fresh SQLite file with --sqlite, it:

1. creates a fresh database (survey_bench_benchmarks_<random>) and migrates it;
2. sets up a template organisation whose round over --areas areas gets 40 synthetic responses
   per area (COPY, or inserts on SQLite), folded once into its tallies;
3. sets up --organisations opted-in organisations, each with the published standard
   questionnaire, --areas areas (households, area type and police class of 2025) and a round in
   period 2026 whose tally blocks are written directly, copied from the template's blocks in a
   shuffled order (no responses: the benchmark reads tallies only);
4. starts the app under uvicorn (background folder off) and times over HTTP
   GET /api/v1/benchmarks?period=2026&indicator=andel_otrygga_kvall: the first call after the
   start (questionnaire versions parsed, nothing cached) and the p50 of --repeats after it,
   with the server's CPU per call; as the same-run baseline, GET /api/v1/rounds/{id}/results of
   one of those rounds (the within-organisation figures of 50 areas; payload cache hits after
   the first);
5. adds 40 responses to one organisation's round and times the next call (it folds that
   round first) and the one after;
6. in this process (a fresh engine): ``benchmarks.service.benchmarks_of`` with every item,
   indicator and index of the standard questionnaire (what the own-results block asks for),
   first call and p50, and ``benchmark`` of the one indicator the same way;
7. prints it all with the load average before and after, then drops the database (unless
   --keep).

There is no cache: every call reads the rounds, areas and tallies again.
Target (issue 13): p50 ≤ 200 ms at 300 organisations × 50 areas.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

import httpx
from sqlalchemy import insert, select
from sqlalchemy.orm import Session, sessionmaker

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_results as common  # noqa: E402

from survey_api import migrate  # noqa: E402
from survey_api.auth import service as auth_service  # noqa: E402
from survey_api.benchmarks import service as benchmarks_service  # noqa: E402
from survey_api.db import make_engine, make_sessionmaker  # noqa: E402
from survey_api.models import (  # noqa: E402
    Area,
    AreaClassification,
    Response,
    SurveyRound,
    SurveyRoundArea,
    TallyBlock,
    TallyWatermark,
)
from survey_api.organisations import service as organisations_service  # noqa: E402
from survey_api.questionnaires import service as questionnaires_service  # noqa: E402
from survey_api.questionnaires.definition import (  # noqa: E402
    QuestionnaireDefinition,
    load_standard_definition,
)
from survey_api.results import fold  # noqa: E402
from survey_api.results.targets import Target  # noqa: E402

POLICE = ("none", "none", "utsatt", "risk", "sarskilt_utsatt")
PARAMS = {"period": "2026", "indicator": "andel_otrygga_kvall"}


def add_responses(
    url: str,
    sessions: sessionmaker[Session],
    round_id: int,
    area_ids: list[int],
    n: int,
    pool: list[str],
) -> None:
    """n responses spread over the areas: COPY on PostgreSQL, one multi-row insert on SQLite."""
    if url.startswith("postgresql"):
        common.copy_responses(
            url.replace("postgresql+psycopg://", "postgresql://"), round_id, area_ids, n, pool
        )
        return
    rng = random.Random(n)
    with sessions() as session:
        session.execute(
            insert(Response),
            [
                dict(
                    survey_round_id=round_id,
                    area_id=area_ids[i % len(area_ids)],
                    language="sv",
                    channel="paper",
                    entry="api",
                    submitted_date=date.today(),
                    answers=json.loads(pool[rng.randrange(len(pool))]),
                )
                for i in range(n)
            ],
        )
        session.commit()


def set_up(
    url: str, organisations: int, n_areas: int
) -> tuple[str, int, tuple[int, list[int]], list[str]]:
    """Every organisation, area, round and tally block; returns a reader's key, one round's id,
    another round with its areas (for fresh responses) and the answer pool."""
    engine, sessions, template = common.set_up_organisation(url, n_areas, role="analyst")
    round_id = common.create_round(sessions, template, "Template")
    definition = load_standard_definition()
    pool = common.answer_pool(definition, 2000, seed=13)
    add_responses(url, sessions, round_id, template.area_ids, 40 * n_areas, pool)
    with sessions() as session:
        fold.fold_round(session, round_id, definition)
        session.commit()
        blocks = session.execute(
            select(TallyBlock).where(TallyBlock.survey_round_id == round_id)
        ).scalars()
        by_area = {
            b.area_id: (b.breakdown_item, b.breakdown_code, b.counts, b.totals, b.totals_sq)
            for b in blocks
            if b.breakdown_item == ""
        }
        slots = session.get(TallyWatermark, round_id).slots  # type: ignore[union-attr]
    rng = random.Random(13)
    key = ""
    first_round = 0
    fresh: tuple[int, list[int]] = (0, [])
    for i in range(organisations):
        with sessions() as session:
            org = organisations_service.create_organisation(
                session, name=f"Bolag {i}", slug=f"bolag-{i:04d}"
            )
            org.benchmark_opt_in = True
            if i == 0:
                key = auth_service.create_api_key(session, org, name="bench", role="analyst")[1]
            created = questionnaires_service.create_questionnaire(
                session, org.id, definition.to_json()
            )
            version = questionnaires_service.publish(session, org.id, created.questionnaire.id, 1)
            area_ids = []
            for j in range(n_areas):
                area = Area(
                    organisation_id=org.id,
                    code=f"omr{j:03d}",
                    name=f"Område {j}",
                    municipality_code="1480",
                    households=rng.randint(200, 3000),
                )
                session.add(area)
                area_ids.append(area)
            session.flush()
            session.execute(
                insert(AreaClassification),
                [
                    dict(
                        area_id=area.id,
                        year=2025,
                        area_type=1 + (j + i) % 5,
                        police_classification=POLICE[(j + 2 * i) % 5],
                    )
                    for j, area in enumerate(area_ids)
                ],
            )
            survey_round = SurveyRound(
                organisation_id=org.id,
                questionnaire_version_id=version.id,
                name="Trygghetsmätning 2026",
                period="2026",
                open_date=date.today() - timedelta(days=60),
                close_date=date.today() - timedelta(days=1),
            )
            session.add(survey_round)
            session.flush()
            session.execute(
                insert(SurveyRoundArea),
                [dict(survey_round_id=survey_round.id, area_id=a.id) for a in area_ids],
            )
            sources = list(by_area.values())
            rng.shuffle(sources)
            session.execute(
                insert(TallyBlock),
                [
                    dict(
                        survey_round_id=survey_round.id,
                        area_id=area.id,
                        breakdown_item=src[0],
                        breakdown_code=src[1],
                        counts=src[2],
                        totals=src[3],
                        totals_sq=src[4],
                    )
                    for area, src in zip(area_ids, sources, strict=False)
                ],
            )
            session.add(
                TallyWatermark(survey_round_id=survey_round.id, last_response_id=0, slots=slots)
            )
            session.commit()
            if i == 0:
                first_round = survey_round.id
            if i == 1:
                fresh = (survey_round.id, [a.id for a in area_ids])
        if i % 50 == 49:
            common.log(f"  {i + 1} organisations set up")
    engine.dispose()
    return key, first_round, fresh, pool


def time_get(
    client: httpx.Client, path: str, params: dict[str, str], repeats: int, pid: int
) -> tuple[float, float]:
    """p50 wall time of repeated GETs after a warm-up, and the server's CPU per call."""
    client.get(path, params=params).raise_for_status()  # warm-up
    samples = []
    cpu = common.cpu_seconds(pid)
    for _ in range(repeats):
        start = time.perf_counter()
        client.get(path, params=params).raise_for_status()
        samples.append(time.perf_counter() - start)
    return common.p50(samples), (common.cpu_seconds(pid) - cpu) / repeats


def every_target(definition: QuestionnaireDefinition) -> list[Target]:
    """Every item (not text), indicator and index of a questionnaire."""
    return (
        [Target("item", item.key) for item in definition.items if item.kind != "text"]
        + [Target("indicator", indicator.key) for indicator in definition.indicators]
        + [Target("index", index.key) for index in definition.indices]
    )


def time_in_process(url: str, repeats: int) -> dict[str, tuple[float, float, int]]:
    """(first, p50, targets) of benchmark() of the indicator and benchmarks_of() of every
    target, in this process on a fresh engine."""
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    targets = every_target(load_standard_definition())
    runs = {
        "benchmark(indicator)": lambda s: benchmarks_service.benchmark(
            s, "2026", Target("indicator", "andel_otrygga_kvall")
        ),
        "benchmarks_of(every target)": lambda s: benchmarks_service.benchmarks_of(
            s, "2026", targets
        ),
    }
    result = {}
    for name, run in runs.items():
        samples = []
        for _ in range(repeats + 1):
            with sessions() as session:
                start = time.perf_counter()
                run(session)
                samples.append(time.perf_counter() - start)
        count = 1 if name.startswith("benchmark(") else len(targets)
        result[name] = (samples[0], common.p50(samples[1:]), count)
    engine.dispose()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("SURVEY_API_TEST_POSTGRES_URL", common.DEFAULT_PG),
    )
    parser.add_argument("--sqlite", action="store_true", help="a fresh SQLite file instead")
    parser.add_argument("--organisations", type=int, default=300)
    parser.add_argument("--areas", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=21)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    load_before = os.getloadavg()
    if args.sqlite:
        scratch = Path(f"/tmp/bench-benchmarks-{uuid.uuid4().hex[:8]}.sqlite")
        name, url = str(scratch), f"sqlite:///{scratch}"
        migrate.upgrade(url)
    else:
        name, url = common.create_database(args.postgres_url, "survey_bench_benchmarks")
    process = None
    try:
        common.log(f"setting up {args.organisations} organisations × {args.areas} areas")
        key, round_id, (fresh_round, fresh_areas), pool = set_up(
            url, args.organisations, args.areas
        )
        process, base = common.start_server(url)
        headers = {"Authorization": f"Bearer {key}"}
        with httpx.Client(base_url=base, headers=headers, timeout=300) as client:
            start = time.perf_counter()
            body = client.get("/api/v1/benchmarks", params=PARAMS)
            body.raise_for_status()
            first = time.perf_counter() - start
            cells = body.json()["cells"]
            shown = sum(1 for c in cells.values() if not c["suppressed"])
            bench, bench_cpu = time_get(
                client, "/api/v1/benchmarks", PARAMS, args.repeats, process.pid
            )
            path = f"/api/v1/rounds/{round_id}/results"
            baseline, baseline_cpu = time_get(client, path, {}, args.repeats, process.pid)
            engine = make_engine(url)
            add_responses(url, make_sessionmaker(engine), fresh_round, fresh_areas, 40, pool)
            engine.dispose()
            after_fresh = []
            for _ in range(2):
                start = time.perf_counter()
                client.get("/api/v1/benchmarks", params=PARAMS).raise_for_status()
                after_fresh.append(time.perf_counter() - start)
        in_process = time_in_process(url, max(3, args.repeats // 4))
        load_after = os.getloadavg()
        database = "SQLite" if args.sqlite else "PostgreSQL"
        print(f"database                          {database}")
        print(f"organisations × areas             {args.organisations} × {args.areas}")
        print(f"GET /benchmarks first             {first * 1000:8.1f} ms")
        print(
            f"GET /benchmarks p50               {bench * 1000:8.1f} ms  "
            f"(server CPU {bench_cpu * 1000:.1f} ms/call; {shown} of 9 cells shown)"
        )
        print(
            f"baseline: one round's results p50 {baseline * 1000:8.1f} ms  "
            f"(server CPU {baseline_cpu * 1000:.1f} ms/call)"
        )
        print(f"ratio benchmark / baseline        {bench / baseline:8.1f}")
        print(
            f"after 40 new responses in a round {after_fresh[0] * 1000:8.1f} ms "
            f"(folds it), then {after_fresh[1] * 1000:.1f} ms"
        )
        for label, (first_call, median, count) in in_process.items():
            print(
                f"in process: {label:<28} first {first_call * 1000:8.1f} ms, "
                f"p50 {median * 1000:8.1f} ms ({count} targets)"
            )
        print(
            "load average (1, 5, 15 min)       before "
            + ", ".join(f"{v:.2f}" for v in load_before)
            + "; after "
            + ", ".join(f"{v:.2f}" for v in load_after)
        )
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=30)
        if not args.keep:
            if args.sqlite:
                Path(name).unlink(missing_ok=True)
            else:
                common.drop_database(args.postgres_url, name)
        elif args.sqlite:
            common.log(f"kept {name}")


if __name__ == "__main__":
    main()
