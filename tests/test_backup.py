"""`survey-api backup` and `survey-api restore`, as an operator runs them, on both databases.

A backup taken while answers are being written restores into a fresh database that is
consistent (its results count exactly the answers it holds); a backup at rest restores to
identical results. The commands are run as processes, like an operator would.
"""

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from survey_api.db import make_engine, make_sessionmaker
from survey_api.models import Response
from tests.conftest import (
    POSTGRES_ENV,
    LiveServer,
    Org,
    create_postgres_database,
    drop_postgres_database,
    serve,
    settings_for,
)
from tests.helpers import full_answers, ok, open_round


def survey_api(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "survey_api.cli", *args],
        env={**os.environ, "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def fresh_database(backend: str, tmp_path: Path) -> Iterator[Any]:
    """A factory of empty databases of the same kind (not migrated: restore brings the schema)."""
    made: list[str] = []

    def make() -> str:
        if backend == "sqlite":
            url = f"sqlite:///{tmp_path / f'restored{len(made)}.sqlite'}"
        else:
            url = create_postgres_database(os.environ[POSTGRES_ENV])
        made.append(url)
        return url

    yield make
    if backend == "postgresql":
        for url in made:
            drop_postgres_database(os.environ[POSTGRES_ENV], url)


def results_without_as_of(client: httpx.Client, round_id: int) -> dict[str, Any]:
    body: dict[str, Any] = ok(client.get(f"/api/v1/rounds/{round_id}/results"))
    body.pop("as_of")
    return body


def stored(url: str, round_id: int) -> int:
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as session:
            return int(
                session.scalar(
                    select(func.count())
                    .select_from(Response)
                    .where(Response.survey_round_id == round_id)
                )
                or 0
            )
    finally:
        engine.dispose()


def test_backup_during_writes_and_restore_into_a_fresh_database(
    org: Org, server: LiveServer, database_url: str, fresh_database: Any, tmp_path: Path
) -> None:
    r = open_round(org.analyst, n_areas=2)
    batch = {
        "responses": [
            {"area_id": a, "language": "sv", "channel": "paper", "answers": full_answers()}
            for a in r.area_ids
            for _ in range(10)
        ]
    }
    uploads = 0

    def upload() -> None:
        nonlocal uploads
        ok(
            org.integrator.post(
                f"/api/v1/rounds/{r.id}/responses/bulk",
                json=batch,
                headers={"Idempotency-Key": f"backup-{uploads}"},
            ),
            201,
        )
        uploads += 1

    for _ in range(3):
        upload()
    stop = threading.Event()

    def keep_writing() -> None:
        while not stop.is_set():
            upload()

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        during = survey_api(database_url, "backup", str(tmp_path / "during.bak"))
    finally:
        stop.set()
        writer.join(timeout=60)
    assert during.returncode == 0, during.stderr
    assert "backup written" in during.stdout
    at_rest_path = tmp_path / "at-rest.bak"
    at_rest = survey_api(database_url, "backup", str(at_rest_path))
    assert at_rest.returncode == 0, at_rest.stderr
    # A backup never overwrites a file.
    again = survey_api(database_url, "backup", str(at_rest_path))
    assert again.returncode == 1 and "exists" in again.stderr

    # The copy taken during writes is consistent: its results count exactly what it holds.
    first = fresh_database()
    restored = survey_api(first, "restore", str(tmp_path / "during.bak"))
    assert restored.returncode == 0, restored.stderr
    held = stored(first, r.id)
    assert 60 <= held <= 20 * uploads and held % 20 == 0  # whole batches only
    with (
        serve(settings_for(first)) as copy,
        httpx.Client(
            base_url=copy.base_url, headers={"Authorization": f"Bearer {org.keys['analyst']}"}
        ) as client,
    ):
        areas = ok(client.get(f"/api/v1/rounds/{r.id}/results"))["areas"]
        assert sum(a["responses"]["responses"] for a in areas) == held

    # The copy taken at rest gives identical results.
    second = fresh_database()
    restored = survey_api(second, "restore", str(at_rest_path))
    assert restored.returncode == 0, restored.stderr
    expected = results_without_as_of(org.analyst, r.id)
    assert sum(a["responses"]["responses"] for a in expected["areas"]) == 20 * uploads
    with (
        serve(settings_for(second)) as copy,
        httpx.Client(
            base_url=copy.base_url, headers={"Authorization": f"Bearer {org.keys['analyst']}"}
        ) as client,
    ):
        assert results_without_as_of(client, r.id) == expected

    # Restoring over a database that is not empty is refused unless forced.
    refused = survey_api(second, "restore", str(at_rest_path))
    assert refused.returncode == 1 and "not empty" in refused.stderr
    forced = survey_api(second, "restore", "--force", str(at_rest_path))
    assert forced.returncode == 0, forced.stderr
    assert stored(second, r.id) == 20 * uploads


def test_restore_refuses_what_is_not_a_backup(
    backend: str, fresh_database: Any, tmp_path: Path
) -> None:
    url = fresh_database()
    missing = survey_api(url, "restore", str(tmp_path / "nothing.bak"))
    assert missing.returncode == 1 and "not a backup file" in missing.stderr
