"""Playwright driving Debian's Chromium (/usr/bin/chromium), on the SQLite leg only.

The browser checks rendering, keyboard use and accessibility, which do not depend on the
database; the PostgreSQL leg of these tests is deselected to keep the run short (the HTTP tests
in tests/web cover both databases). Missing Chromium or Playwright skips them with a how-to,
except under CI=true, where it fails: CI must run them.
"""

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest

from tests.conftest import in_ci

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
HOW_TO = (
    "browser tests need Chromium and Playwright for Python: `apt-get install -y chromium` and "
    "`pip install playwright axe-playwright-python` (no `playwright install`: the tests use "
    "/usr/bin/chromium)"
)
REPO = Path(__file__).resolve().parents[3]
ARTIFACTS = REPO / "test-artifacts" / "web"
DOCS = REPO / "docs"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    postgres = [
        item
        for item in items
        if here in Path(str(item.fspath)).parents
        and getattr(item, "callspec", None) is not None
        and item.callspec.params.get("database_url") == "postgres"
    ]
    if postgres:
        config.hook.pytest_deselected(items=postgres)
        items[:] = [item for item in items if item not in postgres]


def _unavailable(reason: str) -> NoReturn:
    if in_ci():
        pytest.fail(f"CI must run the browser tests: {reason}. {HOW_TO}")
    pytest.skip(f"{reason}. {HOW_TO}")


# Other test directories (tests/console) import this fixture into their own conftest, which
# makes it a second session fixture; Playwright's sync API cannot run twice in one thread, so
# every definition shares the one browser started first.
_SHARED: dict[str, Any] = {}


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """One headless Chromium for the whole run."""
    if "browser" in _SHARED:
        yield _SHARED["browser"]
        return
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright for Python is not installed")
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} does not exist")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        _SHARED["browser"] = browser
        try:
            yield browser
        finally:
            _SHARED.clear()
            browser.close()


@pytest.fixture(scope="session")
def axe() -> Any:
    """axe-core, from the axe-playwright-python package (never committed into the repo)."""
    try:
        from axe_playwright_python.sync_playwright import Axe
    except ImportError:
        _unavailable("axe-playwright-python is not installed")
    return Axe()


_browser_tests_passed = 0


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    global _browser_tests_passed
    if report.when == "call" and report.passed and "browser" in report.keywords:
        _browser_tests_passed += 1


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Under CI, a run that collected this directory but ran no browser test fails.

    Under pytest-xdist only the controller judges: it sees every worker's reports, while a
    worker may have been given no browser test at all."""
    if hasattr(session.config, "workerinput"):
        return
    if in_ci() and _browser_tests_passed == 0 and exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        print("\nCI: the browser tests did not run (deselected or filtered out?)")


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """test-artifacts/web: screenshots kept after the run (gitignored)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


REFRESH_DATED = "SURVEY_API_REFRESH_SCREENSHOTS"


def copy_to_docs(screenshot: Path, name: str, *, dated: bool = False) -> None:
    """Refresh the README's screenshot in docs/ when it changed (the rendering is deterministic).

    A `dated` screenshot shows today's date (the results page's "as of" and expiry), so it
    would change every day: it is written when missing, or when SURVEY_API_REFRESH_SCREENSHOTS=1.
    """
    DOCS.mkdir(exist_ok=True)
    target = DOCS / name
    if dated and target.exists() and os.environ.get(REFRESH_DATED) != "1":
        return
    if not target.exists() or target.read_bytes() != screenshot.read_bytes():
        shutil.copyfile(screenshot, target)
