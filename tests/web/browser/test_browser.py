"""The tenant form in a real browser: complete runs in sv and ar, keyboard only, without
JavaScript, every page type styled under the server's own CSP and clean in axe-core at 360 px
and 1280 px, and screenshots at 360 px wide."""

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from survey_api.invitations.service import hash_code
from survey_api.models import Invitation, PendingResponse, Response
from tests.conftest import TEST_SECRET, LiveServer, Org
from tests.helpers import full_answers, open_round
from tests.web.browser.checks import WATCH_CSP, WIDTHS, assert_styled
from tests.web.browser.conftest import copy_to_docs
from tests.web.conftest import Survey, another_round, area_path, issue_codes

pytestmark = pytest.mark.browser

VIEWPORT = {"width": 360, "height": 640}
LOCALES = {"sv": "sv-SE", "ar": "ar-SE"}


def answers_for(language: str) -> dict[str, Any]:
    answers = full_answers()
    if language == "ar":
        answers["fritext_plats"] = "النفق قرب المركز مظلم.\nيحتاج إلى إضاءة أفضل."
    else:
        answers["fritext_plats"] = "Gångtunneln vid centrum är mörk.\nDen behöver bättre belysning."
    return answers


@contextmanager
def new_page(
    chromium: Any, server: LiveServer, language: str = "sv", *, javascript: bool = True
) -> Iterator[Any]:
    """A phone-sized page; console errors (a CSP violation, a failed load) fail the test."""
    context = chromium.new_context(
        base_url=server.base_url,
        viewport=VIEWPORT,
        locale=LOCALES[language],
        java_script_enabled=javascript,
    )
    context.add_init_script(WATCH_CSP)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        yield page
    finally:
        context.close()
    assert not [e for e in errors if "status of 4" not in e and "status of 5" not in e], errors


def click(page: Any, selector: str) -> None:
    with page.expect_navigation():
        page.click(selector)


def assert_fits(page: Any) -> None:
    """Nothing scrolls sideways at 360 px."""
    widths = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1], f"{page.url} scrolls sideways: {widths}"


def item_names(page: Any) -> list[str]:
    names: list[str] = []
    for element in page.locator("main form input, main form textarea").all():
        name = element.get_attribute("name") or ""
        if name and not name.startswith("_") and name not in names:
            names.append(name)
    return names


def answer_step(page: Any, answers: dict[str, Any]) -> list[str]:
    """Fill in the current step with the mouse and keyboard as a person would."""
    names = item_names(page)
    for name in names:
        if name not in answers:
            continue
        value = answers[name]
        if isinstance(value, list):
            for code in value:
                page.check(f"#f-{name}-{code}")
        elif page.locator(f"input[type=radio][name={name}]").count():
            page.check(f"#f-{name}-{value}")
        else:
            page.fill(f"#f-{name}", str(value))
    return names


def complete(
    page: Any,
    answers: dict[str, Any],
    *,
    screenshots: Path | None = None,
    prefix: str = "",
    check_fit: bool = True,
) -> list[list[str]]:
    """From the start page, answer every step and send; returns the items of each step."""
    click(page, "button[value=start]")
    steps: list[list[str]] = []
    while not page.url.split("?")[0].endswith("/thanks"):
        assert len(steps) < 30, "the form does not end"
        if check_fit:
            assert_fits(page)
        if screenshots is not None:
            page.screenshot(
                path=str(screenshots / f"{prefix}step-{len(steps) + 1}.png"), full_page=True
            )
        steps.append(answer_step(page, answers))
        click(page, "button[value=next]")
    return steps


def stored(db: sessionmaker[Session], round_id: int) -> list[Response | PendingResponse]:
    """What a round received: stored responses, then code answers still waiting for a batch."""
    with db() as session:
        return [
            *session.scalars(
                select(Response).where(Response.survey_round_id == round_id).order_by(Response.id)
            ),
            *session.scalars(
                select(PendingResponse)
                .where(PendingResponse.survey_round_id == round_id)
                .order_by(PendingResponse.id)
            ),
        ]


@pytest.fixture
def survey(org: Org, server: LiveServer) -> Survey:
    r = open_round(org.analyst)
    return Survey(round=r, area_links={a: area_path(server, r.id, a) for a in r.area_ids})


@pytest.mark.parametrize("language", ["sv", "ar"])
@pytest.mark.parametrize("way_in", ["area_link", "code"])
def test_complete_the_standard_questionnaire(
    chromium: Any,
    server: LiveServer,
    org: Org,
    survey: Survey,
    db: sessionmaker[Session],
    artifacts: Path,
    language: str,
    way_in: str,
) -> None:
    answers = answers_for(language)
    code = issue_codes(org, survey.round.id, survey.area_id, 1)[0]
    with new_page(chromium, server, language) as page:
        if way_in == "area_link":
            # The language comes from the phone's settings (Accept-Language).
            page.goto(survey.link)
        else:
            # The QR code of a letter; the tenant picks the language on the page.
            page.goto(f"/i/{code.replace('-', '')}?lang=sv")
            if language != "sv":
                click(page, f"button[value='lang:{language}']")
        html = page.locator("html")
        assert html.get_attribute("lang") == language
        assert html.get_attribute("dir") == ("rtl" if language == "ar" else "ltr")
        assert_fits(page)
        page.screenshot(path=str(artifacts / f"{way_in}-{language}-start.png"), full_page=True)
        steps = complete(page, answers, screenshots=artifacts, prefix=f"{way_in}-{language}-")
        assert any("anmalt_polis" in s for s in steps), "the follow-up was not asked"
        assert page.locator("h1").inner_text() == ("Tack!" if language == "sv" else "شكرًا لك!")
        assert_fits(page)
    [response] = stored(db, survey.round.id)
    assert response.answers == answers
    assert (response.language, response.channel, response.area_id) == (
        language,
        "web",
        survey.area_id,
    )
    with db() as session:
        used = session.scalar(
            select(Invitation.used_date).where(Invitation.code_hash == hash_code(code, TEST_SECRET))
        )
    assert (used is not None) == (way_in == "code")


def test_a_used_code_is_refused(
    chromium: Any,
    server: LiveServer,
    org: Org,
    survey: Survey,
    db: sessionmaker[Session],
) -> None:
    code = issue_codes(org, survey.round.id, survey.area_id, 1)[0]
    with new_page(chromium, server) as page:
        page.goto("/code")
        page.fill("#code", code.lower())
        click(page, "button.primary")
        complete(page, {"trivsel": 4})
        page.goto(f"/i/{code}")
        assert page.locator("h1").inner_text() == "Koden har redan använts"
        page.goto("/code")
        page.fill("#code", code)
        click(page, "button.primary")
        assert "Koden har redan använts" in page.locator(".error").inner_text()
        assert page.locator(".error-summary a[href='#code']").count() == 1
    assert [r.answers for r in stored(db, survey.round.id)] == [{"trivsel": 4}]


def _focused(page: Any) -> dict[str, Any]:
    return page.evaluate("""() => {
        const e = document.activeElement;
        const ring = e.closest('.opt') || e;
        const style = getComputedStyle(ring);
        return {tag: e.tagName.toLowerCase(), type: e.type || '', name: e.name || '',
                value: e.value || '', checked: !!e.checked, id: e.id || '',
                primary: e.classList.contains('primary'),
                outline: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2};
    }""")


def keyboard_step(page: Any, answers: dict[str, Any]) -> None:
    """Tab through one page, answering with arrows, space and typing, then press Enter."""
    for _ in range(200):
        page.keyboard.press("Tab")
        f = _focused(page)
        if f["tag"] in ("input", "textarea", "button", "a"):
            assert f["outline"], f"no visible focus on {f}"
        name = f["name"]
        if f["tag"] == "button" and f["primary"]:
            with page.expect_navigation():
                page.keyboard.press("Enter")
            return
        if f["type"] == "radio" and name in answers:
            target = str(answers[name])
            for _ in range(12):
                if f["value"] == target:
                    break
                page.keyboard.press("ArrowDown")
                f = _focused(page)
            if not f["checked"]:
                page.keyboard.press("Space")
            assert _focused(page)["checked"] and _focused(page)["value"] == target
        elif f["type"] == "checkbox" and name in answers:
            if int(f["value"]) in answers[name] and not f["checked"]:
                page.keyboard.press("Space")
        elif f["tag"] == "textarea" and name in answers:
            for i, line in enumerate(str(answers[name]).split("\n")):
                if i:
                    page.keyboard.press("Enter")
                page.keyboard.type(line)
        elif f["tag"] == "input" and f["type"] == "text" and name in answers:
            page.keyboard.type(str(answers[name]))
    raise AssertionError("never reached the page's main button with Tab")


def test_keyboard_only(
    chromium: Any,
    server: LiveServer,
    org: Org,
    survey: Survey,
    db: sessionmaker[Session],
) -> None:
    code = issue_codes(org, survey.round.id, survey.area_id, 1)[0]
    answers = answers_for("sv")
    with new_page(chromium, server) as page:
        page.goto("/code")
        keyboard_step(page, {"code": code})  # type the code, Tab to Continue, Enter
        assert page.locator("button[value=start]").count() == 1
        keyboard_step(page, {})  # past the language buttons to Start
        for _ in range(20):
            if page.url.endswith("/thanks?lang=sv"):
                break
            keyboard_step(page, answers)
        assert page.locator("h1").inner_text() == "Tack!"
    [response] = stored(db, survey.round.id)
    assert response.answers == answers


def test_without_javascript(
    chromium: Any,
    server: LiveServer,
    org: Org,
    survey: Survey,
    db: sessionmaker[Session],
) -> None:
    code = issue_codes(org, survey.round.id, survey.area_id, 1)[0]
    answers = answers_for("sv")
    with new_page(chromium, server, javascript=False) as page:
        page.goto(f"/i/{code}")
        steps = complete(page, answers, check_fit=False)
        # The follow-up is decided by the server, on the step after its condition.
        index = next(i for i, s in enumerate(steps) if "utsatt_brott_12m" in s)
        assert steps[index + 1] == ["anmalt_polis"]
        assert page.locator("h1").inner_text() == "Tack!"
    [response] = stored(db, survey.round.id)
    assert response.answers == answers


# --- every page type: styled under the server's CSP, and axe-core, at 360 and 1280 px -------------


@pytest.mark.parametrize("language", ["sv", "ar"])
def test_every_page_type_is_styled_and_passes_axe_at_both_widths(
    chromium: Any,
    axe: Any,
    server: LiveServer,
    org: Org,
    survey: Survey,
    artifacts: Path,
    language: str,
) -> None:
    codes = issue_codes(org, survey.round.id, survey.area_id, 2)
    closed = another_round(org, survey.round.version_id, closed=True)
    scheduled = another_round(org, survey.round.version_id, opens_in_days=5)
    letters_only = another_round(org, survey.round.version_id, code="letters")
    patched = org.analyst.patch(
        f"/api/v1/rounds/{letters_only.id}", json={"area_links_enabled": False}
    )
    assert patched.status_code == 200, patched.text
    seen: list[str] = []
    failures: list[str] = []

    def check(page: Any, name: str) -> None:
        assert page.locator("html").get_attribute("lang") == language, name
        for size in WIDTHS:
            page.set_viewport_size(size)
            # The stylesheet applied (no CSP violation), nothing wider than the window.
            assert_styled(page, name)
            result = axe.run(page)
            if result.violations_count:
                failures.append(f"{name} at {size['width']} px: {result.generate_report()}")
        page.set_viewport_size(VIEWPORT)
        shot = artifacts / f"axe-{language}-{name}.png"
        page.screenshot(path=str(shot), full_page=True)
        seen.append(name)

    with new_page(chromium, server, language) as page:
        page.goto("/code")
        check(page, "code")
        page.fill("#code", "ACDE-FHJK-MNPQ")
        click(page, "button.primary")
        check(page, "code-error")
        page.fill("#code", codes[0])
        click(page, "button.primary")
        check(page, "start")
        click(page, "button[value=start]")
        answers = answers_for(language)
        step = 1
        while not page.url.split("?")[0].endswith("/thanks"):
            check(page, f"step-{step}")
            if step == 1:
                shot = artifacts / f"form-{language}.png"
                page.screenshot(path=str(shot))
                copy_to_docs(shot, f"form-{language}.png")
            names = item_names(page)
            if "utsatt_brott_12m" in names and "step-error" not in seen:
                # "None of these" with a crime: an error beside the field and in the summary.
                answer_step(page, {"utsatt_brott_12m": [1, 6]})
                click(page, "button[value=next]")
                assert page.locator(".error-summary").count() == 1
                check(page, "step-error")
                page.uncheck("#f-utsatt_brott_12m-6")
            answer_step(page, answers)
            click(page, "button[value=next]")
            step += 1
        check(page, "thanks")
        page.goto(f"/i/{codes[0]}")
        check(page, "used-code")
        page.goto("/i/ACDEFHJKMNPQ")
        check(page, "unknown-code")
        page.goto("/r/1-1-aaaaaaaaaa")
        check(page, "unknown-link")
        page.goto(area_path(server, closed.id, closed.area_ids[0]))
        check(page, "closed")
        page.goto(area_path(server, scheduled.id, scheduled.area_ids[0]))
        check(page, "not-yet-open")
        page.goto(area_path(server, letters_only.id, letters_only.area_ids[0]))
        check(page, "links-off")
        page.goto("/form")
        check(page, "no-form")
        # An expired or forged form token.
        page.goto(survey.link)
        page.evaluate("() => { document.querySelector('[name=_token]').value = 'forged'; }")
        click(page, "button[value=start]")
        check(page, "expired")
        # The same form sent from two tabs: the second is told it was already sent.
        page.goto(f"/i/{codes[1]}")
        token = page.locator("[name=_token]").get_attribute("value")
        other = page.context.new_page()
        other.goto(survey.link)
        other.evaluate("t => { document.querySelector('[name=_token]').value = t; }", token)
        complete(page, {"trivsel": 3})
        with other.expect_navigation():
            other.click("button[value=start]")
        check(other, "already-sent")
    assert not failures, "\n\n".join(failures)
    assert len(seen) >= 20, seen


def test_invitation_letters_print(
    chromium: Any,
    server: LiveServer,
    org: Org,
    survey: Survey,
    artifacts: Path,
) -> None:
    """The letters render as one A4 page each, with a QR code, in Swedish and Arabic."""
    codes = issue_codes(org, survey.round.id, survey.area_id, 2)
    response = org.analyst.post(
        f"/api/v1/rounds/{survey.round.id}/invitations/letters",
        json={"codes": codes, "languages": ["sv", "ar"]},
    )
    assert response.status_code == 200
    letters = artifacts / "letters.html"
    letters.write_text(response.text, encoding="utf-8")
    context = chromium.new_context(viewport={"width": 794, "height": 1123})
    page = context.new_page()
    page.goto(letters.as_uri())
    page.screenshot(path=str(artifacts / "letters.png"), full_page=True)
    assert page.locator("article.letter svg.qr").count() == 2
    box = page.locator("article.letter svg.qr").first.bounding_box()
    assert box is not None and box["width"] >= 100
    pdf = artifacts / "letters.pdf"
    page.pdf(path=str(pdf), format="A4")
    # One printed page per letter.
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf.read_bytes())) == 2
    context.close()
