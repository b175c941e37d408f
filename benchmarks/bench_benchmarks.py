"""Benchmark: GET /benchmarks over many opted-in organisations (issue 13, part 1).

    .venv/bin/python benchmarks/bench_benchmarks.py [--postgres-url URL] [--organisations 300]
        [--areas 50] [--repeats 11] [--keep]

On the PostgreSQL server at --postgres-url (default: $SURVEY_API_TEST_POSTGRES_URL, else
postgresql://postgres@127.0.0.1:54329/postgres) it:

1. creates a fresh database (survey_bench_benchmarks_<random>) and migrates it;
2. sets up a template organisation whose round over --areas areas gets 40 synthetic responses
   per area (COPY), folded once into its tallies;
3. sets up --organisations opted-in organisations, each with the published standard
   questionnaire, --areas areas (households, area type and police class of 2025) and a round in
   period 2026 whose tally blocks are written directly, copied from the template's blocks in a
   shuffled order (no responses: the benchmark reads tallies only);
4. starts the app under uvicorn and times, over HTTP, GET /api/v1/benchmarks?period=2026&
   indicator=andel_otrygga_kvall (p50 of --repeats after a warm-up) and, as the same-run
   baseline, GET /api/v1/rounds/{id}/results of one of those organisations' rounds (the
   within-organisation figures of 50 areas);
5. prints both p50s, their ratio and how many cells were shown, then drops the database
   (unless --keep).

Target (issue 13): p50 ≤ 200 ms at 300 organisations × 50 areas.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import httpx
from sqlalchemy import insert, select

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_results as common  # noqa: E402

from survey_api.auth import service as auth_service  # noqa: E402
from survey_api.models import (  # noqa: E402
    Area,
    AreaClassification,
    SurveyRound,
    SurveyRoundArea,
    TallyBlock,
    TallyWatermark,
)
from survey_api.organisations import service as organisations_service  # noqa: E402
from survey_api.questionnaires import service as questionnaires_service  # noqa: E402
from survey_api.questionnaires.definition import load_standard_definition  # noqa: E402
from survey_api.results import fold  # noqa: E402

POLICE = ("none", "none", "utsatt", "risk", "sarskilt_utsatt")


def set_up(url: str, organisations: int, n_areas: int) -> tuple[str, int]:
    """Every organisation, area, round and tally block; returns a reader's key and one round."""
    engine, sessions, template = common.set_up_organisation(url, n_areas, role="analyst")
    round_id = common.create_round(sessions, template, "Template")
    definition = load_standard_definition()
    pool = common.answer_pool(definition, 2000, seed=13)
    plain_url = url.replace("postgresql+psycopg://", "postgresql://")
    common.copy_responses(plain_url, round_id, template.area_ids, 40 * n_areas, pool)
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
        if i % 50 == 49:
            common.log(f"  {i + 1} organisations set up")
    engine.dispose()
    return key, first_round


def time_get(client: httpx.Client, path: str, params: dict[str, str], repeats: int) -> float:
    client.get(path, params=params).raise_for_status()  # warm-up
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        client.get(path, params=params).raise_for_status()
        samples.append(time.perf_counter() - start)
    return common.p50(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("SURVEY_API_TEST_POSTGRES_URL", common.DEFAULT_PG),
    )
    parser.add_argument("--organisations", type=int, default=300)
    parser.add_argument("--areas", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=11)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    name, url = common.create_database(args.postgres_url, "survey_bench_benchmarks")
    process = None
    try:
        common.log(f"setting up {args.organisations} organisations × {args.areas} areas")
        key, round_id = set_up(url, args.organisations, args.areas)
        process, base = common.start_server(url)
        headers = {"Authorization": f"Bearer {key}"}
        with httpx.Client(base_url=base, headers=headers, timeout=120) as client:
            params = {"period": "2026", "indicator": "andel_otrygga_kvall"}
            start = time.perf_counter()
            body = client.get("/api/v1/benchmarks", params=params)
            body.raise_for_status()
            first = time.perf_counter() - start
            cells = body.json()["cells"]
            shown = sum(1 for c in cells.values() if not c["suppressed"])
            bench = time_get(client, "/api/v1/benchmarks", params, args.repeats)
            baseline = time_get(client, f"/api/v1/rounds/{round_id}/results", {}, args.repeats)
        print(f"organisations × areas        {args.organisations} × {args.areas}")
        print(f"GET /benchmarks first        {first * 1000:8.1f} ms")
        print(f"GET /benchmarks p50          {bench * 1000:8.1f} ms  ({shown} of 9 cells shown)")
        print(f"baseline: one round's results p50 {baseline * 1000:8.1f} ms")
        print(f"ratio benchmark / baseline   {bench / baseline:8.1f}")
        print(f"load average                 {os.getloadavg()[0]:.2f}")
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=30)
        if not args.keep:
            common.drop_database(args.postgres_url, name)


if __name__ == "__main__":
    main()
