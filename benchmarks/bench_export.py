"""Benchmark: streaming exports at 100k responses (issue 3, item 11, export part).

    .venv/bin/python benchmarks/bench_export.py [--postgres-url URL] [--responses 100000]
        [--areas 50] [--repeats 3] [--keep]

On a fresh database on the PostgreSQL server it loads --responses synthetic responses of the
standard questionnaire into one round (COPY), starts the app under uvicorn (one process) and
downloads over HTTP:

- the anonymised responses export (csv, and the Swedish Excel dialect), one row per response;
- the results export (csv and xlsx), one row per figure, after the round is folded;

timing each download to its last byte (median of --repeats) and reading the server process's
peak resident memory (VmHWM) before and after, so the memory an export adds is visible. Beside
them, the same-run floor: PostgreSQL's own `COPY (SELECT …) TO STDOUT` of the same responses.

Targets (issue 3): the CSV export of 100k responses in ≤ 2 s and ≤ 150 MB.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import httpx
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_results import (  # noqa: E402  (a sibling script, not a package)
    DEFAULT_PG,
    answer_pool,
    copy_responses,
    create_database,
    create_round,
    drop_database,
    log,
    set_up_organisation,
    start_server,
)

from survey_api.questionnaires import service as questionnaires_service  # noqa: E402
from survey_api.questionnaires.definition import load_standard_definition  # noqa: E402
from survey_api.results import fold  # noqa: E402


def memory_kb(pid: int, field: str) -> int:
    """VmRSS or VmHWM (peak) of a process, in kB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not found")


def download(client: httpx.Client, url: str, params: dict[str, str]) -> tuple[float, int, int]:
    """Seconds to the last byte, bytes, and rows (lines) of one streamed download."""
    start = time.perf_counter()
    size = lines = 0
    with client.stream("GET", url, params=params) as response:
        response.raise_for_status()
        for chunk in response.iter_bytes():
            size += len(chunk)
            lines += chunk.count(b"\n")
    return time.perf_counter() - start, size, lines


def copy_floor(url: str, round_id: int) -> tuple[float, int]:
    """PostgreSQL's own CSV dump of the round's responses: the floor an export cannot beat."""
    start = time.perf_counter()
    size = 0
    with (
        psycopg.connect(url) as conn,
        conn.cursor() as cur,
        cur.copy(
            "COPY (SELECT id, area_id, language, channel, submitted_date, answers FROM response "
            f"WHERE survey_round_id = {int(round_id)} ORDER BY id) TO STDOUT WITH CSV HEADER"
        ) as copy,
    ):
        for data in copy:
            size += len(data)
    return time.perf_counter() - start, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--postgres-url", default=os.environ.get("SURVEY_API_TEST_POSTGRES_URL", DEFAULT_PG)
    )
    parser.add_argument("--responses", type=int, default=100_000)
    parser.add_argument("--areas", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    name, url = create_database(args.postgres_url, "survey_bench_export")
    plain_url = url.replace("postgresql+psycopg://", "postgresql://")
    server = None
    try:
        engine, sessions, setup = set_up_organisation(url, args.areas, role="admin")
        round_id = create_round(sessions, setup, "Export bench")
        log(f"loading {args.responses} responses…")
        copy_responses(
            plain_url,
            round_id,
            setup.area_ids,
            args.responses,
            answer_pool(load_standard_definition(), 20_000, seed=7),
        )
        with sessions() as session:
            definition = questionnaires_service.published_definition(session, setup.version_id)
            fold.fold_round(session, round_id, definition)
            session.commit()
        engine.dispose()

        server, base = start_server(url)
        client = httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {setup.key}"}, timeout=600
        )
        download(client, f"/api/v1/rounds/{round_id}/exports/codebook", {})  # warm-up
        rss_start = memory_kb(server.pid, "VmRSS")
        cases = [
            ("responses", "csv"),
            ("responses", "csv-excel"),
            ("results", "csv"),
            ("results", "xlsx"),
        ]
        rows = []
        for kind, fmt in cases:
            times = []
            size = lines = 0
            for _ in range(args.repeats):
                seconds, size, lines = download(
                    client, f"/api/v1/rounds/{round_id}/exports/{kind}", {"format": fmt}
                )
                times.append(seconds)
            rows.append(
                (kind, fmt, statistics.median(times), size, lines, memory_kb(server.pid, "VmHWM"))
            )
            log(f"{kind} {fmt}: {statistics.median(times):.2f} s")
        floor = statistics.median(copy_floor(plain_url, round_id)[0] for _ in range(args.repeats))
        client.close()

        print(
            f"\nExports of one round with {args.responses} responses in {args.areas} areas "
            f"(PostgreSQL, one uvicorn process, median of {args.repeats}; "
            f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs):\n"
        )
        print(
            f"{'export':<10} {'format':<10} {'seconds':>8} {'MB':>7} {'lines':>8} "
            f"{'peak RSS MB':>12}"
        )
        for kind, fmt, seconds, size, lines, peak in rows:
            print(
                f"{kind:<10} {fmt:<10} {seconds:>8.2f} {size / 1e6:>7.1f} {lines:>8} "
                f"{peak / 1024:>12.0f}"
            )
        print(
            f"\nserver RSS before the exports: {rss_start / 1024:.0f} MB "
            "(peak RSS is the process's high-water mark after each export)"
        )
        responses_csv = rows[0][2]
        print(
            f"floor: PostgreSQL COPY of the same responses to CSV: {floor:.2f} s "
            f"(responses csv / floor = {responses_csv / floor:.1f})"
        )
        print("targets: CSV export of 100k responses ≤ 2 s and ≤ 150 MB")
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        if not args.keep:
            drop_database(args.postgres_url, name)


if __name__ == "__main__":
    main()
