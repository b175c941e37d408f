"""Contract tests: the committed openapi/openapi.json against the live server.

They need the contract tools of the dev extras (openapi-python-client, schemathesis). Without
them a test skips locally with how to install them, and fails under CI=true: the contract leg
must run in CI.
"""

import importlib.util

import pytest

from tests.api.conftest import no_server_errors  # noqa: F401  (fail on any logged server error)
from tests.conftest import in_ci

INSTALL_HINT = (
    "install the dev extras: `python3 dev.py test` does, or `.venv/bin/pip install -e '.[dev]'`"
)


def require_tool(module: str, what: str) -> None:
    """Skip (locally) or fail (in CI) when a contract tool is not installed."""
    if importlib.util.find_spec(module) is not None:
        return
    message = f"{what} is not installed: {INSTALL_HINT}"
    if in_ci():
        pytest.fail(f"CI must run the contract tests: {message}", pytrace=False)
    pytest.skip(message)
