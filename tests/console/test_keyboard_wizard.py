"""The round wizard by keyboard alone (issue 9): from the overview to a created round with Tab,
Shift+Tab, Space, Enter and the arrow keys, and at every stop a focus a person can see: an
outline (or a box shadow) at least 2 px wide whose colour stands out from what is behind it by
at least 3:1 (WCAG 2.2, 1.4.11 and 2.4.7), on an element that is on the screen."""

import re
from typing import Any

import pytest

from tests.conftest import LiveServer, Org
from tests.console.test_console_browser import log_in
from tests.console.test_rounds_browser import analyst_email
from tests.helpers import ok
from tests.web.browser.checks import watched_page

pytestmark = pytest.mark.browser

__all__ = ["analyst_email"]

# The focused element, its focus indicator, and the contrast of the indicator's colour with the
# first opaque background behind the element (the page's white when none is set).
FOCUS = """() => {
  const e = document.activeElement;
  const s = getComputedStyle(e);
  const rgb = v => (v.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const c = [r, g, b].map(x => { x /= 255; return x <= 0.03928 ? x / 12.92
                                                     : Math.pow((x + 0.055) / 1.055, 2.4); });
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  };
  let back = [255, 255, 255];
  for (let n = e.parentElement; n; n = n.parentElement) {
    const c = rgb(getComputedStyle(n).backgroundColor);
    if (c.length === 3 || (c.length === 4 && c[3] > 0.5)) { back = c.slice(0, 3); break; }
  }
  const outlined = s.outlineStyle !== 'none' && (parseFloat(s.outlineWidth) || 0) > 0;
  const shadow = s.boxShadow && s.boxShadow !== 'none' ? s.boxShadow : '';
  const colour = outlined ? rgb(s.outlineColor) : rgb(shadow).slice(0, 3);
  const width = outlined ? parseFloat(s.outlineWidth)
                         : Math.max(0, ...(shadow.match(/([\\d.]+)px/g) || []).map(parseFloat));
  const [a, b] = [lum(colour.slice(0, 3)), lum(back)].sort((x, y) => y - x);
  const box = e.getBoundingClientRect();
  return {id: e.id, tag: e.tagName.toLowerCase(), type: e.type || '',
          text: (e.innerText || e.value || '').trim().slice(0, 40),
          outlined, shadow, width, contrast: (a + 0.05) / (b + 0.05),
          onScreen: box.width > 0 && box.height > 0, checked: !!e.checked};
}"""


def focus(page: Any) -> dict[str, Any]:
    """The focused control; fails unless its focus is visible."""
    seen: dict[str, Any] = page.evaluate(FOCUS)
    assert seen["tag"] != "body", "focus was lost"
    assert seen["onScreen"], seen
    assert seen["outlined"] or seen["shadow"], f"no visible focus: {seen}"
    assert seen["width"] >= 2, f"focus indicator thinner than 2 px: {seen}"
    assert seen["contrast"] >= 3, f"focus indicator contrast below 3:1: {seen}"
    return seen


def press(page: Any, key: str) -> dict[str, Any]:
    page.keyboard.press(key)
    return focus(page)


def tab_until(page: Any, wanted: Any, *, limit: int = 60, key: str = "Tab") -> dict[str, Any]:
    """Tab (or Shift+Tab) until `wanted(focus)` holds; every stop on the way is checked."""
    stops = []
    for _ in range(limit):
        seen = press(page, key)
        stops.append(f"{seen['tag']}#{seen['id']} {seen['text']!r}")
        if wanted(seen):
            return seen
    raise AssertionError(f"never reached the control; stops: {stops}")


def test_the_round_wizard_by_keyboard_alone(
    chromium: Any, console_server: LiveServer, org: Org, analyst_email: str
) -> None:
    with watched_page(chromium, base_url=console_server.base_url, locale="sv-SE") as page:
        log_in(page, analyst_email)
        assert page.locator("h1").inner_text() == "Översikt"
        # The navigation's link to the rounds, then the wizard's link, by Tab and Enter.
        tab_until(page, lambda f: f["tag"] == "a" and f["text"] == "Mätomgångar")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert page.locator("h1").inner_text() == "Mätomgångar"
        tab_until(page, lambda f: f["tag"] == "a" and f["text"] == "Skapa en mätomgång")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert page.url.endswith("/console/rounds/new")

        # Step 1: the only published version is already chosen; Space keeps it chosen.
        version = tab_until(page, lambda f: f["type"] == "radio")
        assert version["id"].startswith("version-") and version["checked"], version
        assert press(page, "Space")["checked"]
        # Step 2: name and period, typed.
        tab_until(page, lambda f: f["id"] == "name")
        page.keyboard.type("Trygghetsmätning hösten")
        tab_until(page, lambda f: f["id"] == "period")
        page.keyboard.press("Control+A")
        period = page.input_value("#open_date")[:7]  # a monthly round
        page.keyboard.type(period)
        # Step 3: two areas ticked with Space.
        boxes = page.locator("input[name=area_ids]")
        wanted = [boxes.nth(i).get_attribute("id") for i in (0, 2)]
        for box in wanted:
            tab_until(page, lambda f, box=box: f["id"] == box)
            assert press(page, "Space")["checked"]
        # Step 4: the dates are filled in from today; Tab passes both with a visible focus.
        tab_until(page, lambda f: f["id"] == "open_date")
        tab_until(page, lambda f: f["id"] == "close_date")
        # Step 5: the radio group by arrow keys: off, then on again.
        tab_until(page, lambda f: f["id"] == "links-on")
        assert press(page, "ArrowDown")["id"] == "links-off"
        assert press(page, "ArrowUp")["id"] == "links-on"
        assert press(page, "ArrowDown")["id"] == "links-off"
        # Back with Shift+Tab to check the period, then forward to the button.
        tab_until(page, lambda f: f["id"] == "period", key="Shift+Tab")
        assert page.input_value("#period") == period
        button = tab_until(page, lambda f: f["tag"] == "button")
        assert button["text"] == "Skapa mätomgången", button
        with page.expect_navigation():
            page.keyboard.press("Enter")

        assert re.search(r"/console/rounds/\d+\?done=created", page.url), page.url
        assert "Mätomgången är skapad" in page.locator(".notice").inner_text()
        round_id = int(re.findall(r"/rounds/(\d+)", page.url)[0])
        stored = ok(org.analyst.get(f"/api/v1/rounds/{round_id}"))
        assert stored["name"] == "Trygghetsmätning hösten"
        assert stored["period"] == period
        assert len(stored["area_ids"]) == 2 and stored["area_links_enabled"] is False
        # The round page by keyboard too: its first control after the skip link has a focus.
        press(page, "Tab")
