"""What a person would check on any page in Chromium, with the server's own headers enforced.

Pages are loaded from the live server (never from a file, never with ``bypass_csp``), so a
Content-Security-Policy that blocks the page's stylesheet shows up here as a CSP violation, a
console error and an unstyled page (Times, borderless tables, oversized charts).
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

PHONE = {"width": 360, "height": 640}
DESKTOP = {"width": 1280, "height": 800}
WIDTHS = (PHONE, DESKTOP)
MIN_TEXT_PX = 12

# Runs in every document before its own content; CDP-injected, so the page's CSP does not apply.
WATCH_CSP = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', e => {
  window.__cspViolations.push(`${e.violatedDirective} blocked ${e.blockedURI || 'inline'}`);
});
"""

STYLE_FACTS = """() => {
  const root = document.documentElement;
  const px = v => parseFloat(v) || 0;
  const cells = [...document.querySelectorAll('table th, table td')].map(c => {
    const s = getComputedStyle(c);
    return {style: s.borderBottomStyle, width: px(s.borderBottomWidth)};
  });
  const svgs = [...document.querySelectorAll('svg')].filter(s => s.getBoundingClientRect().width)
    .map(s => {
      const box = s.getBoundingClientRect();
      const scale = s.getScreenCTM() ? s.getScreenCTM().a : 1;
      const texts = [...s.querySelectorAll('text')].map(t => ({
        text: t.textContent, px: px(getComputedStyle(t).fontSize) * scale}));
      return {cls: s.getAttribute('class') || '', left: box.left, right: box.right,
              width: box.width, texts};
    });
  const name = e => e.tagName.toLowerCase() + (e.className && typeof e.className === 'string'
    ? '.' + e.className.trim().split(/ +/).join('.') : '');
  const wide = [...document.body.querySelectorAll('*')]
    .filter(e => e.getBoundingClientRect().right > root.clientWidth + 0.5)
    .slice(0, 5).map(e => `${name(e)} ${e.textContent.trim().slice(0, 30)}`);
  return {
    family: getComputedStyle(document.body).fontFamily,
    wide,
    sheets: document.styleSheets.length,
    scrollWidth: root.scrollWidth, clientWidth: root.clientWidth,
    cells, svgs,
    violations: window.__cspViolations || [],
  };
}"""


@contextmanager
def watched_page(chromium: Any, *, base_url: str | None = None, **options: Any) -> Iterator[Any]:
    """A page whose console errors and CSP violations fail the test when it closes."""
    context = chromium.new_context(base_url=base_url, viewport=PHONE, **options)
    context.add_init_script(WATCH_CSP)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        yield page
    finally:
        context.close()
    # A 404 or 410 page logs its own status; anything else (a CSP refusal included) is a defect.
    assert not [e for e in errors if "status of 4" not in e and "status of 5" not in e], errors


def assert_styled(page: Any, name: str) -> dict[str, Any]:
    """The stylesheet applied (not Times), no CSP violation, bordered tables, nothing wider than
    the window, and chart text of at least 12 px."""
    facts: dict[str, Any] = page.evaluate(STYLE_FACTS)
    width = page.viewport_size["width"]
    where = f"{name} at {width} px"
    assert not facts["violations"], f"{where}: CSP violations {facts['violations']}"
    assert facts["sheets"] >= 1, f"{where}: no stylesheet applied"
    family = facts["family"]
    assert family.startswith("system-ui") and "Times" not in family, f"{where}: font {family}"
    assert facts["scrollWidth"] <= facts["clientWidth"], (
        f"{where} scrolls sideways: {facts['scrollWidth']} > {facts['clientWidth']}, "
        f"because of {facts['wide']}"
    )
    for cell in facts["cells"]:
        assert cell["style"] != "none" and cell["width"] >= 1, f"{where}: a table without borders"
    for svg in facts["svgs"]:
        assert svg["width"] <= facts["clientWidth"] and svg["left"] >= 0, (
            f"{where}: an SVG ({svg['cls']}) {svg['width']:.0f} px wide overflows"
        )
        assert svg["right"] <= facts["clientWidth"] + 0.5, f"{where}: an SVG overflows"
        small = [t for t in svg["texts"] if t["px"] < MIN_TEXT_PX]
        assert not small, f"{where}: chart text below {MIN_TEXT_PX} px: {small[:3]}"
    return facts


def assert_accessible(page: Any, axe: Any, name: str) -> None:
    """axe-core finds no violation."""
    result = axe.run(page)
    assert not result.violations_count, f"{name}: {result.generate_report()}"


def check_at_both_widths(page: Any, axe: Any, name: str) -> None:
    """Styles and axe at 360 px and at 1280 px, then back to the phone width."""
    for size in WIDTHS:
        page.set_viewport_size(size)
        assert_styled(page, name)
        assert_accessible(page, axe, f"{name} at {size['width']} px")
    page.set_viewport_size(PHONE)
