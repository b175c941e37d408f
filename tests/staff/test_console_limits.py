"""A console upload over the body limit gets a console page in the reader's language (the API
keeps answering problem+json), and nothing is stored (both databases)."""

from collections.abc import Callable

import httpx
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from survey_api.models import Area
from tests.conftest import TEST_MAX_BODY
from tests.staff.conftest import Browser, StaffOrg, csrf_of


def test_an_upload_over_the_limit_gets_a_page_and_stores_nothing(
    browser: Callable[[], Browser], staff_org: StaffOrg, db: sessionmaker[Session]
) -> None:
    analyst = browser()
    assert analyst.log_in(staff_org.emails["analyst"]).status_code == 303
    token = csrf_of(analyst.get("/console/areas/import").text)
    rows = "".join(f"a{i},Område {i},1480\n" for i in range(40_000))
    big = ("code,name,municipality_code\n" + rows).encode()
    assert len(big) > TEST_MAX_BODY
    for lang, heading in (("", "Filen är för stor"), ("en", "The file is too large")):
        answer = analyst.post(
            "/console/areas/import" + (f"?lang={lang}" if lang else ""),
            data={"csrf_token": token},
            files={"file": ("omraden.csv", big, "text/csv")},
        )
        assert answer.status_code == 413
        assert answer.headers["content-type"].startswith("text/html")
        assert "Content-Security-Policy" in answer.headers
        assert f"<h1>{heading}</h1>" in answer.text
        assert "1,0 MB" in answer.text if not lang else "1.0 MB" in answer.text
    with db() as session:
        stored = session.scalar(
            select(func.count()).select_from(Area).where(Area.organisation_id == staff_org.id)
        )
    assert stored == 0


def test_the_api_still_answers_problem_json(browser: Callable[[], Browser]) -> None:
    client: httpx.Client = browser()
    answer = client.post(
        "/api/v1/areas/import",
        content=b"x" * (TEST_MAX_BODY + 1),
        headers={"Content-Type": "text/csv"},
    )
    assert answer.status_code == 413
    assert answer.headers["content-type"].startswith("application/problem+json")
