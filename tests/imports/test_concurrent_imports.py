"""The same file sent twice at the same moment is stored once, for each kind of import: the
second request waits for the first (a lock on the round, or on the organisation for area
classifications) and answers its report with `replayed`; nothing is stored twice.

PostgreSQL only: there two transactions really run at once. SQLite has one writer, so the
race these tests look for cannot happen there."""

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from survey_api.models import AreaClassification, DataImport, Response
from survey_api.results import tally_store
from tests.api.support import at_once
from tests.conftest import LiveServer, Org
from tests.helpers import create_area
from tests.imports.response_files import historical_round, limesurvey_csv, respondents

pytestmark = pytest.mark.postgres


@pytest.fixture(autouse=True)
def _postgresql_only(backend: str) -> None:
    if backend != "postgresql":
        pytest.skip("SQLite has one writer: two imports cannot run at the same moment there")


def _twice_at_once(
    server: LiveServer, org: Org, path: str, files: dict[str, Any], data: dict[str, str]
) -> list[httpx.Response]:
    headers = {"Authorization": f"Bearer {org.keys['analyst']}"}

    def post() -> httpx.Response:
        return httpx.post(
            f"{server.base_url}/api/v1{path}", files=files, data=data, headers=headers, timeout=120
        )

    return at_once(2, post)


def _one_stored_one_replayed(answers: list[httpx.Response]) -> dict[str, Any]:
    """The first import (201) and its replay (200, same import id); the first's report."""
    assert sorted(a.status_code for a in answers) == [200, 201], [a.text for a in answers]
    first, again = sorted((a.json() for a in answers), key=lambda r: r["replayed"])
    assert first["replayed"] is False and again["replayed"] is True
    assert again["import_id"] == first["import_id"] is not None
    assert again["rows_stored"] == first["rows_stored"]
    return first


def _count(db: sessionmaker[Session], query: Callable[[Any], Any]) -> int:
    with db() as session:
        return session.scalar(query(select(func.count()))) or 0


def test_the_same_responses_file_twice_at_once_is_stored_once(
    server: LiveServer, org: Org, db: sessionmaker[Session]
) -> None:
    round_id = historical_round(org, "2023", ["norr", "syd"])["id"]
    content = limesurvey_csv(respondents(11, ["norr", "syd"], 150), languages=["sv"])
    answers = _twice_at_once(
        server,
        org,
        f"/rounds/{round_id}/imports",
        {"file": ("export.csv", content, "text/csv")},
        {"mapping": '{"preset": "limesurvey_standard"}'},
    )
    first = _one_stored_one_replayed(answers)
    assert first["rows_stored"] == 300
    assert _count(db, lambda q: q.select_from(Response).filter_by(survey_round_id=round_id)) == 300
    assert _count(db, lambda q: q.select_from(DataImport).filter_by(survey_round_id=round_id)) == 1


def test_the_same_answer_counts_twice_at_once_are_stored_once(
    server: LiveServer, org: Org, db: sessionmaker[Session]
) -> None:
    round_id = historical_round(org, "2022", ["norr"])["id"]
    content = (
        b"area,item,option,count\n"
        b"norr,*,,40\n"
        b"norr,trivsel,1,4\n"
        b"norr,trivsel,2,6\n"
        b"norr,trivsel,3,14\n"
        b"norr,trivsel,4,12\n"
        b"norr,trivsel,9,3\n"
    )
    answers = _twice_at_once(
        server,
        org,
        f"/rounds/{round_id}/tallies/import",
        {"file": ("report.csv", content, "text/csv")},
        {},
    )
    first = _one_stored_one_replayed(answers)
    assert first["rows_stored"] == 6
    assert _count(db, lambda q: q.select_from(DataImport).filter_by(survey_round_id=round_id)) == 1
    # The counts once, not twice: 39 answers to trivsel and 40 respondents.
    with db() as session:
        rows = tally_store.stored_rows(session, round_id)
    sums = {
        measure: sum(r["count"] for r in rows if r["measure"] == measure)
        for measure in ("option", "respondents")
    }
    assert sums == {"option": 4 + 6 + 14 + 12 + 3, "respondents": 40}


def test_the_same_classifications_file_twice_at_once_is_stored_once(
    server: LiveServer, org: Org, db: sessionmaker[Session]
) -> None:
    codes = [f"omr{i:03d}" for i in range(60)]
    ids = [create_area(org.analyst, code)["id"] for code in codes]
    content = (
        "code_kind,code,code_version,year,area_type,police_class\n"
        + "".join(f"area_code,{code},,2024,{i % 5 + 1},utsatt\n" for i, code in enumerate(codes))
    ).encode()
    answers = _twice_at_once(
        server,
        org,
        "/areas/classifications/import",
        {"file": ("klassning.csv", content, "text/csv")},
        {},
    )
    first = _one_stored_one_replayed(answers)
    assert first["rows_stored"] == 60
    stored = _count(
        db,
        lambda q: q.select_from(AreaClassification).where(AreaClassification.area_id.in_(ids)),
    )
    assert stored == 60
    imports = _count(db, lambda q: q.select_from(DataImport).filter_by(organisation_id=org.id))
    assert imports == 1
