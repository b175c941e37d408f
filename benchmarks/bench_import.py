"""How long a fresh process takes to import the app and run create_app(), beside the floor.

uvicorn kills a worker that does not report healthy within its health-check timeout; on a
loaded host a slow import means workers respawned for ever. This measures, in fresh processes,
interleaved, the median of N runs of:

* app: ``from survey_api.main import create_app; create_app(Settings(...))``
* floor: the framework alone (FastAPI, SQLAlchemy, Pydantic, Jinja2 imported, an empty
  ``FastAPI()`` built): what no app built on them can go below.

and then lists the heaviest imports of one app run (``python -X importtime``), and which heavy
libraries were loaded at start (openpyxl, NumPy, SciPy should not be: they load on first use).

    .venv/bin/python benchmarks/bench_import.py [--runs 7]
"""

import argparse
import statistics
import subprocess
import sys

APP = """
import time
t = time.perf_counter()
from survey_api.config import Settings
from survey_api.main import create_app
create_app(Settings(database_url="sqlite://"))
elapsed = time.perf_counter() - t
import sys
heavy = [m for m in ("openpyxl", "numpy", "scipy", "segno", "statsmodels") if m in sys.modules]
print(elapsed, ",".join(heavy))
"""

FLOOR = """
import time
t = time.perf_counter()
import fastapi, sqlalchemy, pydantic, jinja2, sqlalchemy.orm
fastapi.FastAPI()
print(time.perf_counter() - t, "")
"""


def run(code: str, *flags: str) -> tuple[float, str, str]:
    done = subprocess.run(
        [sys.executable, *flags, "-c", code], capture_output=True, text=True, check=True
    )
    seconds, _, heavy = done.stdout.strip().partition(" ")
    return float(seconds), heavy, done.stderr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    run(APP)  # warm the file cache and .pyc files
    app_times, floor_times = [], []
    heavy = ""
    for _ in range(args.runs):
        seconds, heavy, _ = run(APP)
        app_times.append(seconds)
        floor_times.append(run(FLOOR)[0])
    app, floor = statistics.median(app_times), statistics.median(floor_times)
    print(f"runs: {args.runs} interleaved fresh processes; medians")
    print(f"create_app() from a fresh process: {app * 1000:7.0f} ms  (target <= 1000 ms)")
    print(f"floor (framework only):            {floor * 1000:7.0f} ms")
    print(f"ratio app/floor:                   {app / floor:7.2f}")
    print(f"heavy libraries loaded at start:   {heavy or 'none'}")
    _, _, trace = run(APP, "-X", "importtime")
    rows = []
    for line in trace.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[1].strip().isdigit():
            rows.append((int(parts[1]), parts[2].strip()))
    print("heaviest imports (cumulative µs, one run):")
    for micros, name in sorted(rows, reverse=True)[:12]:
        print(f"  {micros:9d}  {name}")


if __name__ == "__main__":
    main()
