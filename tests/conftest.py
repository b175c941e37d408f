"""Test fixtures: a real database (an SQLite file and a PostgreSQL server) and a real HTTP server.

Every test that takes `backend` runs once per database. Tests are isolated by organisation:
each creates its own, and every row in the system is scoped to one.
"""

import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from sqlalchemy import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

from survey_api import migrate
from survey_api.auth import service as auth_service
from survey_api.config import Settings
from survey_api.db import make_engine, make_sessionmaker, normalise_url
from survey_api.main import create_app
from survey_api.organisations import service as organisations_service

POSTGRES_ENV = "SURVEY_API_TEST_POSTGRES_URL"
POSTGRES_HINT = (
    f'PostgreSQL leg skipped: set {POSTGRES_ENV} (eval "$(scripts/start-test-postgres.sh)" '
    "starts a throwaway server on loopback)"
)
TEST_SECRET = "test-secret-key"
TEST_MAX_BODY = 1_000_000
STANDARD_PATH = (
    Path(__file__).resolve().parents[1] / "src/survey_api/data/trygghetsmatning-standard.json"
)


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def create_postgres_database(base_url: str) -> str:
    """Create a fresh database on the test server and return its URL."""
    import psycopg

    name = f"survey_api_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(base_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return (
        make_url(normalise_url(base_url)).set(database=name).render_as_string(hide_password=False)
    )


def drop_postgres_database(base_url: str, url: str) -> None:
    import psycopg

    name = make_url(url).database
    with psycopg.connect(base_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A migrated, empty database of each kind."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'survey.sqlite'}"
        migrate.upgrade(url)
        yield url
        return
    base = os.environ.get(POSTGRES_ENV)
    if not base:
        if in_ci():
            pytest.fail(f"CI must run the PostgreSQL leg: {POSTGRES_ENV} is not set")
        pytest.skip(POSTGRES_HINT)
    url = create_postgres_database(base)
    migrate.upgrade(url)
    yield url
    drop_postgres_database(base, url)


@pytest.fixture(scope="session")
def backend(database_url: str) -> str:
    """'sqlite' or 'postgresql'."""
    return "sqlite" if database_url.startswith("sqlite") else "postgresql"


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def db(engine: Engine) -> sessionmaker[Session]:
    """Sessions on the test database, for setting up and for checking what was stored."""
    return make_sessionmaker(engine)


def free_port() -> int:
    """A port nobody listens on right now (for a subprocess's --port, or a refused address)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def loopback_socket() -> socket.socket:
    """A socket bound to a free loopback port, for uvicorn to listen on.

    Binding here and handing the socket over (rather than a port number from `free_port`)
    leaves no moment in which another pytest-xdist worker's server could take the same port.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    return sock


@dataclass
class LiveServer:
    base_url: str
    settings: Settings


def settings_for(database_url: str, **overrides: object) -> Settings:
    """The settings of a test server; the tenant form's per-client limits are out of the way
    (every test request comes from 127.0.0.1) unless a test sets its own."""
    values: dict[str, object] = {
        "database_url": database_url,
        "secret_key": TEST_SECRET,
        "max_body_bytes": TEST_MAX_BODY,
        "public_base_url": "http://testserver.invalid",
        "form_link_answer_limit": "100000/hour",
        "form_code_attempt_limit": "100000/minute",
        # Reads fold what they need; tests of the background folder turn it on.
        "fold_interval_seconds": 0,
        # Webhook tests (tests/webhooks) run a dispatcher of their own.
        "webhook_dispatcher": False,
        **overrides,
    }
    return Settings(**values)  # type: ignore[arg-type]


@contextmanager
def serve(settings: Settings) -> Iterator[LiveServer]:
    """The app served by uvicorn on a loopback port, in a thread, until the block ends."""
    sock = loopback_socket()
    port = int(sock.getsockname()[1])
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
    )
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not uv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield LiveServer(base_url=f"http://127.0.0.1:{port}", settings=settings)
    finally:
        uv.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture(scope="session")
def server(database_url: str) -> Iterator[LiveServer]:
    """The app served by uvicorn on a loopback port: the real HTTP stack."""
    with serve(settings_for(database_url)) as live:
        yield live


@dataclass
class Org:
    """An organisation made for one test, with a client per role."""

    id: int
    slug: str
    keys: dict[str, str]
    clients: dict[str, httpx.Client]

    @property
    def admin(self) -> httpx.Client:
        return self.clients["admin"]

    @property
    def analyst(self) -> httpx.Client:
        return self.clients["analyst"]

    @property
    def integrator(self) -> httpx.Client:
        return self.clients["integrator"]


@pytest.fixture
def make_org(server: LiveServer, db: sessionmaker[Session]) -> Iterator[Callable[[], Org]]:
    """Create organisations with an admin, an analyst and an integrator key each."""
    clients: list[httpx.Client] = []

    def factory() -> Org:
        slug = f"org-{uuid.uuid4().hex[:10]}"
        with db() as session:
            org = organisations_service.create_organisation(session, name=slug, slug=slug)
            keys = {
                role: auth_service.create_api_key(session, org, name=role, role=role)[1]
                for role in ("admin", "analyst", "integrator")
            }
            session.commit()
            org_id = org.id
        made = {
            role: httpx.Client(
                base_url=server.base_url, headers={"Authorization": f"Bearer {key}"}, timeout=30
            )
            for role, key in keys.items()
        }
        clients.extend(made.values())
        return Org(id=org_id, slug=slug, keys=keys, clients=made)

    yield factory
    for client in clients:
        client.close()


@pytest.fixture
def org(make_org: Callable[[], Org]) -> Org:
    """A fresh organisation for this test."""
    return make_org()


@pytest.fixture
def anonymous(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        yield client
