"""The console's classifications import in Chromium under the server's CSP: the upload form,
the dry-run report (changes old → new, a resolved conflict, a row problem, rows for other
areas) and the result, styled, no console errors, and no axe violation at 360 and 1280 px,
in Swedish and English."""

from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import LiveServer
from tests.console.test_console_browser import log_in
from tests.helpers import create_area, ok
from tests.staff.conftest import make_staff_org
from tests.staff.test_console_rounds import api_client
from tests.web.browser.checks import check_at_both_widths, watched_page

pytestmark = pytest.mark.browser

HEADER = "code_kind,code,code_version,year,area_type,police_class\n"
GOOD = (
    HEADER
    + "deso,1480C1010,2018,2024,1,särskilt utsatt område\n"
    + "regso,1480R001,2018,2024,2,\n"
    + "area_code,lunden,,2024,4,none\n"
    + "".join(f"deso,0180C{n:04d},2018,2024,3,\n" for n in range(25))
)
BAD = HEADER + "deso,1480C1010,,2024,9,\narea_code,lunden,,20x4,4,\n"


def test_the_dry_run_report_and_the_result_are_styled_and_accessible(
    chromium: Any,
    axe: Any,
    console_server: LiveServer,
    server: LiveServer,
    db: sessionmaker[Session],
) -> None:
    org = make_staff_org(db)
    api = api_client(server, db, org.id)
    try:
        hjallbo = create_area(
            api,
            "hjallbo",
            deso_code="1480C1010",
            deso_version="2018",
            regso_code="1480R001",
            regso_version="2018",
            classifications=[{"year": 2024, "area_type": 2}],
        )
        create_area(api, "lunden")
        with watched_page(chromium, base_url=console_server.base_url, locale="sv-SE") as page:
            log_in(page, org.emails["analyst"])
            for lang in ("sv", "en"):
                page.goto(f"/console/areas/classifications/import?lang={lang}")
                assert page.locator("html").get_attribute("lang") == lang
                check_at_both_widths(page, axe, f"classifications upload ({lang})")
                page.set_input_files(
                    "input[type=file]",
                    files=[{"name": "fel.csv", "mimeType": "text/csv", "buffer": BAD.encode()}],
                )
                page.click("form.wizard button[type=submit]")
                page.wait_for_load_state()
                assert page.locator(".error-summary").count() == 1
                assert (
                    page.locator(
                        "button >> text=" + ("Importera" if lang == "sv" else "Import")
                    ).count()
                    == 0
                )
                check_at_both_widths(page, axe, f"classifications report with problems ({lang})")

            page.goto("/console/areas")
            page.click("text=Importera klassningar")
            page.wait_for_url("**/console/areas/classifications/import")
            page.set_input_files(
                "input[type=file]",
                files=[{"name": "klassning.csv", "mimeType": "text/csv", "buffer": GOOD.encode()}],
            )
            page.click("button >> text=Förhandsgranska")
            page.wait_for_load_state()
            assert page.locator("h1").inner_text() == "Förhandsgranskning av klassningarna"
            changes = page.locator("#changes-caption").locator("xpath=..").inner_text()
            assert "2 – socioekonomiska utmaningar → 1 – stora socioekonomiska utmaningar" in (
                changes
            )
            assert "den mest precisa koden gäller" in page.locator("main").inner_text()
            assert "(de första 20 av 25)" in page.locator("main").inner_text()
            assert (
                ok(api.get(f"/api/v1/areas/{hjallbo['id']}"))["classifications"][0]["area_type"]
                == 2
            )
            check_at_both_widths(page, axe, "classifications report (sv)")
            page.click("button >> text=Importera")
            page.wait_for_load_state()
            assert page.locator("h1").inner_text() == "Klassningarna är importerade"
            stored = ok(api.get(f"/api/v1/areas/{hjallbo['id']}"))["classifications"]
            assert stored == [
                {"year": 2024, "area_type": 1, "police_classification": "sarskilt_utsatt"}
            ]
            check_at_both_widths(page, axe, "classifications imported (sv)")
    finally:
        api.close()
