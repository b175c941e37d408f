"""The console's Questionnaires section in Chromium under the server's CSP: the list, the
upload form's error summary, a version page with its comparability report, the publish
confirmation, and the tenant-form preview in Swedish and Arabic (right to left, the tenant
stylesheet and CSP, no form), styled, no console errors and no axe violation in Swedish and
English at 360 and 1280 px."""

import json
import re
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from survey_api.web.rendering import CONTENT_SECURITY_POLICY
from tests.conftest import LiveServer
from tests.console.test_console_browser import log_in
from tests.questionnaires.pair import version_1, version_2
from tests.staff.conftest import make_staff_org
from tests.web.browser.checks import check_at_both_widths, watched_page

pytestmark = pytest.mark.browser

UPLOAD_BUTTON = "form[enctype='multipart/form-data'] button[type=submit]"


def _file(data: Any, name: str = "frageformular.json") -> dict[str, Any]:
    body = data if isinstance(data, bytes) else json.dumps(data).encode()
    return {"name": name, "mimeType": "application/json", "buffer": body}


def test_questionnaires_report_and_preview_are_styled_and_accessible(
    chromium: Any, axe: Any, console_server: LiveServer, db: sessionmaker[Session]
) -> None:
    org = make_staff_org(db)
    with watched_page(chromium, base_url=console_server.base_url, locale="sv-SE") as page:
        log_in(page, org.emails["analyst"])
        page.click("nav >> text=Frågeformulär")
        page.wait_for_url("**/console/questionnaires")
        assert page.locator("h1").inner_text() == "Frågeformulär"
        check_at_both_widths(page, axe, "questionnaires, none yet (sv)")

        page.click("text=Starta ett nytt frågeformulär")
        page.wait_for_url("**/console/questionnaires/new")
        check_at_both_widths(page, axe, "new questionnaire form (sv)")
        # A definition with checker errors: the summary lists each with its path.
        broken = version_1()
        broken["items"][1]["favourable"] = [7]
        page.set_input_files("#definition", files=[_file(broken)])
        page.click(UPLOAD_BUTTON)
        page.wait_for_load_state()
        summary = page.locator(".error-summary")
        assert "Filen kan inte användas" in summary.inner_text()
        assert "items[1].favourable[0]" in summary.inner_text()
        check_at_both_widths(page, axe, "upload with errors (sv)")

        # A good file, published after the confirmation, then a second version.
        page.set_input_files("#definition", files=[_file(version_1())])
        page.click(UPLOAD_BUTTON)
        page.wait_for_url(re.compile(r".*/console/questionnaires/\d+/versions/1\?done=created"))
        found = re.search(r"/console/questionnaires/(\d+)", page.url)
        assert found
        base = f"/console/questionnaires/{found.group(1)}"
        check_at_both_widths(page, axe, "version 1 draft (sv)")
        page.click("text=Publicera den här versionen")
        page.wait_for_url(f"**{base}/versions/1/publish")
        page.click("text=Ja, publicera version 1")
        page.wait_for_url(f"**{base}/versions/1?done=published")
        page.goto(base)
        page.click("text=Nytt utkast från den senaste versionen")
        page.wait_for_url(f"**{base}/versions/2?done=drafted")
        page.set_input_files("#definition", files=[_file(version_2())])
        page.click(UPLOAD_BUTTON)
        page.wait_for_url(f"**{base}/versions/2?done=uploaded")
        report = page.locator("table").inner_text()
        assert "frågetypen har ändrats från ett svar till flera svar." in report
        assert "Behåller sin trend" in report and "Bryts" in report
        check_at_both_widths(page, axe, "version 2 with its report (sv)")
        page.click("text=Publicera den här versionen")
        page.wait_for_url(f"**{base}/versions/2/publish")
        check_at_both_widths(page, axe, "publish confirmation with report (sv)")

        # The standard questionnaire, for a preview in Swedish and in Arabic.
        page.goto("/console/questionnaires/new")
        page.click("text=Utgå från det valda standardformuläret")
        page.wait_for_url(re.compile(r".*/console/questionnaires/\d+/versions/1\?done=created"))
        standard = page.url.split("?")[0].removeprefix(console_server.base_url)
        for lang, direction in (("sv", "ltr"), ("ar", "rtl")):
            response = page.goto(f"{standard}/preview/{lang}")
            assert response is not None and response.status == 200
            assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
            assert page.locator("html").get_attribute("lang") == lang
            assert page.locator("html").get_attribute("dir") == direction
            assert page.locator("form").count() == 0
            assert page.locator("input[type=radio]").count() > 0
            assert "Förhandsgranskning" in page.locator("#preview-title").inner_text()
            check_at_both_widths(page, axe, f"preview ({lang})")
            page.click("a[rel=next]")
            page.wait_for_url("**step=2**")
            check_at_both_widths(page, axe, f"preview step 2 ({lang})")

        for lang in ("sv", "en"):
            for path, name in (
                ("/console/questionnaires", "questionnaires list"),
                (base, "questionnaire page"),
                (f"{base}/versions/2", "version page with report"),
                (f"{base}/versions/2/publish", "publish confirmation"),
                ("/console/questionnaires/new", "new questionnaire form"),
            ):
                response = page.goto(f"{path}?lang={lang}")
                assert response is not None and response.status == 200
                assert "script-src" not in response.headers["content-security-policy"]
                assert page.locator("html").get_attribute("lang") == lang
                check_at_both_widths(page, axe, f"{name} ({lang})")
            page.goto(f"/console/questionnaires/new?lang={lang}")
            page.click(UPLOAD_BUTTON)
            page.wait_for_load_state()
            assert page.locator(".error-summary").count() == 1
            assert page.locator("html").get_attribute("lang") == lang
            check_at_both_widths(page, axe, f"upload without a file ({lang})")
        # The report table stays inside the window on a phone.
        page.goto(f"{base}/versions/2")
        box = page.locator("table").last.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= 360, box
