"""The console's Interventions section in Chromium under the server's CSP: the list, the register
form (sent empty for its error summary, then filled in), the intervention's page and its
evaluation against rounds before and after the start, styled, no table wider than the window,
and no axe violation in Swedish and English at 360 and 1280 px; and an evaluation over rounds
brought in from history (their source note, an unavailable cell with the dashed mark)."""

import re
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import LiveServer
from tests.console.test_console_browser import log_in
from tests.helpers import ok
from tests.staff.test_console_evaluation_history import (
    ANSWERED_SV,
    SOURCE_IMPORTED_SV,
    make_history_world,
)
from tests.staff.test_console_interventions import make_world
from tests.web.browser.checks import check_at_both_widths, watched_page

pytestmark = pytest.mark.browser


def test_interventions_list_form_and_evaluation_are_styled_and_accessible(
    chromium: Any,
    axe: Any,
    console_server: LiveServer,
    server: LiveServer,
    db: sessionmaker[Session],
) -> None:
    # Three areas of one type with closed rounds in 2023, 2024 and 2026 (before and after).
    world = make_world(server, db)
    try:
        ok(
            world.api.post(
                "/api/v1/interventions",
                json={
                    "name": "Belysning i Kortedala",
                    "category": "belysning",
                    "area_ids": [world.area_ids["Kortedala"]],
                    "start_date": "2025-09-01",
                    "cost_sek": 450_000,
                },
            ),
            201,
        )
        with watched_page(chromium, base_url=console_server.base_url, locale="sv-SE") as page:
            log_in(page, world.org.emails["analyst"])
            page.click("nav >> text=Insatser")
            page.wait_for_url("**/console/interventions")
            assert page.locator("h1").inner_text() == "Insatser"
            assert "450\u00a0000\u00a0kr" in page.locator("table").inner_text()
            check_at_both_widths(page, axe, "interventions list (sv)")

            page.click("text=Registrera en insats")
            page.wait_for_url("**/console/interventions/new")
            check_at_both_widths(page, axe, "register form (sv)")
            # Sent empty: the errors, beside the fields and summed up.
            page.click("form.wizard button[type=submit]")
            page.wait_for_load_state()
            summary = page.locator(".error-summary")
            assert "Det finns ett problem" in summary.inner_text()
            for name in ("name", "category", "area_ids", "start_date"):
                assert page.locator(f"#{name}-error").count() == 1, name
            assert "Välj minst ett område" in page.locator("#area_ids-error").inner_text()
            check_at_both_widths(page, axe, "register form with errors (sv)")

            # Filled in: an intervention in Hjällbo that starts between the 2024 and 2026 rounds.
            page.fill("#name", "Trygghetsvärdar i Hjällbo")
            page.fill("#category", "trygghetsvardar")
            page.check(f"#area-{world.area_ids['Hjällbo']}")
            page.fill("#start_date", "2025-06-01")
            page.fill("#cost_sek", "1 800 000")
            page.click("form.wizard button[type=submit]")
            page.wait_for_url(re.compile(r".*/console/interventions/\d+\?done=created"))
            found = re.search(r"/console/interventions/(\d+)", page.url)
            assert found
            intervention = f"/console/interventions/{found.group(1)}"
            stored = ok(world.api.get(f"/api/v1/{intervention.removeprefix('/console/')}"))
            assert stored["cost_sek"] == 1_800_000
            assert stored["area_ids"] == [world.area_ids["Hjällbo"]]
            assert "Insatsen är registrerad" in page.locator(".notice").inner_text()
            check_at_both_widths(page, axe, "intervention page (sv)")

            page.click("a.button >> text=Utvärdering")
            page.wait_for_url(f"**{intervention}/evaluation")
            assert page.locator("table.cells").count() == 1
            assert "procentenheter" in page.locator("p.did").inner_text()
            assert "2024" in page.locator("table.cells").inner_text()
            assert "2026" in page.locator("table.cells").inner_text()
            page.select_option("#before", "2023")
            page.click("text=Visa utvärderingen")
            page.wait_for_url("**before=2023**")
            assert "2023" in page.locator("table.cells thead").inner_text()
            check_at_both_widths(page, axe, "evaluation with chosen periods (sv)")

            for lang in ("sv", "en"):
                for path, name in (
                    ("/console/interventions", "interventions list"),
                    ("/console/interventions/new", "register form"),
                    (intervention, "intervention page"),
                    (f"{intervention}/evaluation", "evaluation"),
                ):
                    response = page.goto(f"{path}?lang={lang}")
                    assert response is not None and response.status == 200
                    assert "script-src" not in response.headers["content-security-policy"]
                    assert page.locator("html").get_attribute("lang") == lang
                    check_at_both_widths(page, axe, f"{name} ({lang})")
                # The register form's error summary in this language.
                page.goto(f"/console/interventions/new?lang={lang}")
                page.click("form.wizard button[type=submit]")
                page.wait_for_load_state()
                assert page.locator(".error-summary").count() == 1
                assert page.locator("html").get_attribute("lang") == lang
                check_at_both_widths(page, axe, f"register form with errors ({lang})")
            # The evaluation table stays inside the window on a phone.
            page.goto(f"{intervention}/evaluation")
            box = page.locator("table.cells").bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= 360, box
    finally:
        world.api.close()


def test_an_evaluation_over_historical_rounds_is_styled_and_accessible(
    chromium: Any,
    axe: Any,
    console_server: LiveServer,
    server: LiveServer,
    db: sessionmaker[Session],
) -> None:
    # 2021 and 2022 as answer counts, 2023 as imported answers; an unavailable comparison cell.
    world = make_history_world(server, db)
    world.api.close()
    evaluation = f"/console/interventions/{world.intervention_id}/evaluation"
    with watched_page(chromium, base_url=console_server.base_url, locale="sv-SE") as page:
        log_in(page, world.org.emails["analyst"])
        response = page.goto(f"{evaluation}?measure=indicator:andel_otrygga_kvall")
        assert response is not None and response.status == 200
        assert "script-src" not in response.headers["content-security-policy"]
        assert "2022 †" in page.locator("table.cells thead").inner_text()
        assert SOURCE_IMPORTED_SV in page.locator("p.note.history").inner_text()
        check_at_both_widths(page, axe, "evaluation over historical rounds (sv)")

        for lang in ("sv", "en"):
            page.goto(f"{evaluation}?measure=indicator:andel_utsatta_12m&lang={lang}")
            unavailable = page.locator("table.cells td.unavailable")
            assert unavailable.count() == 1
            if lang == "sv":
                assert unavailable.inner_text() == ANSWERED_SV
            # The dashed mark of the results pages: an unavailable cell is not a suppressed one.
            style = unavailable.evaluate("e => getComputedStyle(e).borderInlineStartStyle")
            assert style == "dashed"
            check_at_both_widths(page, axe, f"evaluation with an unavailable cell ({lang})")
        # The table with a long reason in it stays inside the window on a phone.
        page.set_viewport_size({"width": 360, "height": 800})
        page.goto(f"{evaluation}?measure=indicator:andel_utsatta_12m")
        box = page.locator("div.scroll:has(table.cells)").bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= 360, box
