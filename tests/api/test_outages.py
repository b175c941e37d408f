"""When the database is down or busy, every request answers 503 problem+json with Retry-After,
logs one line (no traceback), and the client's connection stays usable; when the database is
back, so is the service.

The outage is real: a server whose PostgreSQL address refuses connections, and an SQLite file
whose write lock another process holds.
"""

import logging
import socket
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from survey_api import migrate
from tests.api.support import problem
from tests.conftest import LiveServer, free_port, serve, settings_for


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def log_lines() -> Iterator[list[logging.LogRecord]]:
    handler = _Lines()
    logger = logging.getLogger("survey_api")
    logger.addHandler(handler)
    try:
        yield handler.records
    finally:
        logger.removeHandler(handler)


@pytest.fixture
def postgres_down() -> Iterator[LiveServer]:
    """The app configured for a PostgreSQL server that is not running."""
    url = f"postgresql://postgres@127.0.0.1:{free_port()}/survey"
    with serve(settings_for(url, db_wait_seconds=2)) as live:
        yield live


def raw_requests(base_url: str, paths: list[str]) -> list[bytes]:
    """Send requests one after another on ONE keep-alive connection; return each status line.

    If the server dropped the connection after an error, a later request would fail here."""
    host, port = base_url.removeprefix("http://").split(":")
    statuses = []
    with socket.create_connection((host, int(port)), timeout=30) as conn:
        reader = conn.makefile("rb")
        for path in paths:
            conn.sendall(
                f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer sak_x\r\n"
                "Accept-Language: sv\r\n\r\n".encode()
            )
            status = reader.readline()
            length = 0
            while (line := reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                if name.lower() == "content-length":
                    length = int(value)
                assert name.lower() != "connection" or "close" not in value.lower(), line
            reader.read(length)
            statuses.append(status.split()[1])
    return statuses


def test_postgres_down_answers_503_and_keeps_the_connection(
    postgres_down: LiveServer, log_lines: list[logging.LogRecord]
) -> None:
    with httpx.Client(base_url=postgres_down.base_url, timeout=30) as client:
        response = client.get("/api/v1/areas", headers={"Authorization": "Bearer sak_x"})
        body = problem(response, 503)
        assert "unavailable" in body["detail"]
        assert int(response.headers["Retry-After"]) > 0
        # The tenant form says it in the tenant's language, as a page.
        page = client.get("/i/ACDEFHJKMNPQ", headers={"Accept-Language": "sv"})
        assert page.status_code == 503 and "text/html" in page.headers["content-type"]
        assert "försök igen" in page.text.lower() and int(page.headers["Retry-After"]) > 0
    assert (
        raw_requests(postgres_down.base_url, ["/api/v1/areas"] * 3 + ["/i/ACDEFHJKMNPQ"])
        == [b"503"] * 4
    )
    warnings = [r for r in log_lines if "database unavailable" in r.getMessage()]
    assert len(warnings) == 6
    assert all(r.levelno == logging.WARNING and r.exc_info is None for r in warnings)
    assert "ACDEFHJKMNPQ" not in " ".join(r.getMessage() for r in warnings)  # codes redacted


def test_a_locked_sqlite_database_answers_503_then_recovers(
    tmp_path: Path, log_lines: list[logging.LogRecord]
) -> None:
    path = tmp_path / "busy.sqlite"
    url = f"sqlite:///{path}"
    migrate.upgrade(url)
    from survey_api.auth import service as auth_service
    from survey_api.db import make_engine, make_sessionmaker
    from survey_api.organisations import service as organisations_service

    engine = make_engine(url)
    with make_sessionmaker(engine)() as session:
        org = organisations_service.create_organisation(session, name="Busy", slug="busy")
        _key, secret = auth_service.create_api_key(session, org, name="a", role="admin")
        session.commit()
    engine.dispose()

    area = {"code": "a1", "name": "A1", "municipality_code": "1480"}
    with (
        serve(settings_for(url, db_wait_seconds=0.5)) as live,
        httpx.Client(
            base_url=live.base_url, headers={"Authorization": f"Bearer {secret}"}, timeout=30
        ) as client,
    ):
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # another process is writing, for a long time
        try:
            started = time.monotonic()
            busy = client.post("/api/v1/areas", json=area)
            waited = time.monotonic() - started
            problem(busy, 503)
            assert busy.headers["Retry-After"]
            assert waited < 10  # a short wait, never a 30 s hang
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        created = client.post("/api/v1/areas", json=area)
        assert created.status_code == 201, created.text
        assert [a["code"] for a in client.get("/api/v1/areas").json()["items"]] == ["a1"]
    assert any("database is locked" in r.getMessage() for r in log_lines)
