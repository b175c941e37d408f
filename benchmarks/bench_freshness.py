"""Benchmark: how fresh results cost — the first read after new responses (issue 11, item 1).

    .venv/bin/python benchmarks/bench_freshness.py [--postgres-url URL] [--sizes 10000,100000]
        [--areas 50] [--new 100,10000] [--repeats 5]

On the PostgreSQL server at --postgres-url (default: $SURVEY_API_TEST_POSTGRES_URL, else
postgresql://postgres@127.0.0.1:54329/postgres), for each size it:

1. creates a fresh database, the standard questionnaire, --areas areas and a round, and COPYs
   that many synthetic (valid) responses into the round (bench_results.py's set-up);
2. starts the app under uvicorn (a subprocess) and times the first GET of the round's results:
   it folds every response into the tallies (the first read after a bulk load);
3. times --repeats reads with nothing new: the same-run baseline (the payload cache's hit);
4. for each count in --new, --repeats times: COPYs that many more responses, then times the
   first read after them (which folds them and rebuilds the payload);
5. prints medians, the target of issue 11 (≤ 100 ms + 20 µs × N new responses) and the ratio
   to it, with the load average before and after; drops the database.

This measures the service as it is; it is the yardstick for the fold's rework, not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from datetime import date
from pathlib import Path

import httpx
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_results import (  # noqa: E402  (a sibling script, not a package)
    answer_pool,
    create_database,
    create_round,
    drop_database,
    log,
    set_up_organisation,
    start_server,
)

from survey_api.questionnaires.definition import load_standard_definition  # noqa: E402

DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:54329/postgres"
TARGET_FIXED_S = 0.100
TARGET_PER_RESPONSE_S = 20e-6


def copy_more(url: str, round_id: int, area_ids: list[int], n: int, pool: list[str]) -> None:
    """COPY n more responses into the round, committed before the next read."""
    rng = random.Random()
    today = date.today()
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        with cur.copy(
            "COPY response (survey_round_id, area_id, language, channel, entry, "
            "submitted_date, answers) FROM STDIN"
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


def read_once(client: httpx.Client, round_id: int) -> float:
    start = time.perf_counter()
    response = client.get(f"/api/v1/rounds/{round_id}/results")
    response.raise_for_status()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--postgres-url", default=os.environ.get("SURVEY_API_TEST_POSTGRES_URL", DEFAULT_POSTGRES)
    )
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--areas", type=int, default=50)
    parser.add_argument("--new", default="100,10000")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    news = [int(s) for s in args.new.split(",")]
    pool = answer_pool(load_standard_definition(), 5000, seed=11)
    print(f"load average before: {os.getloadavg()[0]:.2f} (1 min), cores: {os.cpu_count()}")
    rows = []
    for size in sizes:
        name, url = create_database(args.postgres_url, "survey_bench_fresh")
        server = None
        try:
            engine, sessions, setup = set_up_organisation(url, args.areas, role="analyst")
            round_id = create_round(sessions, setup, f"Freshness {size}")
            engine.dispose()
            log(f"{size}: loading responses …")
            plain = url.replace("postgresql+psycopg://", "postgresql://", 1)
            copy_more(plain, round_id, setup.area_ids, size, pool)
            with psycopg.connect(plain, autocommit=True) as conn:
                conn.execute("ANALYZE response")
            server, base = start_server(url)
            headers = {"Authorization": f"Bearer {setup.key}"}
            with httpx.Client(base_url=base, headers=headers, timeout=600) as client:
                first = read_once(client, round_id)
                idle = statistics.median(read_once(client, round_id) for _ in range(args.repeats))
                rows.append((size, "first read after the bulk load", size, first))
                rows.append((size, "read with nothing new (baseline)", 0, idle))
                for n in news:
                    samples = []
                    for _ in range(args.repeats):
                        copy_more(plain, round_id, setup.area_ids, n, pool)
                        samples.append(read_once(client, round_id))
                    rows.append((size, f"first read after +{n}", n, statistics.median(samples)))
        finally:
            if server is not None:
                server.terminate()
                server.wait(timeout=30)
            drop_database(args.postgres_url, name)
    print(f"load average after: {os.getloadavg()[0]:.2f} (1 min)\n")
    print(
        f"Results of a whole round ({args.areas} areas, standard questionnaire), PostgreSQL, "
        f"over HTTP; medians of {args.repeats} (first read after a load: one run)\n"
    )
    print(f"{'responses':>10}  {'read':<34} {'wall ms':>9} {'target ms':>10} {'/ target':>9}")
    for size, what, new, wall in rows:
        target = TARGET_FIXED_S + TARGET_PER_RESPONSE_S * new
        print(
            f"{size:>10}  {what:<34} {wall * 1000:>9.1f} {target * 1000:>10.1f} "
            f"{wall / target:>9.2f}"
        )
    print(
        "\ntarget (issue 11): a read after N new responses <= 100 ms + 20 us x N; the baseline "
        "row is the same run's read with nothing new."
    )
    print(json.dumps([{"size": r[0], "read": r[1], "new": r[2], "wall_s": r[3]} for r in rows]))


if __name__ == "__main__":
    main()
