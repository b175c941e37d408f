"""The first minutes with the `survey-api` command: a taken port, workers on SQLite, and links
that point at the address actually served."""

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import free_port


def command(*args: str, database: Path, **env: str) -> subprocess.Popen[str]:
    environment = {**os.environ, "DATABASE_URL": f"sqlite:///{database}", **env}
    environment.pop("SURVEY_API_PUBLIC_BASE_URL", None)
    environment.update(env)
    return subprocess.Popen(
        [sys.executable, "-m", "survey_api.cli", *args],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=database.parent,
    )


def test_a_taken_port_is_reported_before_anything_else(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = command("quickstart", "--port", str(port), database=tmp_path / "db.sqlite")
        out, _ = done.communicate(timeout=60)
    assert done.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in out and f"--port {port + 1}" in out
    assert "Errno" not in out and "Traceback" not in out
    assert not (tmp_path / "db.sqlite").exists()  # nothing was migrated or loaded


def test_sqlite_refuses_several_workers_with_a_reason(tmp_path: Path) -> None:
    done = command("serve", "--workers", "2", "--port", str(free_port()), database=tmp_path / "x")
    out, _ = done.communicate(timeout=60)
    assert done.returncode == 1
    assert "--workers 2 needs PostgreSQL" in out


def test_links_follow_the_port_served(tmp_path: Path) -> None:
    port = free_port()
    served = command("quickstart", "--port", str(port), database=tmp_path / "demo.sqlite")
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 120
        assert served.stdout is not None
        for line in served.stdout:
            lines.append(line)
            if "Uvicorn running" in line or time.monotonic() > deadline:
                break
    finally:
        served.terminate()
        served.wait(timeout=30)
    out = "".join(lines)
    links = re.findall(r"https?://[^\s]+", out)
    assert len(links) >= 5, out
    assert all(link.startswith(f"http://127.0.0.1:{port}") for link in links), links
    # An explicit setting wins.
    other = tmp_path / "other.sqlite"
    migrate = command("migrate", database=other)
    assert migrate.wait(timeout=120) == 0
    explicit = command(
        "demo", database=other, SURVEY_API_PUBLIC_BASE_URL="https://enkat.example.se"
    )
    out, _ = explicit.communicate(timeout=120)
    assert "https://enkat.example.se/i/" in out, out
