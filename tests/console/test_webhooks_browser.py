"""The console's webhook pages in Chromium: styled under the server's own CSP, zero console
errors, no axe violation in Swedish and English at 360 and 1280 px (errors shown and a delivery
log with rows too), a subscription created by keyboard alone with its secret shown once, then
re-send, rotation and deletion by clicking."""

import re
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from survey_api.models import WebhookDelivery, WebhookSubscription
from survey_api.webhooks import outbox
from tests.conftest import LiveServer
from tests.console.test_keyboard_wizard import press, tab_until
from tests.staff.conftest import PASSWORD, make_staff_org
from tests.web.browser.checks import check_at_both_widths, watched_page

pytestmark = pytest.mark.browser

# A global address literal: the SSRF guard passes it without a lookup; the test server runs no
# dispatcher, so nothing is ever sent to it.
PUBLIC_URL = "https://93.184.216.34/survey-webhooks"
_SECRET = re.compile(r"whsec_[A-Za-z0-9+/=]{20,}")


def test_webhook_pages_are_styled_accessible_and_work_by_keyboard(
    chromium: Any, axe: Any, console_server: LiveServer, db: sessionmaker[Session]
) -> None:
    org = make_staff_org(db)
    with watched_page(chromium, base_url=console_server.base_url, locale="sv-SE") as page:
        page.goto("/console/login")
        page.fill("#email", org.emails["admin"])
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url("**/console/")
        for lang in ("sv", "en"):
            response = page.goto(f"/console/webhooks?lang={lang}")
            assert response is not None and response.status == 200
            csp = response.headers["content-security-policy"]
            assert "script-src" not in csp and "default-src 'none'" in csp
            assert page.locator("html").get_attribute("lang") == lang
            assert page.locator("nav a[aria-current=page]").inner_text() == "Webhooks"
            check_at_both_widths(page, axe, f"webhooks, none yet ({lang})")

        # A refused address: the service's own words in the summary and beside the field.
        page.goto("/console/webhooks")
        page.fill("#url", "http://93.184.216.34/hook")
        page.check("#event_type_round_closed")
        page.click("text=Lägg till prenumerationen")
        summary = page.locator(".error-summary").inner_text()
        assert "the URL must start with https://" in summary
        assert page.locator("#url").get_attribute("aria-invalid") == "true"
        assert page.locator("#url").input_value() == "http://93.184.216.34/hook"
        assert page.locator("#event_type_round_closed").is_checked()
        border = page.locator(".error-summary").evaluate(
            "e => [getComputedStyle(e).borderTopStyle, getComputedStyle(e).borderTopColor]"
        )
        assert border == ["solid", "rgb(168, 7, 26)"]
        colour = page.locator("#url-error").evaluate("e => getComputedStyle(e).color")
        assert colour == "rgb(168, 7, 26)"
        check_at_both_widths(page, axe, "webhooks with an error (sv)")
        with db() as session:
            assert not session.scalars(
                select(WebhookSubscription.id).where(WebhookSubscription.organisation_id == org.id)
            ).all()

        # Create by keyboard alone: Tab to the address, type, Tab and Space through the boxes,
        # Enter on the button.
        page.goto("/console/webhooks")
        page.locator("body").focus()
        tab_until(page, lambda seen: seen["id"] == "url")
        page.keyboard.type(PUBLIC_URL)
        seen = press(page, "Tab")
        assert seen["id"] == "event_type_round_opened"
        press(page, "Tab")
        seen = press(page, "Space")
        assert seen["id"] == "event_type_round_closed" and seen["checked"]
        press(page, "Tab")
        seen = press(page, "Space")
        assert seen["id"] == "event_type_results_updated" and seen["checked"]
        tab_until(page, lambda seen: seen["id"] == "description")
        page.keyboard.type("Resultat till BI-lagret")
        seen = tab_until(page, lambda seen: seen["tag"] == "button")
        assert seen["text"] == "Lägg till prenumerationen"
        page.keyboard.press("Enter")
        page.wait_for_selector("#secret")
        secret = page.locator("#secret").inner_text()
        assert _SECRET.fullmatch(secret) and page.content().count(secret) == 1
        assert "visas bara den här gången" in page.locator(".warning").inner_text()
        check_at_both_widths(page, axe, "subscription added (sv)")
        page.click("text=Gå till prenumerationen")
        page.wait_for_url(re.compile(r".*/console/webhooks/[0-9]+$"))
        assert secret not in page.content()
        webhook_id = int(page.url.rsplit("/", 1)[1])
        assert page.locator("#event_type_round_closed").is_checked()
        assert page.locator("#event_type_results_updated").is_checked()
        assert not page.locator("#event_type_round_opened").is_checked()
        assert page.locator("#enabled").is_checked()

        # A delivery log with rows: events emitted in a session of the test's own.
        with db() as session:
            for n in range(3):
                outbox.emit(session, org.id, "round.closed", {"n": n}, round_id=900_000_000 + n)
            session.commit()
            first = min(
                session.scalars(
                    select(WebhookDelivery.id).where(WebhookDelivery.subscription_id == webhook_id)
                )
            )
            failed = session.get_one(WebhookDelivery, first)
            failed.status, failed.attempts, failed.last_status_code = "failed", 8, 503
            failed.last_error = "the receiver answered 503"
            session.commit()
        for lang in ("sv", "en"):
            page.goto(f"/console/webhooks/{webhook_id}?lang={lang}")
            assert page.locator("tbody tr").count() == 3
            check_at_both_widths(page, axe, f"a subscription with its delivery log ({lang})")
        page.goto(f"/console/webhooks/{webhook_id}")
        page.select_option("#status", "failed")
        page.click("form.inline-form button")
        page.wait_for_url("**status=failed")
        assert page.locator("tbody tr").count() == 1
        assert "HTTP 503" in page.locator("tbody").inner_text()
        page.click("tbody button")
        page.wait_for_url("**done=resent")
        assert "skickas igen" in page.locator(".notice").inner_text()
        with db() as session:
            assert session.get_one(WebhookDelivery, first).status == "pending"

        # Rotation: the new secret once, the old one signing for 24 hours.
        page.click("button:has-text('Skapa en ny hemlighet')")
        page.wait_for_selector("#secret")
        rotated = page.locator("#secret").inner_text()
        assert _SECRET.fullmatch(rotated) and rotated != secret
        assert "24 timmar" in page.locator(".warning").inner_text()
        check_at_both_widths(page, axe, "new secret (sv)")

        # Deletion asks first; the button is the danger colour.
        page.goto(f"/console/webhooks/{webhook_id}")
        page.click("a:has-text('Ta bort prenumerationen')")
        page.wait_for_url("**/delete")
        background = page.locator("button.danger").evaluate(
            "e => getComputedStyle(e).backgroundColor"
        )
        assert background == "rgb(168, 7, 26)"
        check_at_both_widths(page, axe, "delete a subscription (sv)")
        page.click("button.danger")
        page.wait_for_url("**/console/webhooks?done=deleted")
        assert "borttagen" in page.locator(".notice").inner_text()
        assert PUBLIC_URL not in page.content()
