"""Benchmark: an area's overview of both surveys against reading the two rounds' results.

    .venv/bin/python benchmarks/bench_overview.py [--postgres-url URL] [--repeats 31]

On the demo (six areas, the trygghetsmätning and the kundenkät with a round each this year,
260 answers per area and round), in a fresh SQLite file and, when --postgres-url is given (or
$SURVEY_API_TEST_POSTGRES_URL is set), in a fresh PostgreSQL database, it starts the app under
uvicorn (the background folder off, as bench_results.py does) and times, for Hjällbo:

- the overview: GET /api/v1/areas/{id}/overview (the newest period: both surveys);
- the same-run baseline: what a client does without it, GET /api/v1/rounds/{id}/results?area_id=
  for each of the two rounds, one after the other.

Each is timed on the first call after the server starts (the payloads are built then; the demo
has already folded the tallies) and as the p50 of --repeats calls after that (payload cache
hits). Prints the figures, their ratio and the load average.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

import httpx
import psycopg
from sqlalchemy import make_url, select

from survey_api import migrate
from survey_api.db import make_engine, make_sessionmaker
from survey_api.demo import load_demo
from survey_api.models import Area, SurveyRound

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_results import start_server  # noqa: E402


def _demo(url: str) -> tuple[str, int, list[int]]:
    """Migrate, load the demo; the admin key, Hjällbo's id and this year's two round ids."""
    migrate.upgrade(url)
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as session:
            report = load_demo(session, base_url="http://bench.invalid")
            session.commit()
            key = report.split("Admin API key (shown once; store it): ", 1)[1].split()[0]
            area = session.scalar(select(Area.id).where(Area.code == "hjallbo"))
            newest = session.scalar(select(SurveyRound.period).order_by(SurveyRound.period.desc()))
            rounds = list(
                session.scalars(
                    select(SurveyRound.id)
                    .where(SurveyRound.period == newest)
                    .order_by(SurveyRound.id)
                )
            )
    finally:
        engine.dispose()
    assert area is not None and len(rounds) == 2, rounds
    return key, area, rounds


def _time(call: object, repeats: int) -> tuple[float, float]:
    """(first call, p50 of the repeats after it), in ms."""
    assert callable(call)
    start = time.perf_counter()
    call()
    first = (time.perf_counter() - start) * 1000
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        samples.append((time.perf_counter() - start) * 1000)
    return first, statistics.median(samples)


def run(label: str, url: str, repeats: int) -> None:
    key, area, rounds = _demo(url)
    process, base = start_server(url)
    try:
        with httpx.Client(
            base_url=f"{base}/api/v1", headers={"Authorization": f"Bearer {key}"}, timeout=120
        ) as client:

            def overview() -> None:
                body = client.get(f"/areas/{area}/overview").raise_for_status().json()
                assert len(body["surveys"]) == 2, body

            def two_rounds() -> None:
                for round_id in rounds:
                    client.get(
                        f"/rounds/{round_id}/results", params={"area_id": area}
                    ).raise_for_status()

            load = os.getloadavg()[0]
            # The baseline first: its first call builds the payloads the overview's would.
            base_first, base_p50 = _time(two_rounds, repeats)
            process.terminate()
            process.wait()
            process, base = start_server(url)
            client.base_url = httpx.URL(f"{base}/api/v1")
            over_first, over_p50 = _time(overview, repeats)
    finally:
        process.terminate()
        process.wait()
    print(
        f"{label}: overview first {over_first:.0f} ms, p50 {over_p50:.1f} ms | two round reads "
        f"first {base_first:.0f} ms, p50 {base_p50:.1f} ms | ratio p50 {over_p50 / base_p50:.2f} "
        f"(load {load:.1f} -> {os.getloadavg()[0]:.1f}; {repeats} repeats)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres-url", default=os.environ.get("SURVEY_API_TEST_POSTGRES_URL"))
    parser.add_argument("--repeats", type=int, default=31)
    args = parser.parse_args()
    scratch = Path(f"/tmp/bench-overview-{uuid.uuid4().hex[:8]}.sqlite")
    try:
        run("SQLite", f"sqlite:///{scratch}", args.repeats)
    finally:
        scratch.unlink(missing_ok=True)
    if args.postgres_url:
        name = f"survey_bench_overview_{uuid.uuid4().hex[:8]}"
        admin = make_url(args.postgres_url)
        with psycopg.connect(args.postgres_url, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        try:
            run("PostgreSQL", admin.set(database=name).render_as_string(False), args.repeats)
        finally:
            with psycopg.connect(args.postgres_url, autocommit=True) as connection:
                connection.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
