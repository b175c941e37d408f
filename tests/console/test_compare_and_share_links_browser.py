"""The Results section's newer pages in Chromium under the server's CSP: the area comparison
(reached from the round's page, a target chosen in its form, the interval charts and their
tables, the page for an unknown target), and the round page's share links with the revoke
confirmation; styled, nothing wider than the window, no console errors and no axe violation in
Swedish and English at 360 and 1280 px."""

import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import LiveServer
from tests.console.test_console_browser import log_in
from tests.helpers import ok
from tests.staff.test_console_results import make_compare_world, make_results_world
from tests.web.browser.checks import check_at_both_widths, watched_page

pytestmark = pytest.mark.browser

NBSP = "\u00a0"


def test_compare_page_is_styled_and_accessible(
    chromium: Any,
    axe: Any,
    console_server: LiveServer,
    server: LiveServer,
    db: sessionmaker[Session],
    artifacts: Path,
) -> None:
    world = make_compare_world(server, db)
    try:
        # Area types for the pooled groups: the big area is type 2, the others type 3.
        areas = ok(world.api.get(f"/api/v1/rounds/{world.round_id}"))["area_ids"]
        for area_id in areas:
            area_type = 2 if area_id == world.big else 3
            body = {"classifications": [{"year": 2026, "area_type": area_type}]}
            ok(world.api.patch(f"/api/v1/areas/{area_id}", json=body))
    finally:
        world.api.close()
    round_page = f"/console/results/{world.round_id}"
    compare = f"{round_page}/compare"
    with watched_page(chromium, base_url=console_server.base_url, locale="sv-SE") as page:
        log_in(page, world.org.emails["viewer"])
        page.goto(round_page)
        page.click("text=Jämför områdena sida vid sida")
        page.wait_for_url(f"**{compare}")
        assert page.locator("h1").inner_text().startswith("Jämför områden")
        page.select_option("#target", "index:trygghetsindex")
        page.click("form.compare-form button")
        page.wait_for_url("**target=index*trygghetsindex")
        assert page.locator("#compare-title").inner_text().startswith("Trygghetsindex")
        rows = page.locator("table.figures").first.locator("tbody tr").all()
        assert len(rows) == 3
        assert rows[-1].locator("td").inner_text() == "färre än 10"
        values = [float(r.locator("td .value").inner_text().replace(",", ".")) for r in rows[:2]]
        assert values == sorted(values, reverse=True)
        assert "Alla områden (jämförelse)" in page.locator("tfoot").inner_text()
        align = page.eval_on_selector(
            "table.figures td.num", "td => getComputedStyle(td).textAlign"
        )
        assert align in ("end", "right")
        charts = page.locator("svg.intervals")
        assert charts.count() == 2  # the areas, then the area-type groups
        first = charts.first
        assert first.locator("circle").count() == 2  # the suppressed area has no mark
        assert "färre än 10" in (first.text_content() or "")
        assert "Alla områden" in (first.get_attribute("aria-label") or "")
        assert "Områdestyp 2" in page.locator("#compare-pooled-title").locator("..").inner_text()
        page.screenshot(path=str(artifacts / "console-compare-360.png"), full_page=True)
        page.set_viewport_size({"width": 1280, "height": 800})
        page.screenshot(path=str(artifacts / "console-compare-1280.png"), full_page=True)
        for lang in ("sv", "en"):
            for query, name in (
                ("target=indicator:andel_otrygga_kvall", "compare, an indicator"),
                ("target=item:trivsel", "compare, a question"),
                ("target=index:trygghetsindex", "compare, an index"),
            ):
                response = page.goto(f"{compare}?{query}&lang={lang}")
                assert response is not None and response.status == 200
                assert "script-src" not in response.headers["content-security-policy"]
                assert page.locator("html").get_attribute("lang") == lang
                if query.startswith("target=indicator"):
                    assert re.search(r"\d", page.locator("tbody td.num").first.inner_text())
                    text = page.locator("table.figures").first.inner_text()
                    assert (f"{NBSP}%" in text) == (lang == "sv")
                check_at_both_widths(page, axe, f"{name} ({lang})")
            response = page.goto(f"{compare}?target=indicator:nope&lang={lang}")
            assert response is not None and response.status == 400
            assert page.locator(".error-summary").count() == 1
            assert page.locator("svg.intervals").count() == 0
            check_at_both_widths(page, axe, f"compare, unknown target ({lang})")


def test_share_links_and_the_revoke_confirmation_are_styled_and_accessible(
    chromium: Any,
    axe: Any,
    console_server: LiveServer,
    server: LiveServer,
    db: sessionmaker[Session],
) -> None:
    world = make_results_world(server, db)
    try:
        ok(world.api.post(f"/api/v1/rounds/{world.round_id}/share-links", json={}), 201)
    finally:
        world.api.close()
    round_page = f"/console/results/{world.round_id}"
    with watched_page(chromium, base_url=console_server.base_url, locale="sv-SE") as page:
        log_in(page, world.org.emails["analyst"])
        page.goto(round_page)
        # A link for the big area, in English, made through the form.
        page.select_option("#share-area_id", str(world.big))
        page.select_option("#share-language", "en")
        page.fill("#share-days", "7")
        page.click("text=Skapa en delningslänk")
        assert "/reports/" in page.locator("main code").inner_text()
        check_at_both_widths(page, axe, "share link created (sv)")
        page.goto(f"{round_page}#share-links-title")
        links = page.locator("#share-links-title").locator("..")
        assert links.locator("tbody tr").count() == 2
        assert "/reports/" not in links.inner_text()
        assert links.inner_text().count("Aktiv") == 2
        check_at_both_widths(page, axe, "round page with share links (sv)")
        page.goto(f"{round_page}?lang=en")
        check_at_both_widths(page, axe, "round page with share links (en)")
        page.goto(round_page)
        revoke = links.locator("tbody tr", has_text="Area0").locator("a", has_text="Återkalla")
        revoke.click()
        page.wait_for_url("**/revoke")
        assert page.locator("h1").inner_text() == "Återkalla delningslänken?"
        confirm = page.url
        response = page.goto(f"{confirm}?lang=en")
        assert response is not None and response.status == 200
        assert "script-src" not in response.headers["content-security-policy"]
        check_at_both_widths(page, axe, "revoke confirmation (en)")
        page.goto(confirm)
        check_at_both_widths(page, axe, "revoke confirmation (sv)")
        page.click("button.danger")
        page.wait_for_url("**revoked=*")
        assert "Delningslänken är återkallad" in page.locator(".notice").inner_text()
        links = page.locator("#share-links-title").locator("..")
        assert "Återkallad" in links.inner_text() and links.inner_text().count("Aktiv") == 1
        check_at_both_widths(page, axe, "round page after revoking (sv)")
        # Revoked: its confirmation page says so and offers no button.
        page.goto(confirm)
        assert "Länken är redan återkallad" in page.locator("main").inner_text()
        assert page.locator("button.danger").count() == 0
        check_at_both_widths(page, axe, "revoke confirmation, already revoked (sv)")
