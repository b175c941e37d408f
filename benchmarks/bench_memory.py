"""Benchmark: an app worker's memory, idle and after reading every round (issue 11, item 4).

    .venv/bin/python benchmarks/bench_memory.py [--postgres-url URL] [--rounds 20] [--areas 50]
        [--responses 10000] [--small-cache 2000000] [--baseline-src DIR] [--keep]

On the PostgreSQL server at --postgres-url (default: $SURVEY_API_TEST_POSTGRES_URL, else
postgresql://postgres@127.0.0.1:54329/postgres) it:

1. creates a fresh database (survey_bench_memory_<random>) with an organisation, an analyst key,
   the published standard questionnaire and --areas areas with households and classifications
   (bench_results' set-up), and --rounds rounds over all of them, each with --responses
   synthetic responses COPYed in;
2. folds every round once, through a throwaway app process that reads each round's results,
   so the measured processes below only read (the fold's own memory is not what is measured);
3. for each cache setting -- the default, --small-cache bytes, and 0 (the cache off: the
   same-run baseline) -- starts one app worker (uvicorn, a subprocess on loopback, background
   folder off) and reads /proc/PID/status: idle (after start-up and one small authenticated
   request), after reading every round's whole results once, and after reading them all again;
   then the latest round 11 times more (a dashboard: cache hits unless the cache is off);
   with --baseline-src, also a process running the code in that source tree (e.g. an older
   checkout's src/, for a before/after on the same data);
4. prints per setting VmRSS (and its anonymous and file-backed parts: file-backed pages of
   shared libraries are shared between workers), the peak (VmHWM), the median read time per
   pass, and the load average; then drops the database (unless --keep).

Targets (issue 11): an idle worker <= 80 MB RSS; <= 150 MB after reading every round of a
1M-response organisation (--rounds 20 --responses 50000; the payload's size depends on the
areas and the questionnaire, not on the number of responses).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_results import (  # noqa: E402
    DEFAULT_PG,
    POOL,
    REPO,
    SECRET,
    answer_pool,
    create_database,
    create_round,
    drop_database,
    free_port,
    log,
    set_up_organisation,
)

from survey_api.config import Settings  # noqa: E402
from survey_api.questionnaires.definition import load_standard_definition  # noqa: E402

STATUS_FIELDS = ("VmRSS", "RssAnon", "RssFile", "VmHWM")


def memory(pid: int) -> dict[str, float]:
    """The process's memory figures from /proc/PID/status, in MB (2^20 bytes)."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in STATUS_FIELDS:
            out[name] = int(value.split()[0]) / 1024
    return out


def copy_responses(url: str, round_id: int, area_ids: list[int], n: int, pool: list[str]) -> None:
    """n responses drawn from the pool, spread evenly over the areas, by COPY."""
    rng = random.Random(round_id)
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


class App:
    """One app worker under uvicorn on a loopback port, with extra environment."""

    def __init__(self, database_url: str, env: dict[str, str], src: str | None = None) -> None:
        port = free_port()
        full_env = {
            **os.environ,
            "SURVEY_API_DATABASE_URL": database_url,
            "SURVEY_API_SECRET_KEY": SECRET,
            "SURVEY_API_FOLD_INTERVAL_SECONDS": "0",
            **env,
        }
        if src is not None:
            full_env["PYTHONPATH"] = src
        self.process = subprocess.Popen(
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
            env=full_env,
            cwd=src or REPO,
        )
        self.base = f"http://127.0.0.1:{port}"
        # Wait on a route that builds nothing (not /openapi.json: generating the contract
        # takes memory of its own, which an idle worker that nobody asked for it has not).
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{self.base}/api/v1/organisation", timeout=1)
                return
            except httpx.TransportError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    self.stop()
                    raise RuntimeError("the app did not start") from None
                time.sleep(0.2)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def read_all(client: httpx.Client, round_ids: list[int]) -> tuple[list[float], int]:
    """Read every round's whole results once: the wall time of each read and the bytes."""
    times, size = [], 0
    for round_id in round_ids:
        start = time.perf_counter()
        response = client.get(f"/api/v1/rounds/{round_id}/results")
        times.append(time.perf_counter() - start)
        response.raise_for_status()
        size += len(response.content)
    return times, size


def measure(
    url: str, key: str, round_ids: list[int], label: str, env: dict[str, str], src: str | None
) -> dict[str, Any]:
    log(f"[{label}] starting the app…")
    app = App(url, env, src)
    try:
        pid = app.process.pid
        with httpx.Client(
            base_url=app.base, headers={"Authorization": f"Bearer {key}"}, timeout=600
        ) as client:
            client.get("/api/v1/organisation").raise_for_status()
            time.sleep(0.5)
            idle = memory(pid)
            load_before = os.getloadavg()[0]
            log(f"[{label}] reading {len(round_ids)} rounds, twice…")
            first_times, payload_bytes = read_all(client, round_ids)
            first = memory(pid)
            second_times, _ = read_all(client, round_ids)
            second = memory(pid)
            # A dashboard's pattern: the latest round, again and again (hits, unless off).
            hot_times, _ = read_all(client, round_ids[-1:] * 11)
            hot = memory(pid)
            load_after = os.getloadavg()[0]
    finally:
        app.stop()
    return {
        "label": label,
        "idle": idle,
        "first": first,
        "second": second,
        "first_ms": statistics.median(first_times) * 1000,
        "second_ms": statistics.median(second_times) * 1000,
        "hot": hot,
        "hot_ms": statistics.median(hot_times) * 1000,
        "payload_mb": payload_bytes / 2**20,
        "load": (load_before, load_after),
    }


def report(rows: list[dict[str, Any]], args: argparse.Namespace) -> None:
    total = args.rounds * args.responses
    print(
        f"\n{args.rounds} rounds × {args.areas} areas, {args.responses:,} responses each "
        f"({total:,} in all); whole-round payloads {rows[0]['payload_mb']:.1f} MB of JSON "
        f"in all ({rows[0]['payload_mb'] / args.rounds * 1024:.0f} KB a round)\n"
    )
    print(
        "| cache | idle RSS (anon + file) | after 1st pass | after 2nd pass | peak (HWM) "
        "| read p50 ms: 1st / 2nd pass / latest round x 11 | load before / after |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")

    def fmt(m: dict[str, float]) -> str:
        return f"{m['VmRSS']:.0f} ({m['RssAnon']:.0f} + {m['RssFile']:.0f})"

    for row in rows:
        print(
            f"| {row['label']} | {fmt(row['idle'])} | {fmt(row['first'])} | "
            f"{fmt(row['second'])} | {row['hot']['VmHWM']:.0f} | "
            f"{row['first_ms']:.0f} / {row['second_ms']:.0f} / {row['hot_ms']:.0f} | "
            f"{row['load'][0]:.1f} / {row['load'][1]:.1f} |"
        )
    print(
        f"\n(MB = 2^20 bytes, from /proc/PID/status of the one uvicorn worker; anon: the "
        f"process's own memory; file: pages of loaded libraries and files, shared with other "
        f"workers; load: 1-minute load average on this {os.cpu_count()}-CPU machine.)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--postgres-url", default=os.environ.get("SURVEY_API_TEST_POSTGRES_URL", DEFAULT_PG)
    )
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--areas", type=int, default=50)
    parser.add_argument("--responses", type=int, default=10_000, help="per round")
    parser.add_argument("--small-cache", type=int, default=2_000_000, help="bytes")
    parser.add_argument(
        "--baseline-src", help="also measure the code in this src/ directory (same database)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    args = parser.parse_args()

    name, url = create_database(args.postgres_url, "survey_bench_memory")
    plain_url = url.replace("postgresql+psycopg://", "postgresql://")
    try:
        engine, sessions, setup = set_up_organisation(url, args.areas, role="analyst")
        log(f"generating {POOL} answer sets…")
        pool = answer_pool(load_standard_definition(), POOL, seed=2026)
        round_ids = []
        for i in range(args.rounds):
            round_id = create_round(sessions, setup, f"Bench {i + 1}")
            log(f"round {i + 1}/{args.rounds}: copying {args.responses:,} responses…")
            copy_responses(plain_url, round_id, setup.area_ids, args.responses, pool)
            round_ids.append(round_id)
        engine.dispose()
        with psycopg.connect(plain_url, autocommit=True) as conn:
            conn.execute("ANALYZE response")

        log("folding every round (a throwaway app process reads each once)…")
        app = App(url, {"SURVEY_API_RESULTS_CACHE_BYTES": "0"})
        try:
            with httpx.Client(
                base_url=app.base, headers={"Authorization": f"Bearer {setup.key}"}, timeout=600
            ) as client:
                read_all(client, round_ids)
        finally:
            app.stop()

        default = Settings.model_fields["results_cache_bytes"].default
        runs: list[tuple[str, dict[str, str], str | None]] = [
            (f"default ({default / 1e6:g} MB)", {}, None),
            (
                f"small ({args.small_cache / 1e6:g} MB)",
                {"SURVEY_API_RESULTS_CACHE_BYTES": str(args.small_cache)},
                None,
            ),
            ("off (0): baseline", {"SURVEY_API_RESULTS_CACHE_BYTES": "0"}, None),
        ]
        if args.baseline_src:
            runs.append((f"code in {args.baseline_src}", {}, args.baseline_src))
        rows = [measure(url, setup.key, round_ids, *run) for run in runs]
        report(rows, args)
    finally:
        if not args.keep:
            drop_database(args.postgres_url, name)


if __name__ == "__main__":
    main()
