"""The tenant pages for "too many answers" (429) and "the database is unavailable" (503), as a
person sees them: styled under the server's own CSP, no console errors, axe clean, sv and ar."""

from typing import Any

import pytest

from tests.conftest import free_port, serve, settings_for
from tests.web.browser.checks import check_at_both_widths, watched_page

pytestmark = pytest.mark.browser

LOCALES = {"sv": "sv-SE", "ar": "ar-SE"}


@pytest.mark.parametrize("language", ["sv", "ar"])
def test_too_many_and_unavailable_pages(
    chromium: Any, axe: Any, database_url: str, language: str
) -> None:
    strict = settings_for(database_url, form_code_attempt_limit="1/minute")
    with (
        serve(strict) as live,
        watched_page(chromium, base_url=live.base_url, locale=LOCALES[language]) as page,
    ):
        assert page.goto("/i/ACDEFHJKMNPQ").status == 404
        refused = page.goto("/i/ACDEFHJKMNPQ")
        assert refused.status == 429 and refused.headers["retry-after"]
        assert page.locator("html").get_attribute("dir") == ("rtl" if language == "ar" else "ltr")
        check_at_both_widths(page, axe, f"too-many-{language}")

    down = settings_for(f"postgresql://postgres@127.0.0.1:{free_port()}/x", db_wait_seconds=2)
    with (
        serve(down) as live,
        watched_page(chromium, base_url=live.base_url, locale=LOCALES[language]) as page,
    ):
        unavailable = page.goto("/i/ACDEFHJKMNPQ")
        assert unavailable.status == 503 and unavailable.headers["retry-after"]
        check_at_both_widths(page, axe, f"unavailable-{language}")
