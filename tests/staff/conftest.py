"""Staff console tests over the real HTTP stack, on both databases.

The console server's public base URL is its own loopback address, so cookies are not Secure
(plain http on this machine) and the set-password links it prints open on it. Its login
throttle is generous; the throttling tests start a server of their own with tight limits.
"""

import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

from survey_api.main import create_app
from survey_api.organisations import service as organisations_service
from survey_api.staff import service as staff_service
from survey_api.staff.throttle import LoginThrottle
from tests.conftest import LiveServer, loopback_socket, settings_for

PASSWORD = "korrekt häst batteri häftklammer"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@contextmanager
def serve_console(
    database_url: str, throttle: LoginThrottle | None = None, *, access_log: bool = False
) -> Iterator[LiveServer]:
    """The app on a loopback port whose public base URL is that very address."""
    sock = loopback_socket()
    port = int(sock.getsockname()[1])
    base = f"http://127.0.0.1:{port}"
    settings = settings_for(database_url, public_base_url=base)
    app: FastAPI = create_app(settings)
    app.state.login_throttle = throttle or LoginThrottle(
        account="1000/minute", client="1000/minute"
    )
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="info" if access_log else "warning",
        lifespan="on",
        log_config=None,
        access_log=access_log,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the console test server did not start")
        time.sleep(0.02)
    try:
        yield LiveServer(base_url=base, settings=settings)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture(scope="session")
def console_server(database_url: str) -> Iterator[LiveServer]:
    with serve_console(database_url) as live:
        yield live


def csrf_of(html: str) -> str:
    """The hidden CSRF token of the (first) form on a page."""
    found = _CSRF.search(html)
    assert found, html[:2000]
    return found.group(1)


class Browser(httpx.Client):
    """An HTTP client that behaves like a browser on the console: cookies, forms."""

    def form(self, path: str, page: str | None = None, **fields: str) -> httpx.Response:
        """Open `page` (default: `path`), then post its form with its CSRF token."""
        html = self.get(page or path).text
        return self.post(path, data={"csrf_token": csrf_of(html), **fields})

    def log_in(self, email: str, password: str = PASSWORD) -> httpx.Response:
        return self.form("/console/login", email=email, password=password)


@pytest.fixture
def browser(console_server: LiveServer) -> Iterator[Callable[[], Browser]]:
    made: list[Browser] = []

    def factory() -> Browser:
        client = Browser(base_url=console_server.base_url, timeout=30, follow_redirects=False)
        made.append(client)
        return client

    yield factory
    for client in made:
        client.close()


@dataclass
class StaffOrg:
    """An organisation with one staff user per role, each with PASSWORD set."""

    id: int
    slug: str
    emails: dict[str, str]
    user_ids: dict[str, int]


def make_staff_org(db: sessionmaker[Session]) -> StaffOrg:
    slug = f"org-{uuid.uuid4().hex[:10]}"
    emails: dict[str, str] = {}
    ids: dict[str, int] = {}
    with db() as session:
        org = organisations_service.create_organisation(session, name=slug, slug=slug)
        for role in ("admin", "analyst", "viewer"):
            user, token = staff_service.create_user(session, org, f"{role}.{slug}@x.example", role)
            staff_service.use_password_token(session, token, PASSWORD)
            emails[role], ids[role] = user.email, user.id
        session.commit()
        return StaffOrg(id=org.id, slug=slug, emails=emails, user_ids=ids)


@pytest.fixture
def staff_org(db: sessionmaker[Session]) -> StaffOrg:
    return make_staff_org(db)


class Collect(logging.Handler):
    """Every record of some loggers, formatted, for looking for secrets."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))
