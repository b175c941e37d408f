"""Benchmark: how fresh results cost — the first read after new responses (issue 11, item 1).

    .venv/bin/python benchmarks/bench_freshness.py [--database postgresql|sqlite]
        [--postgres-url URL] [--sizes 10000,100000] [--areas 50] [--new 100,10000]
        [--repeats 5] [--fold-interval 0.5]

On a fresh database (a new PostgreSQL database on the server at --postgres-url, default
$SURVEY_API_TEST_POSTGRES_URL, else postgresql://postgres@127.0.0.1:54329/postgres; or a new
SQLite file with --database sqlite), for each size it:

1. creates the standard questionnaire, --areas areas and a round, and loads that many
   synthetic (valid) responses into the round (PostgreSQL: COPY; SQLite: one executemany);
2. starts the app under uvicorn (a subprocess) with the background folder OFF and times the
   first GET of the round's results: it folds every response (the first read after a load);
3. times --repeats reads with nothing new: the same-run baseline (the payload cache's hit);
4. for each count in --new, --repeats times: loads that many more responses, then times the
   first read after them, which folds them inline and rebuilds the payload;
5. restarts the app with the background folder ON (--fold-interval seconds) and, for each
   count in --new, --repeats times: loads them, measures how long until the folder has folded
   them (the round's watermark reaches the new last id: the lag to fresh results), waits two
   more intervals for it to build the payload, and times a read: the read a polling dashboard
   pays;
6. prints medians, the target of issue 11 (≤ 100 ms + 20 µs × N new responses) and the ratio
   to it, with the load average before and after; drops the database.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import httpx
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_results import (  # noqa: E402  (a sibling script, not a package)
    answer_pool,
    copy_responses,
    create_database,
    create_round,
    drop_database,
    log,
    set_up_organisation,
    start_server,
)

from survey_api import migrate  # noqa: E402
from survey_api.questionnaires.definition import load_standard_definition  # noqa: E402

DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:54329/postgres"
TARGET_FIXED_S = 0.100
TARGET_PER_RESPONSE_S = 20e-6


class Target:
    """Where the benchmark's database lives, and how responses are loaded into it."""

    def __init__(self, kind: str, postgres_url: str, workdir: Path) -> None:
        self.kind = kind
        self.postgres_url = postgres_url
        self.workdir = workdir
        self.name = ""
        self.url = ""

    def create(self) -> str:
        if self.kind == "postgresql":
            self.name, self.url = create_database(self.postgres_url, "survey_bench_fresh")
        else:
            path = self.workdir / f"fresh-{os.getpid()}-{time.monotonic_ns()}.sqlite"
            self.name, self.url = str(path), f"sqlite:///{path}"
            migrate.upgrade(self.url)
        return self.url

    def drop(self) -> None:
        if self.kind == "postgresql":
            drop_database(self.postgres_url, self.name)
        else:
            for suffix in ("", "-wal", "-shm"):
                Path(self.name + suffix).unlink(missing_ok=True)

    def load(self, round_id: int, area_ids: list[int], n: int, pool: list[str]) -> None:
        """n more responses in the round, committed before the next read (PostgreSQL:
        bench_results' COPY)."""
        if self.kind == "postgresql":
            plain = self.url.replace("postgresql+psycopg://", "postgresql://", 1)
            copy_responses(plain, round_id, area_ids, n, pool)
            return
        rng = random.Random()
        today = date.today().isoformat()
        with sqlite3.connect(self.name) as conn:
            conn.executemany(
                "INSERT INTO response (survey_round_id, area_id, language, channel, entry, "
                "submitted_date, answers) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (round_id, area_ids[i % len(area_ids)], "sv", "paper", "api", today, answers)
                    for i, answers in enumerate(rng.choices(pool, k=n))
                ],
            )

    def analyze(self) -> None:
        if self.kind == "postgresql":
            plain = self.url.replace("postgresql+psycopg://", "postgresql://", 1)
            with psycopg.connect(plain, autocommit=True) as conn:
                conn.execute("ANALYZE response")

    def folded_to(self, round_id: int) -> tuple[int, int]:
        """(the round's last response id, its watermark)."""
        query = (
            f"SELECT (SELECT max(id) FROM response WHERE survey_round_id = {round_id:d}), "
            f"(SELECT last_response_id FROM tally_watermark WHERE survey_round_id = {round_id:d})"
        )
        if self.kind == "sqlite":
            with sqlite3.connect(self.name) as conn:
                last, mark = conn.execute(query).fetchone()
        else:
            plain = self.url.replace("postgresql+psycopg://", "postgresql://", 1)
            with psycopg.connect(plain, autocommit=True) as conn:
                last, mark = conn.execute(query).fetchone()  # type: ignore[misc]
        return int(last or 0), int(mark or 0)


def read_once(client: httpx.Client, round_id: int) -> float:
    start = time.perf_counter()
    response = client.get(f"/api/v1/rounds/{round_id}/results")
    response.raise_for_status()
    return time.perf_counter() - start


def measure(
    target: Target, size: int, args: argparse.Namespace, pool: list[str]
) -> list[tuple[int, str, int, float]]:
    news = [int(s) for s in args.new.split(",")]
    rows: list[tuple[int, str, int, float]] = []
    url = target.create()
    server = None
    try:
        engine, sessions, setup = set_up_organisation(url, args.areas, role="analyst")
        round_id = create_round(sessions, setup, f"Freshness {size}")
        engine.dispose()
        log(f"{target.kind} {size}: loading responses …")
        target.load(round_id, setup.area_ids, size, pool)
        target.analyze()
        headers = {"Authorization": f"Bearer {setup.key}"}
        server, base = start_server(url)
        with httpx.Client(base_url=base, headers=headers, timeout=600) as client:
            first = read_once(client, round_id)
            idle = statistics.median(read_once(client, round_id) for _ in range(args.repeats))
            rows.append((size, "first read after the bulk load", size, first))
            rows.append((size, "read with nothing new (baseline)", 0, idle))
            for n in news:
                samples = []
                for _ in range(args.repeats):
                    target.load(round_id, setup.area_ids, n, pool)
                    samples.append(read_once(client, round_id))
                rows.append((size, f"first read after +{n}", n, statistics.median(samples)))
        server.terminate()
        server.wait(timeout=60)
        server = None
        if args.fold_interval > 0:
            server, base = start_server(url, fold_interval=args.fold_interval)
            with httpx.Client(base_url=base, headers=headers, timeout=600) as client:
                read_once(client, round_id)
                for n in news:
                    lags, reads = [], []
                    for _ in range(args.repeats):
                        target.load(round_id, setup.area_ids, n, pool)
                        committed = time.perf_counter()
                        while True:
                            last, mark = target.folded_to(round_id)
                            if mark >= last:
                                break
                            time.sleep(0.02)
                        lags.append(time.perf_counter() - committed)
                        time.sleep(2 * args.fold_interval)
                        reads.append(read_once(client, round_id))
                    rows.append(
                        (size, f"folder: lag until +{n} folded", n, statistics.median(lags))
                    )
                    rows.append(
                        (size, f"folder: read after +{n} folded", n, statistics.median(reads))
                    )
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=60)
        target.drop()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument(
        "--postgres-url", default=os.environ.get("SURVEY_API_TEST_POSTGRES_URL", DEFAULT_POSTGRES)
    )
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--areas", type=int, default=50)
    parser.add_argument("--new", default="100,10000")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--fold-interval", type=float, default=0.5)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    pool = answer_pool(load_standard_definition(), 5000, seed=11)
    print(f"load average before: {os.getloadavg()[0]:.2f} (1 min), cores: {os.cpu_count()}")
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-fresh-") as workdir:
        target = Target(args.database, args.postgres_url, Path(workdir))
        for size in sizes:
            rows.extend(measure(target, size, args, pool))
    print(f"load average after: {os.getloadavg()[0]:.2f} (1 min)\n")
    print(
        f"Results of a whole round ({args.areas} areas, standard questionnaire), "
        f"{args.database}, over HTTP; medians of {args.repeats} (first read after a load: one "
        f"run); folder interval {args.fold_interval} s\n"
    )
    print(f"{'responses':>10}  {'read':<34} {'wall ms':>9} {'target ms':>10} {'/ target':>9}")
    for size, what, new, wall in rows:
        target_s = TARGET_FIXED_S + TARGET_PER_RESPONSE_S * new
        print(
            f"{size:>10}  {what:<34} {wall * 1000:>9.1f} {target_s * 1000:>10.1f} "
            f"{wall / target_s:>9.2f}"
        )
    print(
        "\ntarget (issue 11): a read after N new responses <= 100 ms + 20 us x N; the baseline "
        "row is the same run's read with nothing new. 'lag' is from the commit of the new "
        "responses until the background folder had folded them (no read involved)."
    )
    print(json.dumps([{"size": r[0], "read": r[1], "new": r[2], "wall_s": r[3]} for r in rows]))


if __name__ == "__main__":
    main()
