#!/usr/bin/env python3
"""One-command set-up for people and CI; needs only Python 3.11+.

    python3 dev.py serve    install, migrate the SQLite file, load demo data, serve on :8000
    python3 dev.py test     install, then run the whole test suite (pytest args may follow)

`test` runs the suite in parallel worker processes (pytest-xdist; SURVEY_API_TEST_WORKERS sets
how many, default one more than the CPUs, at most 4); `python3 dev.py test -n 0` runs it in one
process, and any -n/--dist/-p no:xdist of your own is used as given.

Both create .venv/ on first use and reinstall only when pyproject.toml changes; `serve`
installs only what the service needs, `test` adds the test tools.
"""

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".installed-pyproject-sha256"
PG_SCRIPT = ROOT / "scripts" / "start-test-postgres.sh"


def ensure_installed(extras: str) -> None:
    """Create the virtual environment and install the project (`extras`: "" or "dev").

    `serve` installs only what the service needs; `test` adds the dev extras. Each install is
    remembered by pyproject.toml's hash, so a later run installs nothing unless it changed.
    """
    if sys.version_info < (3, 11):
        sys.exit("survey_api needs Python 3.11 or newer")
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    done = STAMP.read_text().split() if STAMP.exists() else []
    wanted = f"{digest}:{extras or 'base'}"
    if wanted in done or (not extras and f"{digest}:dev" in done):
        return
    if not (BIN / "python").exists():
        print("creating .venv …", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    what = "the service and its test tools" if extras else "the service"
    print(
        f"installing {what} into .venv (a few minutes the first time; pip shows each step) …",
        flush=True,
    )
    pip = [str(BIN / "python"), "-m", "pip", "install", "--disable-pip-version-check"]
    subprocess.run([*pip, "--quiet", "--upgrade", "pip"], check=True)
    target = f"{ROOT}[{extras}]" if extras else str(ROOT)
    subprocess.run([*pip, "--progress-bar", "on", "-e", target], check=True)
    STAMP.write_text(" ".join([*(d for d in done if d.startswith(digest)), wanted]))
    print("installed.", flush=True)


def serve(args: list[str]) -> int:
    """Migrate, load demo data when the database is empty, serve with API docs."""
    return subprocess.call([str(BIN / "survey-api"), "quickstart", *args], cwd=ROOT)


def test(args: list[str]) -> int:
    """The whole suite: SQLite always; PostgreSQL and Chromium legs when available."""
    env = dict(os.environ)
    if not env.get("SURVEY_API_TEST_POSTGRES_URL") and shutil.which("bash") and _has_postgres():
        started = subprocess.run(["bash", str(PG_SCRIPT)], capture_output=True, text=True)
        if started.returncode == 0 and "=" in started.stdout:
            key, _, value = started.stdout.strip().removeprefix("export ").partition("=")
            env[key] = value
            print(f"PostgreSQL leg: {value}", flush=True)
        else:
            print(f"could not start PostgreSQL: {started.stderr.strip()}", flush=True)
    return subprocess.call(
        [str(BIN / "python"), "-m", "pytest", *parallel(args, env)], cwd=ROOT, env=env
    )


WORKERS_ENV = "SURVEY_API_TEST_WORKERS"


def parallel(args: list[str], env: dict[str, str]) -> list[str]:
    """The pytest arguments with pytest-xdist's workers added, unless the caller chose.

    Most of a test's time is spent waiting (HTTP round trips to the live server, PostgreSQL,
    Chromium), so one worker more than there are CPUs keeps them busy; more than 4 only adds
    contention. Each worker starts its own databases and servers (tests/conftest.py).
    `loadgroup` hands out the tests one by one in collection order, so a worker sets up the
    SQLite leg once and the PostgreSQL leg once, and keeps tests marked
    `xdist_group` on one worker.
    """
    chosen = any(
        arg.startswith(("-n", "--numprocesses", "--dist")) or arg in ("no:xdist", "-pno:xdist")
        for arg in args
    )
    if chosen:
        return args
    workers = env.get(WORKERS_ENV) or str(min((os.cpu_count() or 1) + 1, 4))
    return ["-n", workers, "--dist", "loadgroup", *args]


def _has_postgres() -> bool:
    return any(Path("/usr/lib/postgresql").glob("*/bin/initdb"))


def main() -> int:
    commands = {"serve": serve, "test": test}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        print(__doc__)
        return 2
    ensure_installed("dev" if sys.argv[1] == "test" else "")
    return commands[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    raise SystemExit(main())
