"""The console's history flows in Chromium under the server's CSP: the historical wizard, the
import form, the dry-run report of a broken file (problems by row) and of a good one, the
import, and the round page of a historical round with its import listed, styled, no console
errors, no table wider than the window, and no axe violation at 360 and 1280 px."""

from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.api.support import today
from tests.conftest import LiveServer
from tests.console.test_console_browser import log_in
from tests.helpers import create_area, ok, publish_standard
from tests.staff.conftest import make_staff_org
from tests.staff.test_console_rounds import api_client
from tests.web.browser.checks import check_at_both_widths, watched_page

pytestmark = pytest.mark.browser

LAST_YEAR = today().year - 1
GOOD = "area,trygg_ute_kvall,trivsel\n" + "".join(
    f"{area},{1 + n % 4},{1 + n % 3}\n" for n in range(30) for area in ("hjallbo", "lunden")
)
BAD = (
    "area,trygg_ute_kvall,trivsel\n"
    "hjallbo,1,4\n"
    "hjallbo,7,3\n"
    "okänt-område-med-ett-mycket-långt-namn-som-inte-får-spränga-tabellen,1,1\n"
)


def upload(page: Any, name: str, text: str) -> None:
    page.set_input_files(
        "#file", files=[{"name": name, "mimeType": "text/csv", "buffer": text.encode()}]
    )


def test_the_history_flows_are_styled_and_accessible(
    chromium: Any,
    axe: Any,
    console_server: LiveServer,
    server: LiveServer,
    db: sessionmaker[Session],
) -> None:
    org = make_staff_org(db)
    api = api_client(server, db, org.id)
    try:
        publish_standard(api)
        for code, name in (("hjallbo", "Hjällbo"), ("lunden", "Lunden")):
            create_area(api, code, households=400, name=name)
        with watched_page(chromium, base_url=console_server.base_url, locale="sv-SE") as page:
            log_in(page, org.emails["admin"])
            page.goto("/console/rounds")
            page.click("text=Skapa en historisk mätomgång (import)")
            page.wait_for_url("**/console/rounds/new?kind=historical")
            assert page.locator("h1").inner_text() == "Skapa en historisk mätomgång"
            check_at_both_widths(page, axe, "historical wizard (sv)")
            page.fill("#name", f"Trygghetsmätning {LAST_YEAR}")
            page.check("text=Hjällbo")
            page.check("text=Lunden")
            page.click("form.wizard button[type=submit]")
            page.wait_for_load_state()
            assert "/console/rounds/" in page.url and "done=created" in page.url
            round_path = page.url.split("?")[0].removeprefix(console_server.base_url)
            facts = page.locator(".facts-list").inner_text()
            assert "historisk" in facts and "importerade svar" in facts
            check_at_both_widths(page, axe, "historical round, nothing imported (sv)")

            page.click("text=Importera svar från en fil (CSV eller Excel)")
            page.wait_for_url(f"**{round_path}/imports")
            page.check("#mapping-item_columns")
            check_at_both_widths(page, axe, "import form (sv)")
            upload(page, "fel.csv", BAD)
            page.click("button >> text=Kontrollera filen")
            page.wait_for_load_state()
            assert "2 problem i filen" in page.locator(".error-summary").inner_text()
            problems = page.locator("#problems-caption >> xpath=..").inner_text()
            assert "trygg_ute_kvall" in problems and "okänt-område" in problems
            assert page.locator("button >> text=Importera").count() == 0
            # The long value wraps or scrolls inside its region, never the whole page.
            check_at_both_widths(page, axe, "dry-run report with problems (sv)")

            page.goto(f"{round_path}/imports")
            page.check("#mapping-item_columns")
            upload(page, "svar.csv", GOOD)
            page.click("button >> text=Kontrollera filen")
            page.wait_for_load_state()
            assert page.locator("h1").inner_text() == "Rapport från provkörningen"
            assert "hjallbo" in page.locator("#areas-caption >> xpath=..").inner_text()
            # Nothing stored by the dry run: no responses, a small cell (null, suppressed).
            stored = ok(api.get(f"/api/v1{round_path.removeprefix('/console')}"))
            assert (stored["response_count"], stored["response_count_suppressed"]) == (None, True)
            check_at_both_widths(page, axe, "dry-run report (sv)")
            # The report's numbers line up at the end of their cells (the stylesheet's .num).
            align = page.evaluate(
                "getComputedStyle(document.querySelector('#areas-caption')"
                ".closest('table').querySelector('td.num')).textAlign"
            )
            assert align == "end"
            page.click("button >> text=Importera")
            page.wait_for_load_state()
            assert page.locator("h1").inner_text() == "Svaren är importerade"
            assert (
                ok(api.get(f"/api/v1{round_path.removeprefix('/console')}"))["response_count"] == 60
            )
            check_at_both_widths(page, axe, "import done (sv)")

            page.goto(round_path)
            assert "svar.csv" in page.locator("#imports-caption >> xpath=..").inner_text()
            check_at_both_widths(page, axe, "historical round with an import (sv)")
            page.click("td a >> text=Ta tillbaka")
            page.wait_for_load_state()
            check_at_both_widths(page, axe, "take back confirmation (sv)")
            for path, name in (
                (round_path, "historical round"),
                (f"{round_path}/imports", "import form"),
                (f"{round_path}/tallies/import", "answer counts form"),
                ("/console/rounds", "rounds list"),
            ):
                response = page.goto(f"{path}?lang=en")
                assert response is not None and response.status == 200, path
                assert "script-src" not in response.headers["content-security-policy"]
                assert page.locator("html").get_attribute("lang") == "en"
                check_at_both_widths(page, axe, f"{name} (en)")
    finally:
        api.close()
