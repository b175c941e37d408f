"""Benchmark: reading a whole round's results as responses accumulate (issue 3, item 11).

    .venv/bin/python benchmarks/bench_results.py [--postgres-url URL] [--sizes 10000,100000,1000000]
        [--areas 50] [--repeats 21] [--keep]

On the PostgreSQL server at --postgres-url (default: $SURVEY_API_TEST_POSTGRES_URL, else
postgresql://postgres@127.0.0.1:54329/postgres) it:

1. creates a fresh database (survey_bench_results_<random>), migrates it, and sets up an
   organisation, an analyst key, the published standard questionnaire and --areas areas with
   household counts and classifications (so the payload has area-type and police pools);
2. for each size, creates a round over all areas and COPYs that many synthetic responses of the
   standard questionnaire into it (valid answer sets: show_if, exclusive options and skipped
   items respected), spread evenly over the areas;
3. folds the round into its tallies once, timed on its own (the fold happens on the first read,
   or whenever new responses arrive: it costs O(new responses), once);
4. starts the app under uvicorn (a subprocess) and times GET /api/v1/rounds/{id}/results
   (the whole round: every area × item, indicators, indices, pooled groups) over HTTP,
   --repeats times after two warm-up calls, and reports the p50;
5. beside it, the same-run baseline: the plain SQL a results page without tallies would run,
   counting per area × item × answer with jsonb_each over the round's responses (p50 of 5
   runs, 3 at ≥ 1M);
6. prints a table (with the app process's CPU time per call and the load average, so figures
   from a shared machine can be read) and the ratios largest/smallest size, then drops the
   database (unless --keep).

Targets (issue 3): p50 ≤ 100 ms at 1M responses and 1M/10k ratio ≤ 1.5.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
from sqlalchemy import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

from survey_api import migrate
from survey_api.auth import service as auth_service
from survey_api.db import make_engine, make_sessionmaker, normalise_url
from survey_api.models import Area, AreaClassification, SurveyRound, SurveyRoundArea
from survey_api.organisations import service as organisations_service
from survey_api.questionnaires import service as questionnaires_service
from survey_api.questionnaires.definition import (
    QuestionnaireDefinition,
    is_visible,
    load_standard_definition,
    validate_answers,
)
from survey_api.results import fold

REPO = Path(__file__).resolve().parents[1]
DEFAULT_PG = "postgresql://postgres@127.0.0.1:54329/postgres"
DEFAULT_SIZES = "10000,100000,1000000"
SECRET = "bench-secret-key"
POOL = 20_000  # distinct answer sets; responses draw from them

BASELINE_SQL = """
SELECT r.area_id, e.key, e.value, count(*)
FROM response r CROSS JOIN LATERAL jsonb_each(r.answers) AS e
WHERE r.survey_round_id = %s
GROUP BY r.area_id, e.key, e.value
"""


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- data ---------------------------------------------------------------------------------------


def answer_pool(definition: QuestionnaireDefinition, size: int, seed: int) -> list[str]:
    """Valid, varied answer sets as JSON text."""
    rng = random.Random(seed)
    pool = []
    for _ in range(size):
        tilt = rng.uniform(-0.1, 0.6)  # respondents differ, so areas differ
        answers: dict[str, Any] = {}
        for item in definition.items:
            if not is_visible(definition, item, answers) or rng.random() < 0.07:
                continue
            if item.kind == "text":
                if rng.random() < 0.1:
                    answers[item.key] = "Mörkt vid gångtunneln"
                continue
            codes = list(item.codes)
            if item.kind == "multi_choice":
                exclusive = [o.code for o in item.options if o.exclusive]
                if exclusive and rng.random() < 0.6:
                    answers[item.key] = exclusive[:1]
                else:
                    others = [c for c in codes if c not in exclusive]
                    answers[item.key] = sorted(
                        rng.sample(others, rng.randint(1, min(3, len(others))))
                    )
                continue
            weights = [max(0.05, 1.0 + tilt * (len(codes) - i)) for i in range(len(codes))]
            answers[item.key] = rng.choices(codes, weights=weights)[0]
        pool.append(answers)
    for answers in pool[:500]:
        assert not validate_answers(definition, answers), validate_answers(definition, answers)
    return [json.dumps(a) for a in pool]


def copy_responses(url: str, round_id: int, area_ids: list[int], n: int, pool: list[str]) -> None:
    rng = random.Random(n)
    today = date.today()
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        with cur.copy(
            "COPY response (survey_round_id, area_id, language, channel, entry, submitted_date, "
            "answers) FROM STDIN"
        ) as copy:
            for i in range(n):
                copy.write_row(
                    (
                        round_id,
                        area_ids[i % len(area_ids)],
                        "sv",
                        "paper",
                        "api",
                        today,
                        pool[rng.randrange(len(pool))],
                    )
                )
        conn.commit()
        cur.execute("ANALYZE response")
        conn.commit()


# --- set-up -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BenchSetup:
    org_id: int
    key: str
    version_id: int
    area_ids: list[int]


def create_database(postgres_url: str, prefix: str) -> tuple[str, str]:
    """A fresh, migrated database on the server; returns its name and SQLAlchemy URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = (
        make_url(normalise_url(postgres_url))
        .set(database=name)
        .render_as_string(hide_password=False)
    )
    migrate.upgrade(url)
    return name, url


def drop_database(postgres_url: str, name: str) -> None:
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def set_up_organisation(
    url: str, n_areas: int, *, role: str
) -> tuple[Engine, sessionmaker[Session], BenchSetup]:
    """An organisation with a key of `role`, the published standard questionnaire, and areas
    with households and classifications (so the payload has area-type and police pools)."""
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    with sessions() as session:
        org = organisations_service.create_organisation(session, name="Bench", slug="bench")
        key = auth_service.create_api_key(session, org, name="bench", role=role)[1]
        created = questionnaires_service.create_questionnaire(
            session, org.id, load_standard_definition().to_json()
        )
        version = questionnaires_service.publish(session, org.id, created.questionnaire.id, 1)
        rng = random.Random(1)
        area_ids = []
        for i in range(n_areas):
            area = Area(
                organisation_id=org.id,
                code=f"omr{i:03d}",
                name=f"Område {i}",
                municipality_code="1480",
                households=rng.randint(200, 3000),
            )
            session.add(area)
            session.flush()
            session.add(
                AreaClassification(
                    area_id=area.id,
                    year=2025,
                    area_type=1 + i % 5,
                    police_classification=("none", "none", "utsatt", "risk", "sarskilt_utsatt")[
                        i % 5
                    ],
                )
            )
            area_ids.append(area.id)
        session.commit()
        return engine, sessions, BenchSetup(org.id, key, version.id, area_ids)


def create_round(sessions: sessionmaker[Session], setup: BenchSetup, name: str) -> int:
    """An open round over all the set-up's areas."""
    with sessions() as session:
        survey_round = SurveyRound(
            organisation_id=setup.org_id,
            questionnaire_version_id=setup.version_id,
            name=name,
            period="2026",
            open_date=date.today() - timedelta(days=1),
            close_date=date.today() + timedelta(days=30),
        )
        session.add(survey_round)
        session.flush()
        session.add_all(
            SurveyRoundArea(survey_round_id=survey_round.id, area_id=a) for a in setup.area_ids
        )
        session.commit()
        return survey_round.id


# --- server -------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(
    database_url: str, *, fold_interval: float = 0
) -> tuple[subprocess.Popen[bytes], str]:
    """The app under uvicorn; its background folder is off unless ``fold_interval`` is set,
    so a read's timing includes the fold it does."""
    port = free_port()
    env = {
        **os.environ,
        "SURVEY_API_DATABASE_URL": database_url,
        "SURVEY_API_SECRET_KEY": SECRET,
        "SURVEY_API_FOLD_INTERVAL_SECONDS": str(fold_interval),
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "survey_api.main:create_app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=env,
        cwd=REPO,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{base}/api/v1/openapi.json", timeout=1)
            return process, base
        except httpx.TransportError:
            time.sleep(0.2)
    process.terminate()
    raise RuntimeError("the app did not start")


# --- measurements -------------------------------------------------------------------------------


def p50(samples: list[float]) -> float:
    return statistics.median(samples)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def time_results(
    client: httpx.Client, round_id: int, repeats: int, server_pid: int
) -> tuple[float, float, float, int]:
    """Over HTTP: the first read's wall time (a cache miss: the payload is built from the
    tallies), then the p50 of repeated reads and the app's CPU per call, and the payload size."""
    start = time.perf_counter()
    response = client.get(f"/api/v1/rounds/{round_id}/results")
    response.raise_for_status()
    first = time.perf_counter() - start
    size = len(response.content)
    client.get(f"/api/v1/rounds/{round_id}/results").raise_for_status()  # warm-up
    samples = []
    cpu_before = cpu_seconds(server_pid)
    for _ in range(repeats):
        start = time.perf_counter()
        response = client.get(f"/api/v1/rounds/{round_id}/results")
        response.raise_for_status()
        samples.append(time.perf_counter() - start)
    cpu = (cpu_seconds(server_pid) - cpu_before) / repeats
    return first, p50(samples), cpu, size


def time_baseline(url: str, round_id: int, runs: int) -> tuple[float, int]:
    samples = []
    rows = 0
    with psycopg.connect(url) as conn:
        for _ in range(runs):
            start = time.perf_counter()
            rows = len(conn.execute(BASELINE_SQL, (round_id,)).fetchall())
            samples.append(time.perf_counter() - start)
    return p50(samples), rows


# --- main ---------------------------------------------------------------------------------------


def report(rows: list[dict[str, Any]], areas: int, repeats: int) -> None:
    """Print the table and the ratios largest/smallest size."""
    print(
        f"\nResults of a whole round ({areas} areas, standard questionnaire) on PostgreSQL; "
        f"p50 of {repeats} HTTP calls after the fold, beside the plain SQL GROUP BY:\n"
    )
    header = (
        "responses",
        "COPY s",
        "fold s",
        "fold/s",
        "tally blocks",
        "first read ms",
        "results p50 ms",
        "app CPU ms",
        "load",
        "payload KB",
        "GROUP BY p50 ms",
    )
    widths = (10, 7, 7, 7, 11, 14, 15, 11, 5, 11, 16)
    print(" ".join(h.rjust(w) for h, w in zip(header, widths, strict=True)))
    for r in rows:
        cells = (
            str(r["responses"]),
            f"{r['load_s']:.1f}",
            f"{r['fold_s']:.1f}",
            f"{r['responses'] / r['fold_s']:.0f}",
            str(r["tally_rows"]),
            f"{r['first_read_ms']:.1f}",
            f"{r['results_p50_ms']:.1f}",
            f"{r['app_cpu_ms']:.0f}",
            f"{r['load']:.1f}",
            f"{r['payload_kb']:.0f}",
            f"{r['baseline_p50_ms']:.1f}",
        )
        print(" ".join(c.rjust(w) for c, w in zip(cells, widths, strict=True)))
    if len(rows) > 1:
        first, last = rows[0], rows[-1]
        results_ratio = last["results_p50_ms"] / first["results_p50_ms"]
        baseline_ratio = last["baseline_p50_ms"] / first["baseline_p50_ms"]
        cpu_ratio = last["app_cpu_ms"] / first["app_cpu_ms"]
        print(
            f"\nratio {last['responses']}/{first['responses']}: results {results_ratio:.2f} "
            f"(target <= 1.5; app CPU {cpu_ratio:.2f}); plain GROUP BY {baseline_ratio:.2f}"
        )
    print(
        f"\n(first read: the first call after the fold, which builds the payload from the tallies; "
        f"results p50: repeated reads of the unchanged round, served from the process's payload "
        f"cache after the fold check; app CPU ms: CPU time of the uvicorn process per repeated "
        f"call; load: 1-minute load average on this {os.cpu_count()}-CPU machine.)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--postgres-url", default=os.environ.get("SURVEY_API_TEST_POSTGRES_URL", DEFAULT_PG)
    )
    parser.add_argument("--sizes", default=DEFAULT_SIZES, help="comma-separated response counts")
    parser.add_argument("--areas", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=21)
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    name, url = create_database(args.postgres_url, "survey_bench_results")
    plain_url = url.replace("postgresql+psycopg://", "postgresql://")
    server = None
    try:
        engine, sessions, setup = set_up_organisation(url, args.areas, role="analyst")
        key, version, areas = setup.key, setup.version_id, setup.area_ids
        definition = load_standard_definition()
        log(f"generating {POOL} answer sets…")
        pool = answer_pool(definition, POOL, seed=2026)

        server, base = start_server(url)
        client = httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=600
        )
        rows_out = []
        for n in sizes:
            round_id = create_round(sessions, setup, f"Bench {n}")
            log(f"[{n}] copying responses…")
            start = time.perf_counter()
            copy_responses(plain_url, round_id, areas, n, pool)
            load_s = time.perf_counter() - start
            log(f"[{n}] folding…")
            with sessions() as session:
                start = time.perf_counter()
                result = fold.fold_round(
                    session,
                    round_id,
                    questionnaires_service.published_definition(session, version),
                )
                session.commit()
                fold_s = time.perf_counter() - start
            assert result.folded == n
            log(f"[{n}] timing results…")
            load = os.getloadavg()[0]
            first_s, results_s, app_cpu_s, payload_bytes = time_results(
                client, round_id, args.repeats, server.pid
            )
            log(f"[{n}] timing the SQL baseline…")
            baseline_s, baseline_rows = time_baseline(
                plain_url, round_id, 3 if n >= 1_000_000 else 5
            )
            with psycopg.connect(plain_url) as conn:
                tally_rows = conn.execute(
                    "SELECT count(*) FROM tally_block WHERE survey_round_id = %s", (round_id,)
                ).fetchone()
            rows_out.append(
                {
                    "responses": n,
                    "load_s": load_s,
                    "fold_s": fold_s,
                    "first_read_ms": first_s * 1000,
                    "results_p50_ms": results_s * 1000,
                    "app_cpu_ms": app_cpu_s * 1000,
                    "load": load,
                    "payload_kb": payload_bytes / 1024,
                    "baseline_p50_ms": baseline_s * 1000,
                    "baseline_rows": baseline_rows,
                    "tally_rows": tally_rows[0] if tally_rows else 0,
                }
            )
        client.close()

        report(rows_out, args.areas, args.repeats)
        engine.dispose()
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        if not args.keep:
            drop_database(args.postgres_url, name)


if __name__ == "__main__":
    main()
