"""Helpers for the whole-cycle console test: a console server on a fresh database with the demo
loaded (as `python3 dev.py serve` would have it), a staff analyst beside the demo's admin, the
tenant form answered in a browser of its own, and the README's screenshots on request.

Not a conftest: tests/console/test_whole_cycle.py is the one module that serves the demo, so the
server starts once, and only when that test runs.
"""

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from survey_api import migrate
from survey_api.db import make_engine, make_sessionmaker
from survey_api.demo import DEMO_STAFF_EMAIL, load_demo
from survey_api.organisations import service as organisations_service
from survey_api.staff import service as staff_service
from tests.conftest import LiveServer
from tests.staff.conftest import PASSWORD, serve_console
from tests.web.browser.checks import DESKTOP, WATCH_CSP

SCREENSHOTS_ENV = "SURVEY_API_SCREENSHOTS"
REPO = Path(__file__).resolve().parents[2]
_DEMO_PASSWORD = re.compile(r"e-mail (\S+), password (\S+) \(shown once")
_DEMO_KEY = re.compile(r"Admin API key \(shown once; store it\): (sak_\S+)")


@dataclass
class DemoConsole:
    """The console on the demo's database, and who can sign in to it."""

    server: LiveServer
    sessions: sessionmaker[Session]
    admin_email: str
    admin_password: str
    admin_key: str
    analyst_email: str
    analyst_password: str

    @property
    def base_url(self) -> str:
        return self.server.base_url


@contextmanager
def demo_console(directory: Path) -> Iterator[DemoConsole]:
    """A migrated SQLite file with the demo, served like the other console tests' server.

    The admin's password and key are read from what the demo prints, as the README's quick
    start tells a newcomer to do; the analyst is created the way `survey-api users create` does.
    """
    url = f"sqlite:///{directory / 'demo.sqlite'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    try:
        with sessions() as session:
            report = load_demo(session, base_url="http://127.0.0.1:8000")
            session.commit()
        found = _DEMO_PASSWORD.search(report)
        key = _DEMO_KEY.search(report)
        assert found and key, report
        assert found.group(1) == DEMO_STAFF_EMAIL
        analyst_email = "analytiker@demo.example"
        with sessions() as session:
            organisation = organisations_service.get_by_slug(session, "demo")
            _user, token = staff_service.create_user(
                session, organisation, analyst_email, "analyst"
            )
            staff_service.use_password_token(session, token, PASSWORD)
            session.commit()
        with serve_console(url) as live:
            yield DemoConsole(
                server=live,
                sessions=sessions,
                admin_email=found.group(1),
                admin_password=found.group(2),
                admin_key=key.group(1),
                analyst_email=analyst_email,
                analyst_password=PASSWORD,
            )
    finally:
        engine.dispose()


def csp_violations(page: Any) -> list[str]:
    """The CSP violations the current document reported (WATCH_CSP collects them)."""
    found: list[str] = page.evaluate("() => window.__cspViolations || []")
    return found


def assert_clean(page: Any, where: str) -> None:
    """No CSP violation on the page just shown (console errors fail the test at its end)."""
    violations = csp_violations(page)
    assert not violations, f"{where}: CSP violations {violations}"


@contextmanager
def tenant_page(chromium: Any, base_url: str, errors: list[str]) -> Iterator[Any]:
    """A tenant's phone in a browser context of its own (no staff cookie, no earlier answer)."""
    context = chromium.new_context(
        base_url=base_url, viewport={"width": 360, "height": 640}, locale="sv-SE"
    )
    context.add_init_script(WATCH_CSP)
    page = context.new_page()
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        yield page
        assert_clean(page, f"tenant page {page.url}")
    finally:
        context.close()


def screenshot(page: Any, name: str, *, height: int | None = None) -> None:
    """With SURVEY_API_SCREENSHOTS=docs, the page at 1280 px into docs/console-<name>.png
    (the whole page, or its top `height` px)."""
    target = os.environ.get(SCREENSHOTS_ENV)
    if not target:
        return
    folder = REPO / target
    folder.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size
    page.set_viewport_size(DESKTOP)
    clip = None if height is None else {"x": 0, "y": 0, "width": DESKTOP["width"], "height": height}
    page.screenshot(path=str(folder / f"console-{name}.png"), full_page=True, clip=clip)
    page.set_viewport_size(size)


def areas_csv(count: int, *, year: int) -> str:
    """`count` areas in the API's CSV format (the import's columns), with Swedish names."""
    lines = [
        "code,name,municipality_code,deso_code,deso_version,households,year,area_type,"
        "police_classification"
    ]
    for n in range(1, count + 1):
        lines.append(
            f"norra-{n:02d},Norra kvarteret {n},0180,0180C{3000 + n:04d},2025,"
            f"{400 + 25 * n},{year},{1 + n % 3},none"
        )
    return "\n".join(lines) + "\n"


def answer_the_form(page: Any, answers: dict[str, int]) -> int:
    """From the tenant form's start page, answer what the tenant wants to answer, step by step,
    with the buttons a person presses ("Börja", "Nästa", "Skicka mina svar"); returns the number
    of steps. Only radio answers: the tenants of this test skip the free text."""
    page.get_by_role("button", name="Börja").click()
    page.wait_for_load_state()
    steps = 0
    while True:
        steps += 1
        assert steps < 30, "the form does not end"
        for name, value in answers.items():
            choice = page.locator(f"#f-{name}-{value}")
            if choice.count():
                choice.check()
        send = page.get_by_role("button", name="Skicka mina svar")
        last = send.count() == 1
        (send if last else page.get_by_role("button", name="Nästa")).click()
        page.wait_for_load_state()
        if last:
            return steps
