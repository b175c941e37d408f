"""The console's Areas section in Chromium under the server's CSP: the list with its search, an
area's page with classifications, the create form (sent with errors for its summary), and the
import from an uploaded CSV through its preview to the result, styled, no console errors, no
table wider than the window, and no axe violation in Swedish and English at 360 and 1280 px."""

import re
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

CSV = (
    "code,name,municipality_code,households,year,area_type,police_classification\n"
    "hjallbo,Hjällbo,1480,2300,2025,1,sarskilt_utsatt\n"
    + "".join(f"omr{n:02d},Område {n:02d},1480,{1000 + n},2025,2,\n" for n in range(20))
)


def test_areas_list_form_and_import_are_styled_and_accessible(
    chromium: Any,
    axe: Any,
    console_server: LiveServer,
    server: LiveServer,
    db: sessionmaker[Session],
) -> None:
    org = make_staff_org(db)
    api = api_client(server, db, org.id)
    try:
        area = create_area(
            api,
            "hjallbo",
            households=100,
            name="Hjällbo",
            deso_code="1480C1010",
            deso_version="2025",
            classifications=[
                {"year": 2024, "area_type": 1, "police_classification": "sarskilt_utsatt"},
                {"year": 2023, "area_type": 2, "police_classification": "utsatt"},
            ],
        )
        area_path = f"/console/areas/{area['id']}"
        with watched_page(chromium, base_url=console_server.base_url, locale="sv-SE") as page:
            log_in(page, org.emails["analyst"])
            page.click("nav >> text=Områden")
            page.wait_for_url("**/console/areas")
            assert page.locator("h1").inner_text() == "Områden"
            check_at_both_widths(page, axe, "areas list (sv)")

            page.click("text=Skapa ett område")
            page.wait_for_url("**/console/areas/new")
            page.fill("#code", "bad code!")
            page.fill("#municipality_code", "148")
            page.click("form.wizard button[type=submit]")
            page.wait_for_load_state()
            assert "Det finns ett problem" in page.locator(".error-summary").inner_text()
            for name in ("code", "name", "municipality_code"):
                assert page.locator(f"#{name}-error").count() == 1, name
            check_at_both_widths(page, axe, "create form with errors (sv)")

            page.goto(area_path)
            assert "1480C1010" in page.locator(".facts-list").inner_text()
            assert "särskilt utsatt område" in page.locator("table").inner_text()
            check_at_both_widths(page, axe, "area page (sv)")

            # The import: upload, preview (nothing stored), confirm.
            page.goto("/console/areas/import")
            page.set_input_files(
                "input[type=file]",
                files=[{"name": "omraden.csv", "mimeType": "text/csv", "buffer": CSV.encode()}],
            )
            check_at_both_widths(page, axe, "import form (sv)")
            page.click("button >> text=Förhandsgranska")
            page.wait_for_load_state()
            assert page.locator("h1").inner_text() == "Förhandsgranskning av importen"
            assert "100 → 2300" in page.locator("table").inner_text()
            assert ok(api.get("/api/v1/areas"))["total"] == 1
            check_at_both_widths(page, axe, "import preview (sv)")
            page.click("button >> text=Importera")
            page.wait_for_load_state()
            assert page.locator("h1").inner_text() == "Områdena är importerade"
            assert ok(api.get("/api/v1/areas"))["total"] == 21
            check_at_both_widths(page, axe, "import result (sv)")

            # A preview with row errors.
            page.goto("/console/areas/import")
            bad = "code,name,municipality_code\nx1,X,148\nx2,,1480\n"
            page.set_input_files(
                "input[type=file]",
                files=[{"name": "fel.csv", "mimeType": "text/csv", "buffer": bad.encode()}],
            )
            page.click("button >> text=Förhandsgranska")
            page.wait_for_load_state()
            assert "2 rader i filen har fel" in page.locator(".error-summary").inner_text()
            assert page.locator("button >> text=Importera").count() == 0
            check_at_both_widths(page, axe, "import preview with errors (sv)")

            for lang in ("sv", "en"):
                for path, name in (
                    ("/console/areas", "areas list"),
                    ("/console/areas?q=omr&page=1", "areas search"),
                    ("/console/areas/new", "create form"),
                    (area_path, "area page"),
                    (f"{area_path}/edit", "edit form"),
                    (f"{area_path}/classification?year=2024", "classification form"),
                    ("/console/areas/import", "import form"),
                ):
                    response = page.goto(f"{path}{'&' if '?' in path else '?'}lang={lang}")
                    assert response is not None and response.status == 200, path
                    assert "script-src" not in response.headers["content-security-policy"]
                    assert page.locator("html").get_attribute("lang") == lang
                    check_at_both_widths(page, axe, f"{name} ({lang})")
                page.goto(f"/console/areas/import?lang={lang}")
                label = "CSV- eller Excel-fil" if lang == "sv" else "CSV or Excel file"
                assert page.locator("label[for=file]").inner_text() == label
                page.set_input_files(
                    "input[type=file]",
                    files=[{"name": "o.csv", "mimeType": "text/csv", "buffer": CSV.encode()}],
                )
                page.click("button >> text=" + ("Förhandsgranska" if lang == "sv" else "Preview"))
                page.wait_for_load_state()
                assert page.locator("html").get_attribute("lang") == lang
                assert re.search(r"(oförändrat|unchanged)", page.locator("table").inner_text())
                check_at_both_widths(page, axe, f"import preview ({lang})")
            # The list stays inside the window on a phone.
            page.goto("/console/areas")
            page.set_viewport_size({"width": 360, "height": 800})
            box = page.locator(".scroll").first.bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= 360, box
    finally:
        api.close()
