"""Benchmark: streaming exports at 100k responses (issue 11, item 3).

    .venv/bin/python benchmarks/bench_export.py [--postgres-url URL] [--responses 100000]
        [--areas 50] [--repeats 3] [--baseline-src DIR] [--no-xlsx] [--keep]

On a fresh database on the PostgreSQL server it loads --responses synthetic responses of the
standard questionnaire into one round (COPY), starts the app under uvicorn (one process) and
downloads over HTTP, timing each download to its last byte (median of --repeats):

- the anonymised responses export as csv and csv-excel (on PostgreSQL one `COPY (SELECT …)`
  that formats every cell, exports/pg_copy.py), and as xlsx (once: openpyxl's write-only
  mode, slow by nature);
- the results export (csv and xlsx), one row per figure, after a first results read (the fold).

Beside them, the same-run floors:

- PostgreSQL's own `COPY (SELECT …) TO STDOUT` of the same rows (id, area, language, channel,
  date, the answers JSON): the floor issue 11 measures the CSV export against (≤ 2 ×);
- the export's own COPY statement read in this process (no HTTP, no app): what the database
  takes to compute and format the export's cells;
- for XLSX, the same rows (fetched as the app fetches them) appended as plain values to an
  openpyxl write-only sheet and saved: what openpyxl's write-only mode allows.

With --baseline-src DIR (a checkout's `src` of the code before a change, e.g. from
`git archive <commit> src | tar -x -C /tmp/before`), a second server runs that code against
the same database and the responses CSV downloads alternate between the two servers, so the
before/after ratio comes from one run on the same machine state.

Peak resident memory is each server process's VmHWM after each export (VmRSS before them),
so the memory an export adds is visible. The load average is printed before and after: on a
shared machine the figures move with it.

Targets (issue 11): the responses CSV at ≤ 2 × the COPY floor at 100k, peak RSS flat in N;
XLSX as fast as openpyxl's write-only mode allows.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import httpx
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_results import (  # noqa: E402  (a sibling script, not a package)
    DEFAULT_PG,
    REPO,
    SECRET,
    answer_pool,
    cpu_seconds,
    create_database,
    create_round,
    drop_database,
    free_port,
    log,
    set_up_organisation,
)

from survey_api.exports import pg_copy, service  # noqa: E402
from survey_api.models import SurveyRound  # noqa: E402
from survey_api.questionnaires import service as questionnaires_service  # noqa: E402
from survey_api.questionnaires.definition import load_standard_definition  # noqa: E402


def copy_responses(url: str, round_id: int, area_ids: list[int], n: int, pool: list[str]) -> None:
    """n responses drawn from `pool`, spread over the areas, in one COPY (entry `api`)."""
    rng = random.Random(n)
    today = date.today()
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        statement = (
            "COPY response (survey_round_id, area_id, language, channel, entry, "
            "submitted_date, answers) FROM STDIN"
        )
        with cur.copy(statement) as copy:
            for i in range(n):
                area_id = area_ids[i % len(area_ids)]
                answers = pool[rng.randrange(len(pool))]
                copy.write_row((round_id, area_id, "sv", "paper", "api", today, answers))
        conn.commit()
        cur.execute("ANALYZE response")
        conn.commit()


def memory_kb(pid: int, field: str) -> int:
    """VmRSS or VmHWM (peak) of a process, in kB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not found")


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.1f} (5 min {five:.1f})"


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


def copy_seconds(url: str, statement: str) -> tuple[float, int]:
    """Seconds and bytes of one COPY … TO STDOUT read to the end in this process."""
    start = time.perf_counter()
    size = 0
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        cur.execute("SET extra_float_digits = 1")
        cur.execute("SET DateStyle = 'ISO, YMD'")
        with cur.copy(statement) as copy:
            for data in copy:
                size += len(data)
    return time.perf_counter() - start, size


def raw_copy_statement(round_id: int) -> str:
    """PostgreSQL's own CSV dump of the round's responses: the floor issue 11 names."""
    return (
        "COPY (SELECT id, area_id, language, channel, submitted_date, answers FROM response "
        f"WHERE survey_round_id = {int(round_id)} ORDER BY id) TO STDOUT WITH CSV HEADER"
    )


def xlsx_floor(url: str, round_id: int) -> tuple[float, float]:
    """The responses' rows, fetched as the app fetches them, appended as plain values (no
    per-cell checks) to an openpyxl write-only sheet and saved: openpyxl's own cost."""
    from openpyxl import Workbook

    from survey_api.db import make_engine, make_sessionmaker

    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    with factory() as session:
        survey_round = session.get(SurveyRound, round_id)
        assert survey_round is not None
        definition = questionnaires_service.published_definition(
            session, survey_round.questionnaire_version_id
        )
        session.expunge(survey_round)
    columns = service.response_columns(definition, include_text=False)
    start = time.perf_counter()
    cpu_start = time.process_time()
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("responses")
    sheet.append(service.response_header(columns))
    for row in service.response_rows(factory, survey_round, columns):
        sheet.append(row)
    with tempfile.TemporaryFile() as spool:
        workbook.save(spool)
    seconds = time.perf_counter() - start, time.process_time() - cpu_start
    engine.dispose()
    return seconds


def export_statement(url: str, round_id: int) -> str:
    """The COPY statement the app runs for the default responses CSV (no free text)."""
    from survey_api.db import make_engine, make_sessionmaker

    engine = make_engine(url)
    with make_sessionmaker(engine)() as session:
        survey_round = session.get(SurveyRound, round_id)
        assert survey_round is not None
        definition = questionnaires_service.published_definition(
            session, survey_round.questionnaire_version_id
        )
        columns = service.response_columns(definition, include_text=False)
        select = pg_copy.copy_select(survey_round, columns, excel=False)
    engine.dispose()
    return pg_copy.copy_statement(select, excel=False)


def start_server_from(url: str, src: str | None) -> tuple[subprocess.Popen[bytes], str]:
    """The app under uvicorn (one process, loopback), with `src` (if given) first on its
    Python path; waits up to 120 s (start-up alone takes 20 s on a loaded machine)."""
    port = free_port()
    env = {**os.environ, "SURVEY_API_DATABASE_URL": url, "SURVEY_API_SECRET_KEY": SECRET}
    if src is not None:
        env["PYTHONPATH"] = str(Path(src).resolve())
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "survey_api.main:create_app"]
        + ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        env=env,
        cwd=REPO,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        try:
            httpx.get(f"{base}/api/v1/openapi.json", timeout=2)
            return process, base
        except httpx.TransportError:
            time.sleep(0.3)
    process.terminate()
    raise RuntimeError("the app did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument(
        "--postgres-url", default=os.environ.get("SURVEY_API_TEST_POSTGRES_URL", DEFAULT_PG)
    )
    parser.add_argument("--responses", type=int, default=100_000)
    parser.add_argument("--areas", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--baseline-src", help="`src` of the code to compare with")
    parser.add_argument("--no-xlsx", action="store_true", help="skip the responses xlsx")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    load_before = load()
    name, url = create_database(args.postgres_url, "survey_bench_export")
    plain_url = url.replace("postgresql+psycopg://", "postgresql://")
    servers: list[subprocess.Popen[bytes]] = []
    try:
        engine, sessions, setup = set_up_organisation(url, args.areas, role="admin")
        round_id = create_round(sessions, setup, "Export bench")
        engine.dispose()
        log(f"loading {args.responses} responses…")
        copy_responses(
            plain_url,
            round_id,
            setup.area_ids,
            args.responses,
            answer_pool(load_standard_definition(), 20_000, seed=7),
        )
        after, after_base = start_server_from(url, None)
        servers.append(after)
        targets = {"after": (after, after_base)}
        if args.baseline_src:
            before, before_base = start_server_from(url, args.baseline_src)
            servers.append(before)
            targets["before"] = (before, before_base)
        clients = {
            label: httpx.Client(
                base_url=base, headers={"Authorization": f"Bearer {setup.key}"}, timeout=900
            )
            for label, (_, base) in targets.items()
        }
        responses_url = f"/api/v1/rounds/{round_id}/exports/responses"
        results_url = f"/api/v1/rounds/{round_id}/exports/results"
        rss_start: dict[str, int] = {}
        for label, client in clients.items():
            download(client, f"/api/v1/rounds/{round_id}/exports/codebook", {})  # warm-up
            rss_start[label] = memory_kb(targets[label][0].pid, "VmRSS")

        times: dict[tuple[str, str], list[float]] = {}
        cpu: dict[tuple[str, str], list[float]] = {}
        sizes: dict[tuple[str, str], int] = {}
        peaks: dict[tuple[str, str], int] = {}

        def measure(label: str, case: str, url_: str, fmt: str) -> None:
            pid = targets[label][0].pid
            cpu_start = cpu_seconds(pid)
            seconds, size, _lines = download(clients[label], url_, {"format": fmt})
            cpu.setdefault((label, case), []).append(cpu_seconds(pid) - cpu_start)
            times.setdefault((label, case), []).append(seconds)
            sizes[(label, case)] = size
            peaks[(label, case)] = memory_kb(pid, "VmHWM")

        # The responses CSV, alternating servers and the floors in every repeat.
        floors: list[float] = []
        export_sql = export_statement(url, round_id)
        export_copy: list[float] = []
        floor_size = 0
        for repeat in range(args.repeats):
            seconds, floor_size = copy_seconds(plain_url, raw_copy_statement(round_id))
            floors.append(seconds)
            export_copy.append(copy_seconds(plain_url, export_sql)[0])
            for fmt in ("csv", "csv-excel"):
                for label in clients:
                    measure(label, f"responses {fmt}", responses_url, fmt)
            log(f"repeat {repeat + 1}: floor {floors[-1]:.2f} s, load {load()}")
        floor_xlsx: tuple[float, float] | None = None
        if not args.no_xlsx:
            measure("after", "responses xlsx", responses_url, "xlsx")
            log(f"responses xlsx: {times[('after', 'responses xlsx')][0]:.2f} s")
            floor_xlsx = xlsx_floor(url, round_id)
        # The results export after the first results read (it folds the round; only on the
        # code measured: a baseline may predate the tally layout).
        clients["after"].get(f"/api/v1/rounds/{round_id}/results").raise_for_status()
        for fmt in ("csv", "xlsx"):
            for _ in range(args.repeats):
                measure("after", f"results {fmt}", results_url, fmt)
            log(f"results {fmt}: {statistics.median(times[('after', f'results {fmt}')]):.2f} s")
        for client in clients.values():
            client.close()

        floor = statistics.median(floors)
        print(
            f"\nExports of one round with {args.responses} responses in {args.areas} areas "
            f"(PostgreSQL, one uvicorn process per code version, median of {args.repeats} "
            f"except the responses xlsx (1); load average before {load_before}, "
            f"after {load()}, {os.cpu_count()} CPUs):\n"
        )
        print(
            f"{'code':<7} {'export':<22} {'seconds':>8} {'× floor':>8} {'server CPU s':>13} "
            f"{'MB':>7} {'RSS before MB':>14} {'peak RSS MB':>12}"
        )
        for (label, case), samples in times.items():
            seconds = statistics.median(samples)
            print(
                f"{label:<7} {case:<22} {seconds:>8.2f} {seconds / floor:>8.2f} "
                f"{statistics.median(cpu[(label, case)]):>13.2f} "
                f"{sizes[(label, case)] / 1e6:>7.1f} {rss_start[label] / 1024:>14.0f} "
                f"{peaks[(label, case)] / 1024:>12.0f}"
            )
        print(
            f"\nfloor: PostgreSQL's COPY of the same rows (id, area, language, channel, date, "
            f"answers JSON) to CSV, read in this process: {floor:.2f} s ({floor_size / 1e6:.1f} MB)"
        )
        own = statistics.median(export_copy)
        print(
            "the export's own COPY statement read in this process (no HTTP, no app): "
            f"{own:.2f} s ({own / floor:.2f} × floor)"
        )
        csv_after = statistics.median(times[("after", "responses csv")])
        print(f"responses csv / floor = {csv_after / floor:.2f} (target ≤ 2)")
        if ("before", "responses csv") in times:
            for fmt in ("csv", "csv-excel"):
                new_ = statistics.median(times[("after", f"responses {fmt}")])
                old_ = statistics.median(times[("before", f"responses {fmt}")])
                print(
                    f"responses {fmt}: before / after (same run) = {old_ / new_:.2f} "
                    f"(before {old_ / floor:.2f} × floor, after {new_ / floor:.2f} × floor)"
                )
        if floor_xlsx is not None:
            wall, cpu_floor = floor_xlsx
            xlsx_cpu = cpu[("after", "responses xlsx")][0]
            print(
                "xlsx floor: the same rows appended as plain values to an openpyxl write-only "
                f"sheet and saved, in this process: {wall:.2f} s, {cpu_floor:.2f} s CPU "
                f"(responses xlsx server CPU / floor CPU = {xlsx_cpu / cpu_floor:.2f})"
            )
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=30)
        if not args.keep:
            drop_database(args.postgres_url, name)


if __name__ == "__main__":
    main()
