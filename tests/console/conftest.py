"""Console pages in Chromium, with the server's own CSP: the tenant-form browser tests' fixtures
(one headless Chromium, axe-core) and their rule that only the SQLite leg runs, since rendering
and accessibility do not depend on the database (tests/staff covers both over HTTP)."""

from pathlib import Path

import pytest

from tests.staff.conftest import console_server
from tests.web.browser.conftest import artifacts, axe, chromium

__all__ = ["artifacts", "axe", "chromium", "console_server"]


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
