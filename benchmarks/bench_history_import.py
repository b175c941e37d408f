"""Benchmark: importing past responses from a file, beside the same rows as bulk JSON.

    .venv/bin/python benchmarks/bench_history_import.py [--rows 200000] [--small 50000]
        [--repeats 3] [--postgres-url URL | --sqlite]

See benchmarks/README.md for how to read the output and the figures measured so far.

What it does, on its own throwaway database (a fresh ``survey_bench_<random>`` on the
PostgreSQL server at --postgres-url, default $SURVEY_API_TEST_POSTGRES_URL, else
postgresql://postgres@127.0.0.1:54329/postgres; or an SQLite file with --sqlite):

1. migrates it and sets up an organisation, an admin key, the standard questionnaire
   (published) and 50 areas;
2. writes --rows respondents of the standard questionnaire (random but valid answers, show_if
   respected, the areas in turn) once as a LimeSurvey CSV export (question codes, answer codes,
   LimeSurvey's own columns, the area in ``omrade``) and once as bulk JSON bodies of the largest
   size the bulk endpoint accepts (1,000 responses);
3. for each measurement starts a fresh ``uvicorn`` process (one process, no workers) on a free
   loopback port, creates a round through the API (a historical one for the import, an open
   collected one for bulk), and times on the client's clock:

   * **import**: one ``POST /rounds/{id}/imports`` of the CSV with ``{"preset":
     "limesurvey_standard"}`` (the real run, not a dry run), streamed from disk;
   * **bulk JSON**: ``POST /rounds/{id}/responses/bulk`` chunk after chunk, each with its own
     Idempotency-Key, from one client (the same single connection the import uses);

   then reads the server process's peak resident memory (VmHWM) and stops it; checks that the
   rows stored equal the rows sent;
4. alternates import and bulk --repeats times at --rows and prints medians: wall time, rows/s,
   peak RSS; then imports --small rows (same file, cut) to compare the import's peak RSS at the
   two sizes (memory must stay flat in the file's size);
5. drops the database.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
from sqlalchemy import func, make_url, select

from survey_api import migrate
from survey_api.auth import service as auth_service
from survey_api.db import make_engine, make_sessionmaker, normalise_url
from survey_api.imports.mapping import limesurvey_code
from survey_api.models import Response
from survey_api.organisations import service as organisations_service
from survey_api.questionnaires.definition import load_standard_definition, validate_answers

REPO = Path(__file__).resolve().parents[1]
DEFAULT_PG = "postgresql://postgres@127.0.0.1:54329/postgres"
SECRET = "bench-secret-key"
N_AREAS = 50
BULK_CHUNK = 1000  # BulkUpload's max_length
LS_OWN = ["id", "submitdate", "lastpage", "startlanguage", "seed", "token", "ipaddr", "startdate"]
DEFINITION = load_standard_definition()


# --- data ----------------------------------------------------------------------------------------


def respondent(rng: random.Random) -> dict[str, Any]:
    """One valid respondent of the standard questionnaire (about one item in ten left out)."""
    answers: dict[str, Any] = {}
    for item in DEFINITION.items:
        if item.key == "anmalt_polis" and not {1, 2, 3, 4, 5} & set(
            answers.get("utsatt_brott_12m", [])
        ):
            continue
        if rng.random() < 0.1:
            continue
        if item.kind == "text":
            if rng.random() < 0.2:
                answers[item.key] = "Mörkt vid gångtunneln"
        elif item.kind == "multi_choice":
            answers[item.key] = [6] if rng.random() < 0.6 else sorted(rng.sample(range(1, 6), 2))
        else:
            answers[item.key] = rng.choice(item.codes)
    return answers


def write_files(
    rows: int, codes: list[str], folder: Path
) -> tuple[Path, list[list[dict[str, Any]]]]:
    """The LimeSurvey CSV and the same respondents as bulk chunks (area codes for now)."""
    rng = random.Random(2023)
    heading = [*LS_OWN, "omrade"]
    for item in DEFINITION.items:
        code = limesurvey_code(item.key)
        if item.kind == "multi_choice":
            heading += [f"{code}[SQ{i:03d}]" for i in range(1, len(item.options) + 1)]
        else:
            heading.append(code)
    path = folder / "limesurvey-export.csv"
    chunks: list[list[dict[str, Any]]] = [[]]
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        out.write(";".join(f'"{h}"' for h in heading) + "\r\n")
        for n in range(1, rows + 1):
            area = codes[n % len(codes)]
            answers = respondent(rng)
            if n <= 200:
                assert validate_answers(DEFINITION, answers) == [], answers
            cells = [str(n), "2023-03-14 08:27:21", "9", "sv", "", f"tok{n}", "10.0.0.1", ""]
            cells.append(area)
            for item in DEFINITION.items:
                value = answers.get(item.key)
                if item.kind == "multi_choice":
                    cells += ["Y" if value and o.code in value else "" for o in item.options]
                elif value is None:
                    cells.append("")
                elif item.kind == "text":
                    cells.append(value)
                else:
                    cells.append(f"A{item.codes.index(value) + 1}")
            out.write(";".join(f'"{c}"' for c in cells) + "\r\n")
            if len(chunks[-1]) == BULK_CHUNK:
                chunks.append([])
            chunks[-1].append(
                {"area": area, "language": "sv", "channel": "paper", "answers": answers}
            )
    return path, chunks


def cut_csv(path: Path, rows: int) -> Path:
    """The first `rows` rows of the CSV (every row is one line: no line breaks in cells)."""
    small = path.with_name(f"limesurvey-export-{rows}.csv")
    with path.open("rb") as source, small.open("wb") as out:
        for n, line in enumerate(source):
            if n > rows:
                break
            out.write(line)
    return small


# --- server --------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """One uvicorn process (no workers: the process that serves is the one measured)."""

    def __init__(self, database_url: str, log_path: Path) -> None:
        self.port = free_port()
        env = {**os.environ, "DATABASE_URL": database_url, "SURVEY_API_SECRET_KEY": SECRET}
        self.log = log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", "survey_api.main:create_app",
             "--host", "127.0.0.1", "--port", str(self.port), "--no-access-log",
             "--log-level", "warning"],
            cwd=REPO, env=env, stdout=self.log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        self.base_url = f"http://127.0.0.1:{self.port}/api/v1"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"uvicorn exited early; see {log_path}")
            try:
                if httpx.get(self.base_url + "/openapi.json", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError(f"uvicorn did not start; see {log_path}")

    def peak_rss_mb(self) -> float:
        """The process's peak resident set size so far (VmHWM), in MB."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmHWM in /proc/<pid>/status")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


# --- setup and measurements ----------------------------------------------------------------------


def create_admin_key(database_url: str) -> str:
    engine = make_engine(database_url)
    try:
        with make_sessionmaker(engine)() as session:
            slug = f"bench-{uuid.uuid4().hex[:8]}"
            org = organisations_service.create_organisation(session, name=slug, slug=slug)
            key = auth_service.create_api_key(session, org, name="bench", role="admin")[1]
            session.commit()
            return key
    finally:
        engine.dispose()


def ok(response: httpx.Response, status: int | tuple[int, ...] = (200, 201)) -> Any:
    statuses = (status,) if isinstance(status, int) else status
    if response.status_code not in statuses:
        raise RuntimeError(f"{response.request.method} {response.url}: {response.text[:2000]}")
    return response.json()


@dataclass
class Setup:
    version_id: int
    areas: dict[str, int]  # code -> id


def setup(client: httpx.Client) -> Setup:
    body = json.loads(
        (REPO / "src/survey_api/data/trygghetsmatning-standard.json").read_text("utf-8")
    )
    created = ok(client.post("/questionnaires", json=body))
    qid = created["questionnaire"]["id"]
    version = ok(client.post(f"/questionnaires/{qid}/versions/1/publish"))
    areas = {}
    for i in range(N_AREAS):
        code = f"omr{i:02d}"
        area = ok(
            client.post(
                "/areas",
                json={
                    "code": code,
                    "name": f"Område {i}",
                    "municipality_code": "1480",
                    "households": 900,
                },
            )
        )
        areas[code] = area["id"]  # fmt: skip
    return Setup(version["id"], areas)


def new_round(client: httpx.Client, s: Setup, *, historical: bool) -> int:
    today = date.today()
    dates = (
        ("2023-03-01", "2023-04-15")
        if historical
        else ((today - timedelta(days=1)).isoformat(), (today + timedelta(days=30)).isoformat())
    )
    created = ok(
        client.post(
            "/rounds",
            json={
                "name": f"Bench {uuid.uuid4().hex[:6]}",
                "questionnaire_version_id": s.version_id,
                "period": "2023" if historical else f"{today.year}",
                "area_ids": list(s.areas.values()),
                "open_date": dates[0],
                "close_date": dates[1],
                "historical": historical,
            },
        )
    )
    return int(created["id"])


@dataclass
class Measurement:
    kind: str
    rows: int
    seconds: float
    peak_mb: float

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds


def stored(database_url: str, round_id: int) -> int:
    engine = make_engine(database_url)
    try:
        with make_sessionmaker(engine)() as session:
            return (
                session.scalar(
                    select(func.count())
                    .select_from(Response)
                    .where(Response.survey_round_id == round_id)
                )
                or 0
            )
    finally:
        engine.dispose()


def measure(
    kind: str, database_url: str, key: str, log: Path, s: Setup | None, payload: Any, rows: int
) -> tuple[Measurement, Setup]:
    server = Server(database_url, log)
    try:
        headers = {"Authorization": f"Bearer {key}"}
        with httpx.Client(base_url=server.base_url, headers=headers, timeout=None) as client:
            s = s or setup(client)
            round_id = new_round(client, s, historical=kind == "import")
            if kind == "import":
                start = time.perf_counter()
                with Path(payload).open("rb") as file:
                    report = ok(
                        client.post(
                            f"/rounds/{round_id}/imports",
                            files={"file": ("export.csv", file, "text/csv")},
                            data={"mapping": json.dumps({"preset": "limesurvey_standard"})},
                        ),
                        201,
                    )
                seconds = time.perf_counter() - start
                assert report["rows_stored"] == rows, report
            else:
                bodies = [
                    json.dumps(
                        {"responses": [{**{k: v for k, v in r.items() if k != "area"},
                                        "area_id": s.areas[r["area"]]} for r in chunk]},
                        ensure_ascii=False,
                    ).encode()
                    for chunk in payload
                ]  # fmt: skip
                start = time.perf_counter()
                for n, body in enumerate(bodies):
                    ok(
                        client.post(
                            f"/rounds/{round_id}/responses/bulk",
                            content=body,
                            headers={
                                "Content-Type": "application/json",
                                "Idempotency-Key": f"bench-{round_id}-{n}",
                            },
                        ),
                        201,
                    )
                seconds = time.perf_counter() - start
        peak = server.peak_rss_mb()
    finally:
        server.stop()
    count = stored(database_url, round_id)
    if count != rows:
        raise RuntimeError(f"{kind}: {count} rows stored, {rows} sent")
    return Measurement(kind, rows, seconds, peak), s


def database(args: argparse.Namespace, folder: Path) -> tuple[str, str | None, str]:
    """(url, the PostgreSQL server's url to drop it from or None, description)."""
    if args.sqlite:
        return f"sqlite:///{folder / 'bench.sqlite'}", None, "SQLite (WAL), one file"
    base = args.postgres_url
    name = f"survey_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
        version = conn.execute("SHOW server_version").fetchone()
        fsync = conn.execute("SHOW fsync").fetchone()
    url = make_url(normalise_url(base)).set(database=name).render_as_string(hide_password=False)
    described = f"PostgreSQL {version[0] if version else '?'} (fsync={fsync[0] if fsync else '?'})"
    return url, base, f"{described}, database {name}"


def drop(base: str, url: str) -> None:
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--small", type=int, default=50_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--postgres-url", default=os.environ.get("SURVEY_API_TEST_POSTGRES_URL", DEFAULT_PG)
    )
    parser.add_argument("--sqlite", action="store_true", help="an SQLite file instead")
    args = parser.parse_args()
    if not 0 < args.small <= args.rows or args.repeats < 1:
        parser.error("need 0 < --small <= --rows and --repeats >= 1")
    with tempfile.TemporaryDirectory(prefix="bench-history-") as tmp:
        folder = Path(tmp)
        url, base, described = database(args, folder)
        log = folder / "uvicorn.log"
        try:
            migrate.upgrade(url)
            key = create_admin_key(url)
            codes = [f"omr{i:02d}" for i in range(N_AREAS)]
            started = time.perf_counter()
            csv_path, chunks = write_files(args.rows, codes, folder)
            size_mb = csv_path.stat().st_size / 1e6
            print(f"database: {described}")
            print(f"data: {args.rows} respondents over {N_AREAS} areas; CSV {size_mb:.1f} MB, "
                  f"bulk {len(chunks)} bodies of <= {BULK_CHUNK} "
                  f"(written in {time.perf_counter() - started:.1f} s)")  # fmt: skip
            print(f"load average before: {os.getloadavg()[0]:.2f} (1 min), cores: {os.cpu_count()}")
            runs: dict[str, list[Measurement]] = {"import": [], "bulk JSON": []}
            s: Setup | None = None
            for i in range(args.repeats):
                for kind, payload in (("import", csv_path), ("bulk JSON", chunks)):
                    m, s = measure(kind, url, key, log, s, payload, args.rows)
                    runs[kind].append(m)
                    print(f"  repeat {i + 1}: {kind:9s} {m.seconds:7.1f} s "
                          f"{m.rows_per_second:8.0f} rows/s  "
                          f"peak RSS {m.peak_mb:6.0f} MB")  # fmt: skip
            small_path = cut_csv(csv_path, args.small)
            small, _ = measure("import", url, key, log, s, small_path, args.small)
            print(f"  import of {args.small} rows: {small.seconds:.1f} s, "
                  f"peak RSS {small.peak_mb:.0f} MB")  # fmt: skip
            print(f"load average after: {os.getloadavg()[0]:.2f} (1 min)")
            print(
                f"\nmedians of {args.repeats} ({args.rows} rows; one uvicorn process, one client)"
            )
            print(f"{'':10s} {'wall s':>8s} {'rows/s':>9s} {'peak RSS MB':>12s}")
            medians = {}
            for kind, measured in runs.items():
                seconds = statistics.median(m.seconds for m in measured)
                peak = statistics.median(m.peak_mb for m in measured)
                medians[kind] = seconds
                print(f"{kind:10s} {seconds:8.1f} {args.rows / seconds:9.0f} {peak:12.0f}")
            ratio = medians["bulk JSON"] / medians["import"]
            verdict = "met" if ratio >= 1 else "NOT met"
            print(f"import speed / bulk JSON speed: {ratio:.2f} (target >= 1: {verdict})")
            big = statistics.median(m.peak_mb for m in runs["import"])
            print(f"import peak RSS: {small.peak_mb:.0f} MB at {args.small} rows, "
                  f"{big:.0f} MB at {args.rows} rows")  # fmt: skip
        finally:
            if base is not None:
                drop(base, url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
