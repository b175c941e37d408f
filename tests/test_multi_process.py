"""Several server processes against one PostgreSQL, as several hosts behind a load balancer
(README, "Running several processes or hosts").

Four `uvicorn` processes, started as an operator would (settings from the environment), share
one database:

* A and B: the same secret key and the same temporary directory (a host pair whose kept
  console uploads are on shared storage);
* C: the same secret key, a temporary directory of its own (a host without that storage);
* D: another secret key (a host configured wrongly).

A client whose every request goes to the next of A and B in turn is a load balancer without
sticky sessions: a tenant's form, a coordinator's console session and its forms, share links
and API calls must work whichever process serves each request, and what one process stores or
revokes must hold on the others at once. D shows why the secret key must be the same
everywhere; C what happens to a previewed console import confirmed on a host that lacks the
kept file (refused, nothing stored).

PostgreSQL only: SQLite is one file on one host (the README says so), and `survey-api serve`
refuses more than one worker on it.
"""

import itertools
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from survey_api import migrate
from survey_api.auth import service as auth_service
from survey_api.db import make_engine, make_sessionmaker
from survey_api.models import Invitation, PendingResponse, Response
from survey_api.organisations import service as organisations_service
from tests.conftest import (
    POSTGRES_ENV,
    POSTGRES_HINT,
    create_postgres_database,
    drop_postgres_database,
    free_port,
    in_ci,
)
from tests.helpers import create_area, full_answers, ok, open_round
from tests.staff.conftest import PASSWORD, Browser, csrf_of, make_staff_org
from tests.staff.test_console_classifications_import import HEADER, confirm_fields
from tests.web.pages import complete

pytestmark = pytest.mark.postgres

SECRET = "multi-process-test-secret"
OTHER_SECRET = "another-hosts-secret"


@dataclass
class Host:
    """One server process (`uvicorn --factory survey_api.main:create_app`)."""

    name: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _start(name: str, env: dict[str, str], cwd: Path) -> Host:
    port = free_port()
    log = cwd / f"{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable, "-m", "uvicorn", "--factory", "survey_api.main:create_app",
                "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
                "--no-access-log",
            ],
            env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    return Host(name, port, process, log)


def _ready(host: Host, deadline: float) -> bool:
    """Whether the host answers; False when it exited (its port was taken meanwhile)."""
    while time.monotonic() < deadline:
        if host.process.poll() is not None:
            return False
        try:
            httpx.get(f"{host.base_url}/api/v1/openapi.json", timeout=2)
            return True
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"{host.name} did not start: {host.log.read_text()[-2000:]}")


@dataclass
class Cluster:
    database_url: str
    db: sessionmaker[Session]
    hosts: dict[str, Host]
    public_base_url: str
    clients: list[httpx.Client] = field(default_factory=list)

    def client(self, host: str, key: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        made = httpx.Client(
            base_url=self.hosts[host].base_url, headers=headers, timeout=60, follow_redirects=False
        )
        self.clients.append(made)
        return made

    def balanced(self, key: str | None = None) -> tuple[Browser, "RoundRobin"]:
        """A client behind a load balancer without sticky sessions (A, B, A, B, ...)."""
        transport = RoundRobin([self.hosts["A"].port, self.hosts["B"].port])
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        made = Browser(
            base_url=self.public_base_url,
            headers=headers,
            transport=transport,
            timeout=60,
            follow_redirects=False,
        )
        self.clients.append(made)
        return made, transport

    def organisation(self) -> tuple[int, str]:
        """A new organisation and its admin key."""
        slug = f"org-{uuid.uuid4().hex[:10]}"
        with self.db() as session:
            org = organisations_service.create_organisation(session, name=slug, slug=slug)
            key = auth_service.create_api_key(session, org, name="admin", role="admin")[1]
            session.commit()
            return org.id, key


class RoundRobin(httpx.HTTPTransport):
    """Sends each request to the next port in turn, as a load balancer would; the Host header
    stays the public one."""

    def __init__(self, ports: list[int]) -> None:
        super().__init__()
        self._ports = itertools.cycle(ports)
        self.served: list[int] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        port = next(self._ports)
        request.url = request.url.copy_with(port=port)
        self.served.append(port)
        return super().handle_request(request)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    base = os.environ.get(POSTGRES_ENV)
    if not base:
        if in_ci():
            pytest.fail(f"CI must run the PostgreSQL leg: {POSTGRES_ENV} is not set")
        pytest.skip(POSTGRES_HINT)
    url = create_postgres_database(base)
    migrate.upgrade(url)
    engine = make_engine(url)
    root = tmp_path_factory.mktemp("hosts")
    shared_tmp, own_tmp = root / "shared-tmp", root / "c-tmp"
    shared_tmp.mkdir()
    own_tmp.mkdir()
    public = f"http://127.0.0.1:{free_port()}"  # the load balancer's address, in every link
    common = {
        **os.environ,
        "DATABASE_URL": url,
        "SURVEY_API_PUBLIC_BASE_URL": public,
        "SURVEY_API_FORM_LINK_ANSWER_LIMIT": "100000/hour",
        "SURVEY_API_FORM_CODE_ATTEMPT_LIMIT": "100000/minute",
        "PYTHONUNBUFFERED": "1",
    }
    plans = {
        "A": {"SURVEY_API_SECRET_KEY": SECRET, "TMPDIR": str(shared_tmp)},
        "B": {"SURVEY_API_SECRET_KEY": SECRET, "TMPDIR": str(shared_tmp)},
        "C": {"SURVEY_API_SECRET_KEY": SECRET, "TMPDIR": str(own_tmp)},
        "D": {"SURVEY_API_SECRET_KEY": OTHER_SECRET, "TMPDIR": str(own_tmp)},
    }
    hosts: dict[str, Host] = {}
    try:
        pending = {name: _start(name, {**common, **env}, root) for name, env in plans.items()}
        deadline = time.monotonic() + 120  # a loaded machine (xdist workers) starts slowly
        for _attempt in range(3):  # a port taken between free_port() and uvicorn: another one
            for name, host in list(pending.items()):
                if _ready(host, deadline):
                    hosts[name] = pending.pop(name)
                else:
                    pending[name] = _start(name, {**common, **plans[name]}, root)
        assert not pending, f"{sorted(pending)} did not start"
        made = Cluster(url, make_sessionmaker(engine), hosts, public)
        yield made
        for client in made.clients:
            client.close()
    finally:
        for host in [*hosts.values()]:
            host.process.terminate()
        for host in hosts.values():
            try:
                host.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                host.process.kill()
                host.process.wait()
        engine.dispose()
        drop_postgres_database(base, url)


def _ports(cluster: Cluster, *names: str) -> set[int]:
    return {cluster.hosts[name].port for name in names}


def test_a_tenant_answers_through_both_hosts_and_the_answer_is_stored_once(
    cluster: Cluster,
) -> None:
    _org_id, key = cluster.organisation()
    survey = open_round(cluster.client("A", key))
    issued = ok(
        cluster.client("B", key).post(
            f"/api/v1/rounds/{survey.id}/invitations",
            json={"area_id": survey.area_ids[0], "count": 1},
        ),
        201,
    )
    code = issued["codes"][0]["code"]
    tenant, transport = cluster.balanced()
    # The QR link on one host, every step of the form on the next one in turn: each signed
    # form token made by one process is read by the other.
    sent, steps = complete(tenant, tenant.get(f"/i/{code}"), full_answers())
    assert sent.status_code == 303 and sent.headers["location"].startswith("/thanks"), sent.text
    assert len(steps) >= 3
    assert set(transport.served) == _ports(cluster, "A", "B")
    with cluster.db() as session:
        pending = session.scalars(
            select(PendingResponse).where(PendingResponse.survey_round_id == survey.id)
        ).all()
        stored = session.scalar(
            select(func.count()).select_from(Response).where(Response.survey_round_id == survey.id)
        )
        used = session.scalars(
            select(Invitation.used_date).where(Invitation.survey_round_id == survey.id)
        ).all()
    assert [p.answers for p in pending] == [full_answers()] and stored == 0
    assert [u is not None for u in used] == [True]
    # The code is spent everywhere, not only where it was used.
    for name in ("A", "B", "C"):
        assert cluster.client(name).get(f"/i/{code}").status_code == 409


def test_responses_sent_to_both_hosts_are_counted_once_by_each(cluster: Cluster) -> None:
    _org_id, key = cluster.organisation()
    survey = open_round(cluster.client("A", key), n_areas=1)
    api, transport = cluster.balanced(key)
    for _ in range(12):
        body = {"area_id": survey.area_ids[0], "language": "sv", "answers": full_answers()}
        ok(api.post(f"/api/v1/rounds/{survey.id}/responses", json=body), 201)
    assert set(transport.served) == _ports(cluster, "A", "B")
    for name in ("A", "B", "C"):
        results = ok(cluster.client(name, key).get(f"/api/v1/rounds/{survey.id}/results"))
        [area] = results["areas"]
        assert area["responses"]["responses"] == 12, name
    # Reading again where the other process folded first changes nothing.
    again = ok(cluster.client("A", key).get(f"/api/v1/rounds/{survey.id}/results"))
    assert again["areas"][0]["responses"]["responses"] == 12


def test_a_console_session_works_on_every_host_and_ends_on_every_host(
    cluster: Cluster,
) -> None:
    org = make_staff_org(cluster.db)
    browser, transport = cluster.balanced()
    # The login page from one process, its form (CSRF token, form cookie) posted to the other.
    signed_in = browser.log_in(org.emails["admin"], PASSWORD)
    assert signed_in.status_code == 303, signed_in.text
    for _ in range(2):  # one page from each process
        page = browser.get("/console/")
        assert page.status_code == 200 and 'action="/console/logout"' in page.text, page.text
    assert set(transport.served) == _ports(cluster, "A", "B")
    cookies = dict(browser.cookies)
    # Signing out on one process ends the session on every other at once.
    out = browser.post("/console/logout", data={"csrf_token": csrf_of(page.text)})
    assert out.status_code == 303 and "/console/login" in out.headers["location"]
    for name in ("A", "B", "C"):
        elsewhere = cluster.client(name)
        elsewhere.cookies.update(cookies)
        stale = elsewhere.get("/console/")
        assert stale.status_code == 303 and "/console/login" in stale.headers["location"], name


def test_a_share_link_opens_on_every_host_with_the_same_secret_only(cluster: Cluster) -> None:
    _org_id, key = cluster.organisation()
    survey = open_round(cluster.client("A", key), n_areas=1)
    link = ok(
        cluster.client("A", key).post(f"/api/v1/rounds/{survey.id}/share-links", json={}), 201
    )
    assert link["url"].startswith(cluster.public_base_url)
    path = urlsplit(link["url"]).path
    for name in ("B", "C"):
        page = cluster.client(name).get(path)
        assert page.status_code == 200 and "<h1" in page.text, name
    # A process with another secret key cannot read the link, nor the codes of the others.
    assert cluster.client("D").get(path).status_code == 404
    code = ok(
        cluster.client("B", key).post(
            f"/api/v1/rounds/{survey.id}/invitations",
            json={"area_id": survey.area_ids[0], "count": 1},
        ),
        201,
    )["codes"][0]["code"]
    assert cluster.client("C").get(f"/i/{code}").status_code == 200
    assert cluster.client("D").get(f"/i/{code}").status_code == 404


def test_a_previewed_import_is_confirmed_only_where_the_kept_file_is(cluster: Cluster) -> None:
    org = make_staff_org(cluster.db)
    with cluster.db() as session:
        organisation = organisations_service.get_organisation(session, org.id)
        key = auth_service.create_api_key(session, organisation, name="a", role="analyst")[1]
        session.commit()
    api = cluster.client("A", key)
    area = create_area(api, "hjallbo", deso_code="1480C1010", deso_version="2018")
    url = "/console/areas/classifications/import"
    data = f"{HEADER}\ndeso,1480C1010,2018,2024,1,\n".encode()

    def preview_on(name: str) -> tuple[Browser, dict[str, str]]:
        browser = Browser(base_url=cluster.hosts[name].base_url, timeout=60)
        cluster.clients.append(browser)
        assert browser.log_in(org.emails["analyst"]).status_code == 303
        page = browser.get(url)
        preview = browser.post(
            url,
            data={"csrf_token": csrf_of(page.text)},
            files={"file": ("klassning.csv", data, "text/csv")},
        )
        assert preview.status_code == 200 and "Importera</button>" in preview.text
        return browser, confirm_fields(preview.text)

    def classifications() -> list[dict[str, object]]:
        found: list[dict[str, object]] = ok(api.get(f"/api/v1/areas/{area['id']}"))[
            "classifications"
        ]
        return found

    # Previewed on A, confirmed on C (same database and secret, but the kept file is on A's
    # disk): refused, nothing stored; the coordinator is asked to upload the file again.
    browser, fields = preview_on("A")
    refused = browser.post(f"http://127.0.0.1:{cluster.hosts['C'].port}{url}/confirm", data=fields)
    assert refused.status_code == 400
    assert "Ladda upp filen igen" in refused.text
    assert classifications() == []
    # Confirmed on B, whose temporary directory is A's (shared storage): imported.
    done = browser.post(f"http://127.0.0.1:{cluster.hosts['B'].port}{url}/confirm", data=fields)
    assert done.status_code == 200 and "Klassningarna är importerade" in done.text, done.text
    assert [(c["year"], c["area_type"]) for c in classifications()] == [(2024, 1)]
