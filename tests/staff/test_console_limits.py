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


def _rejected(path: str, declared: int) -> tuple[int, str]:
    """What BodySizeLimit answers a request that declares `declared` bytes, with a limit of
    1 MB for ordinary bodies and 3 MB for imports."""
    import asyncio
    import threading

    from survey_api.main import BodySizeLimit

    async def never(scope: object, receive: object, send: object) -> None:
        raise AssertionError("the app must not be reached")

    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(b"content-length", str(declared).encode()), (b"host", b"testserver")],
        "scheme": "http",
        "server": ("testserver", 80),
        "root_path": "",
        "app": None,
    }
    limiter = BodySizeLimit(never, max_bytes=1_000_000, import_bytes=3_000_000)
    # In a thread of its own: the browser tests may leave an event loop running in this one.
    runner = threading.Thread(target=lambda: asyncio.run(limiter(scope, receive, send)))  # type: ignore[arg-type]
    runner.start()
    runner.join()
    status = int(sent[0]["status"])  # type: ignore[call-overload]
    body = b"".join(m.get("body", b"") for m in sent[1:])  # type: ignore[misc]
    return status, body.decode()


def test_an_import_page_names_the_import_limit_not_the_ordinary_one() -> None:
    status, page = _rejected("/console/rounds/7/imports", 4_000_000)
    assert status == 413 and "3,0 MB" in page and "1,0 MB" not in page
    status, problem = _rejected("/api/v1/rounds/7/tallies/import", 4_000_000)
    assert status == 413 and "limit of 3000000 bytes" in problem
    # Every other body keeps the ordinary limit.
    status, problem = _rejected("/api/v1/areas", 2_000_000)
    assert status == 413 and "limit of 1000000 bytes" in problem
