"""Benchmark: one process group against two, on one PostgreSQL (issue 11, item 5).

    .venv/bin/python benchmarks/bench_scale.py [--postgres-url URL] [--responses 10000]
        [--areas 50] [--clients 16] [--seconds 10] [--repeats 3] [--warmup-seconds 3]
        [--workers 2] [--max-other 0.3] [--retries 1] [--fold-interval SECONDS]

The question is whether anything serialises across processes: several hosts behind a load
balancer are several process groups against one database, and the application claims to keep
nothing shared in memory. On the PostgreSQL server at --postgres-url (default:
$SURVEY_API_TEST_POSTGRES_URL, else postgresql://postgres@127.0.0.1:54329/postgres) it:

1. creates a fresh database, migrates it, sets up an organisation with an integrator key, the
   published standard questionnaire and --areas areas with households and classifications
   (bench_results.py's set-up);
2. makes two open rounds over every area: a *read* round into which it COPYs --responses
   synthetic valid responses, and an empty *submit* round;
3. starts two process groups, each ``uvicorn --workers 2`` (--workers) on a loopback port of
   its own with the same database URL and the same secret key (bench_submit.py's Server: the
   product app plus ``GET /bench/worker``, which lets the load generator spread connections
   evenly over a group's workers); the first results read of the read round folds it, once;
4. warms every worker up (each has its own payload cache and connection pool), then, --repeats
   times, interleaved: results reads (``GET /api/v1/rounds/{id}/results`` of the read round) and
   submissions (``POST /api/v1/rounds/{id}/responses`` of the submit round, the standard
   questionnaire with every applicable item answered) from --clients keep-alive connections,
   first all on group A (1 group, 2 workers), then spread half and half over groups A and B
   (2 groups, 4 workers); each measurement lasts --seconds, and one during which other
   processes took more than --max-other cores is taken again (--retries times at most);
5. prints throughput, p50/p95 latency and where the CPU went (both groups' workers are metered
   in every measurement, so an idle group's background work would show), medians over the
   repeats, and the ratio 2 groups / 1 group;
6. checks that nothing was lost or duplicated across processes: the responses stored equal the
   201 answers, every group reads the submit round with exactly that many responses, and both
   groups serve the same results of the read round (all but `as_of`, the instant of the read);
   then stops the groups and drops the database (exit status 1 on any failed request or
   mismatch).

On 2 cores, 2 workers already keep the cores busy (see bench_submit.py), so a second group
on the same machine cannot add CPU: the honest expectation is a ratio near 1 or a little below
(more processes than cores: more switching, less batching per worker), with idle near 0 in
both. `--workers 1` leaves a core to spare for the second group, and shows processes adding
throughput while there are cores to add. On hosts of their own each group brings its own
cores; PostgreSQL's CPU per request, printed beside the app's, is then what bounds the scale-out.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_submit  # noqa: E402  (sibling scripts, not a package)
from bench_results import (  # noqa: E402
    answer_pool,
    copy_responses,
    create_database,
    create_round,
    drop_database,
    set_up_organisation,
)
from bench_submit import (  # noqa: E402
    FULL_ANSWERS,
    MAX_SECONDS,
    Cpu,
    CpuMeter,
    Run,
    Server,
    _proc_table,
    _raw_load,
    _run_async,
    check_full_answers,
    fmt_run,
    server_settings,
    stored_count,
)

from survey_api.questionnaires.definition import load_standard_definition  # noqa: E402

DEFAULT_PG = "postgresql://postgres@127.0.0.1:54329/postgres"
HOST = "127.0.0.1"
KINDS = ("read", "submit")
CONFIGS = ("1 group", "2 groups")


# --- requests ------------------------------------------------------------------------------------


def encode_gets(port: int, path: str, token: str) -> list[bytes]:
    """One pre-encoded keep-alive GET (the raw generator cycles through its list)."""
    return [
        (
            f"GET {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nAuthorization: Bearer {token}\r\n"
            "Accept: application/json\r\n\r\n"
        ).encode()
    ]


def encode_posts(port: int, path: str, token: str, bodies: list[bytes]) -> list[bytes]:
    """Pre-encoded keep-alive POSTs, one per body."""
    return [
        (
            f"POST {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\nAccept: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        + body
        for body in bodies
    ]


# --- measuring over several groups ----------------------------------------------------------------


class GroupMeter(CpuMeter):
    """bench_submit's CpuMeter for one group; with --workers 1 uvicorn serves in its own
    process (no spawned workers), which is then the group's one worker."""

    def _snapshot(
        self,
    ) -> tuple[dict[int, tuple[float, float]], dict[int, float], float, float]:
        workers, postgres, generator, busy = super()._snapshot()
        if not workers:
            found = _proc_table().get(self.server_pid)
            if found is not None:
                workers = {self.server_pid: (found[2], found[3])}
        return workers, postgres, generator, busy


class GroupsMeter:
    """Every group's meter: each group's workers, and PostgreSQL, the generator and the
    machine once (taken from the first group's meter)."""

    def __init__(self, servers: list[Server], database: str) -> None:
        self.meters = [GroupMeter(s.process.pid, database) for s in servers]

    def start(self) -> None:
        for meter in self.meters:
            meter.start()

    def stop(self) -> tuple[Cpu, list[float]]:
        """The merged figures, and each group's worker CPU (seconds)."""
        cpus = [meter.stop() for meter in self.meters]
        first = cpus[0]
        merged = Cpu(
            wall=first.wall,
            app=sorted((a for c in cpus for a in c.app), reverse=True),
            app_kernel=sum(c.app_kernel for c in cpus),
            postgres=first.postgres,
            generator=first.generator,
            busy=first.busy,
            cores=first.cores,
        )
        return merged, [sum(c.app) for c in cpus]


class LockWaits:
    """Samples the benchmark database's backends in pg_stat_activity during a measurement:
    how many were running a statement, and how many of those were waiting for a lock (a row,
    a table or an advisory lock), and for those, the lock's kind and the statement of a
    backend holding it. Work that serialised across processes would show up here as waiting
    backends, whatever the CPU figures say."""

    INTERVAL = 0.05
    QUERY = (
        "SELECT count(*) FILTER (WHERE state = 'active'), "
        "count(*) FILTER (WHERE state = 'active' AND wait_event_type = 'Lock') "
        "FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()"
    )
    BLOCKERS = (
        "SELECT a.wait_event, coalesce(left(regexp_replace(b.query, '\\s+', ' ', 'g'), 90), '?') "
        "FROM pg_stat_activity a LEFT JOIN LATERAL (SELECT query FROM pg_stat_activity "
        "WHERE pid = ANY(pg_blocking_pids(a.pid)) LIMIT 1) b ON true "
        "WHERE a.datname = %s AND a.state = 'active' AND a.wait_event_type = 'Lock' "
        "AND a.pid <> pg_backend_pid()"
    )

    def __init__(self, url: str, database: str) -> None:
        self.url = url
        self.database = database
        self.samples: list[tuple[int, int]] = []
        self.blockers: Counter[str] = Counter()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _run(self) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            while not self._stop.wait(self.INTERVAL):
                row = conn.execute(self.QUERY, (self.database,)).fetchone()
                if row is not None:
                    self.samples.append((int(row[0]), int(row[1])))
                    if row[1]:
                        for kind, query in conn.execute(self.BLOCKERS, (self.database,)):
                            self.blockers[f"{kind} lock held by: {query}"] += 1

    def start(self) -> None:
        self.samples = []
        self.blockers = Counter()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def stop(self) -> tuple[float, float]:
        """(mean active backends, mean backends waiting for a lock) over the samples; what
        they waited for stays in `blockers`."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        n = max(1, len(self.samples))
        return sum(a for a, _ in self.samples) / n, sum(w for _, w in self.samples) / n


async def _spread(
    loads: list[tuple[int, list[bytes]]], clients: int, seconds: float
) -> list[tuple[list[float], Counter[int], float, str | None, str]]:
    """bench_submit's raw generator on every port at once, the clients split evenly."""
    shares = [clients // len(loads) + (i < clients % len(loads)) for i in range(len(loads))]
    return list(
        await asyncio.gather(
            *(
                _raw_load(HOST, port, requests, share, 10**9, seconds)
                for (port, requests), share in zip(loads, shares, strict=True)
            )
        )
    )


def measure(
    name: str,
    loads: list[tuple[int, list[bytes]]],
    meter: GroupsMeter,
    waits: LockWaits,
    clients: int,
    seconds: float,
) -> tuple[Run, list[float], tuple[float, float]]:
    """One measurement: the load on the given groups' ports, all groups metered, the
    database's lock waits sampled."""
    waits.start()
    meter.start()
    parts = _run_async(_spread(loads, clients, seconds))
    cpu, per_group = meter.stop()
    waited = waits.stop()
    latencies = [x for part in parts for x in part[0]]
    statuses: Counter[int] = sum((part[1] for part in parts), Counter())
    errors = [part[3] for part in parts if part[3]]
    ok = len(latencies)
    # Each group's generator starts its clock once its connections are open (a few ms apart):
    # the rate is the sum of the groups' own rates, and the window the one that gives it.
    rate = sum(len(part[0]) / part[2] for part in parts if part[2])
    elapsed = ok / rate if rate else max(part[2] for part in parts)
    split = " + ".join(part[4] for part in parts)
    run = Run(name, latencies, statuses, elapsed, cpu, errors[0] if errors else None, split=split)
    return run, per_group, waited


# --- checks ---------------------------------------------------------------------------------------


def counted_responses(base_url: str, token: str, round_id: int) -> int:
    """The round's responses as a group's results say (every area is far above the minimum
    cell size, so none is suppressed)."""
    response = httpx.get(
        f"{base_url}/api/v1/rounds/{round_id}/results",
        headers={"Authorization": f"Bearer {token}"},
        timeout=600,
    )
    response.raise_for_status()
    areas = response.json()["areas"]
    assert not any(a["responses"]["suppressed"] for a in areas), "an area is suppressed"
    return sum(int(a["responses"]["responses"]) for a in areas)


def results_of(base_url: str, token: str, round_id: int) -> Any:
    """A group's results of a round, without `as_of` (the instant of the read: it differs
    from one read to the next in one process too)."""
    response = httpx.get(
        f"{base_url}/api/v1/rounds/{round_id}/results",
        headers={"Authorization": f"Bearer {token}"},
        timeout=600,
    )
    response.raise_for_status()
    payload = response.json()
    payload.pop("as_of")
    return payload


# --- main ---------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument(
        "--postgres-url",
        default=os.environ.get("SURVEY_API_TEST_POSTGRES_URL", DEFAULT_PG),
        help="a PostgreSQL server to create the benchmark database on (default: %(default)s)",
    )
    p.add_argument("--responses", type=int, default=10_000, help="in the read round")
    p.add_argument("--areas", type=int, default=50)
    p.add_argument("--clients", type=int, default=16, help="concurrent connections in all")
    p.add_argument("--seconds", type=float, default=10.0, help="per measurement (max 60)")
    p.add_argument("--repeats", type=int, default=3, help="measurements per kind and set-up")
    p.add_argument("--warmup-seconds", type=float, default=3.0)
    p.add_argument(
        "--workers",
        type=int,
        default=2,
        help="uvicorn workers per group (default 2: 2 against 4 in all; 1 shows processes "
        "scaling while the machine has cores to spare)",
    )
    p.add_argument(
        "--max-other",
        type=float,
        default=0.3,
        help="measure again when other processes used more than this many cores (default 0.3)",
    )
    p.add_argument("--retries", type=int, default=1, help="how many times to measure again")
    p.add_argument(
        "--fold-interval",
        metavar="SECONDS",
        help="SURVEY_API_FOLD_INTERVAL_SECONDS for the groups (default: the app's own; 0 turns "
        "the background folder off)",
    )
    p.add_argument("--keep-db", action="store_true", help="do not drop the database at the end")
    args = p.parse_args(argv)
    if not 0 < args.seconds <= MAX_SECONDS:
        p.error(f"--seconds must be in (0, {MAX_SECONDS:.0f}]")
    if args.clients < 2 or min(args.repeats, args.responses, args.areas, args.workers) <= 0:
        p.error("--clients must be at least 2; the other counts positive")
    return args


def report(
    args: argparse.Namespace,
    runs: dict[tuple[str, str], list[Run]],
    cpu_split: dict[str, dict[str, list[float]]],
    lock_waits: dict[tuple[str, str], list[tuple[float, float]]],
    blockers: dict[tuple[str, str], Counter[str]],
) -> None:
    med = statistics.median
    print()
    print(
        f"results: medians of {args.repeats} interleaved measurements of {args.seconds:g} s, "
        f"{args.clients} keep-alive connections in all; {os.cpu_count()} cores"
    )
    print(
        f"  {'kind':<7} {'set-up':<22} {'requests/s':>10} {'p50 ms':>7} {'p95 ms':>7} "
        f"{'app CPU ms/req':>14} {'pg CPU ms/req':>13} {'idle cores':>10}"
    )
    rates: dict[tuple[str, str], float] = {}
    costs: dict[tuple[str, str], float] = {}
    for kind in KINDS:
        for config in CONFIGS:
            rs = runs[(kind, config)]
            rates[(kind, config)] = med([r.rps for r in rs])
            costs[(kind, config)] = med(
                [(sum(r.cpu.app) + r.cpu.postgres) / max(r.ok, 1) for r in rs]
            )
            idle = med([max(0.0, r.cpu.cores * r.cpu.wall - r.cpu.busy) / r.cpu.wall for r in rs])
            n = args.workers * (1 if config == "1 group" else 2)
            workers = f"{n} worker{'s' if n > 1 else ''}"
            print(
                f"  {kind:<7} {config + ', ' + workers:<22} {rates[(kind, config)]:>10.1f} "
                f"{med([r.percentile(50) for r in rs]):>7.2f} "
                f"{med([r.percentile(95) for r in rs]):>7.2f} "
                f"{med([1000 * sum(r.cpu.app) / max(r.ok, 1) for r in rs]):>14.2f} "
                f"{med([1000 * r.cpu.postgres / max(r.ok, 1) for r in rs]):>13.2f} "
                f"{idle:>10.2f}"
            )
    print()
    for kind in KINDS:
        one, two = rates[(kind, "1 group")], rates[(kind, "2 groups")]
        cpu_one, cpu_two = costs[(kind, "1 group")], costs[(kind, "2 groups")]
        print(
            f"  ratio 2 groups / 1 group, {kind}: throughput {two / one if one else 0:.2f}; "
            f"app + PostgreSQL CPU per request {cpu_two / cpu_one if cpu_one else 0:.2f}"
        )
    shares = cpu_split["2 groups"]
    print(
        f"  with 2 groups, the workers' CPU split A/B (medians): "
        f"read {shares['read'][0]:.2f}/{shares['read'][1]:.2f}, "
        f"submit {shares['submit'][0]:.2f}/{shares['submit'][1]:.2f} cores"
    )
    for kind in KINDS:
        cells = []
        for config in CONFIGS:
            active = med([w[0] for w in lock_waits[(kind, config)]])
            waiting = med([w[1] for w in lock_waits[(kind, config)]])
            cells.append(f"{config} {active:.2f} running, {waiting:.2f} waiting for a lock")
        print(
            f"  database backends during {kind} (mean of samples every 50 ms): {'; '.join(cells)}"
        )
        for config in CONFIGS:
            for what, n in blockers[(kind, config)].most_common(1):
                print(f"    most waits with {config} ({n} backend samples): {what}")
    busiest = max(r.cpu.other for rs in runs.values() for r in rs)
    print(
        f"  other processes took up to {busiest:.2f} cores during a measurement; load average "
        f"now {os.getloadavg()[0]:.2f}"
    )
    cores = os.cpu_count() or 1
    if args.workers >= cores:
        reading = (
            f"{args.workers} workers already keep the {cores} cores busy: a second group on the "
            "same machine cannot add CPU, so the ratio shows whether anything serialises across "
            "processes (it would fall well below 1 with idle cores left), not more capacity"
        )
    else:
        reading = (
            f"{args.workers} worker(s) leave cores to spare on this {cores}-core machine: the "
            "second group's processes can add throughput until the cores are busy"
        )
    print(
        f"\n  ({reading}. On hosts of their own each group brings its own cores; PostgreSQL's "
        "CPU per request is then what bounds the scale-out.)"
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    check_full_answers()
    print("survey_api scale-out benchmark: 1 process group against 2, one PostgreSQL")
    print(f"  machine: {os.cpu_count()} cores; load average {os.getloadavg()[0]:.2f} (1 min)")
    print(f"  {server_settings(args.postgres_url)}")
    bench_submit.WORKERS = args.workers  # read by Server and the connection balancing
    name, url = create_database(args.postgres_url, "survey_bench_scale")
    plain_url = url.replace("postgresql+psycopg://", "postgresql://")
    servers: list[Server] = []
    ok = True
    try:
        engine, sessions, setup = set_up_organisation(url, args.areas, role="integrator")
        read_round = create_round(sessions, setup, "Scale: reads")
        submit_round = create_round(sessions, setup, "Scale: submissions")
        engine.dispose()
        pool = answer_pool(load_standard_definition(), 5000, seed=5)
        start = time.perf_counter()
        copy_responses(plain_url, read_round, setup.area_ids, args.responses, pool)
        print(
            f"  database {name}: {args.areas} areas; read round {read_round} with "
            f"{args.responses} responses (COPY {time.perf_counter() - start:.1f} s); "
            f"submit round {submit_round}, empty"
        )
        logs = Path(tempfile.gettempdir())
        extra_env = {}
        if args.fold_interval is not None:
            extra_env["SURVEY_API_FOLD_INTERVAL_SECONDS"] = args.fold_interval
        servers = [
            Server(
                url,
                access_log=False,
                log_path=logs / f"{name}.{group}.uvicorn.log",
                extra_env=extra_env,
            )
            for group in "AB"
        ]
        for server in servers:
            server.wait_ready()
        print(
            "  groups: "
            + ", ".join(
                f"{g} = uvicorn --workers {args.workers} on port {s.port}"
                for g, s in zip("AB", servers, strict=False)
            )
            + "; same DATABASE_URL and SURVEY_API_SECRET_KEY"
            + "".join(f"; {k}={v}" for k, v in extra_env.items())
        )
        start = time.perf_counter()
        first = results_of(servers[0].base_url, setup.key, read_round)
        print(f"  first read of the read round (folds it): {time.perf_counter() - start:.1f} s")
        same = results_of(servers[1].base_url, setup.key, read_round) == first
        print(f"  group B serves the same results of the read round as A: {'OK' if same else 'NO'}")
        ok = ok and same

        read_path = f"/api/v1/rounds/{read_round}/results"
        submit_path = f"/api/v1/rounds/{submit_round}/responses"
        bodies = [
            json.dumps(
                {"area_id": a, "language": "sv", "channel": "web", "answers": FULL_ANSWERS},
                ensure_ascii=False,
            ).encode()
            for a in setup.area_ids
        ]
        requests = {
            "read": [(s.port, encode_gets(s.port, read_path, setup.key)) for s in servers],
            "submit": [
                (s.port, encode_posts(s.port, submit_path, setup.key, bodies)) for s in servers
            ],
        }
        meter = GroupsMeter(servers, name)
        waits = LockWaits(plain_url, name)
        answered_201 = 0

        print(f"  warm-up: {args.warmup_seconds:g} s per kind, over both groups")
        for kind in KINDS:
            run, _, _ = measure(
                kind, requests[kind], meter, waits, args.clients, args.warmup_seconds
            )
            answered_201 += run.statuses.get(201, 0)
            if run.ok == 0 or run.first_error:
                print(fmt_run(run))
                raise RuntimeError(f"warm-up of {kind} failed: {run.first_error}")

        runs: dict[tuple[str, str], list[Run]] = {(k, c): [] for k in KINDS for c in CONFIGS}
        group_cpu: dict[tuple[str, str], list[list[float]]] = {key: [] for key in runs}
        lock_waits: dict[tuple[str, str], list[tuple[float, float]]] = {key: [] for key in runs}
        all_blockers: dict[tuple[str, str], Counter[str]] = {key: Counter() for key in runs}
        for i in range(args.repeats):
            print(f"  repeat {i + 1}/{args.repeats} (load average {os.getloadavg()[0]:.2f})")
            for kind in KINDS:
                for config in CONFIGS:
                    loads = requests[kind][: 1 if config == "1 group" else 2]
                    for attempt in range(args.retries + 1):
                        run, per_group, waited = measure(
                            f"{kind} {config[0]}", loads, meter, waits, args.clients, args.seconds
                        )
                        answered_201 += run.statuses.get(201, 0)
                        busy = run.cpu.other > args.max_other
                        note = (
                            f"\n             database: {waited[0]:.2f} backends running a "
                            f"statement, {waited[1]:.2f} waiting for a lock (means)"
                        )
                        for what, n in waits.blockers.most_common(2):
                            note += f"\n               {n} waits: {what}"
                            all_blockers[(kind, config)][what] += n
                        if busy and attempt < args.retries:
                            print(fmt_run(run, f"{note}  (machine busy: measuring again)"))
                            continue
                        unreliable = "  (machine busy: figures unreliable)" if busy else ""
                        print(fmt_run(run, note + unreliable))
                        break
                    lock_waits[(kind, config)].append(waited)
                    runs[(kind, config)].append(run)
                    group_cpu[(kind, config)].append([c / run.cpu.wall for c in per_group])
                    ok = ok and run.first_error is None and run.ok > 0

        stored = stored_count(url, submit_round)
        counted = [counted_responses(s.base_url, setup.key, submit_round) for s in servers]
        good = stored == answered_201 and all(c == stored for c in counted)
        print(
            f"  submit round: {stored} responses stored for {answered_201} answers 201 (warm-up "
            f"included); groups A and B read {counted[0]} and {counted[1]} in its results: "
            f"{'OK' if good else 'MISMATCH'}"
        )
        ok = ok and good
        cpu_split = {
            config: {
                kind: [
                    statistics.median(g[i] for g in group_cpu[(kind, config)])
                    for i in range(len(servers))
                ]
                for kind in KINDS
            }
            for config in CONFIGS
        }
    finally:
        for server in servers:
            server.stop()
            if ok:
                server.remove_logs()
            else:
                print(f"  server log kept: {server.log_path}")
        if args.keep_db:
            print(f"  kept database {name}")
        else:
            drop_database(args.postgres_url, name)
    report(args, runs, cpu_split, lock_waits, all_blockers)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
