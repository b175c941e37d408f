"""HTTP details integrators rely on: 405 names the allowed methods."""

from tests.api.support import problem
from tests.conftest import Org


def test_405_says_which_methods_are_allowed(org: Org) -> None:
    response = org.admin.delete("/api/v1/areas")
    body = problem(response, 405)
    assert body["title"] == "Method not allowed"
    assert set(response.headers["Allow"].replace(" ", "").split(",")) == {"GET", "HEAD", "POST"}
