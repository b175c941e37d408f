"""The interactive API docs work offline: Swagger UI comes from the server, never a CDN."""

from typing import Any

import pytest

from tests.conftest import LiveServer

pytestmark = pytest.mark.browser


def test_swagger_ui_renders_with_no_request_leaving_the_server(
    chromium: Any, server: LiveServer
) -> None:
    context = chromium.new_context(base_url=server.base_url)
    page = context.new_page()
    elsewhere: list[str] = []
    errors: list[str] = []

    def only_the_server(route: Any) -> None:
        if route.request.url.startswith(server.base_url):
            route.continue_()
        else:  # as behind a strict proxy, or offline
            elsewhere.append(route.request.url)
            route.abort()

    page.route("**/*", only_the_server)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    try:
        page.goto("/docs")
        title = page.wait_for_selector(".swagger-ui .info .title", timeout=20_000)
        assert "survey_api" in title.inner_text()
        page.wait_for_selector(".opblock-tag-section", timeout=20_000)  # the operations listed
        assert page.locator(".opblock").count() > 30
    finally:
        context.close()
    assert elsewhere == [], elsewhere
    assert errors == [], errors
