"""Invitation letters and area links: for analysts, under /api/v1."""

import base64
import hashlib
import re

import httpx
import segno

from tests.conftest import LiveServer, Org
from tests.helpers import ok
from tests.web.conftest import Survey, another_round, issue_codes
from tests.web.pages import complete

LETTERS = "/api/v1/rounds/{}/invitations/letters"


def test_one_printable_letter_per_code(org: Org, survey: Survey, server: LiveServer) -> None:
    codes = issue_codes(org, survey.round.id, survey.area_id, 3)
    response = org.analyst.post(
        LETTERS.format(survey.round.id), json={"codes": codes, "languages": ["sv", "ar"]}
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    html = response.text
    assert html.count('<article class="letter">') == 3
    for code in codes:
        assert f'<p class="code">{code}</p>' in html
        # The QR code is segno's rendering of the /i/{code} link, inline SVG.
        url = f"{server.settings.public_base_url}/i/{code.replace('-', '')}"
        expected = segno.make(url, error="m").svg_inline(
            scale=4, border=4, svgclass="qr", lineclass=None, omitsize=False
        )
        assert expected.replace("<svg ", '<svg aria-hidden="true" ', 1) in html
    # The round's intro in each chosen language, marked with its language and direction.
    assert html.count('<section class="text" lang="sv" dir="ltr">') == 3
    assert html.count('<section class="text" lang="ar" dir="rtl">') == 3
    assert "Dina svar är anonyma." in html and "إجاباتك مجهولة الهوية." in html
    assert "http://testserver.invalid/code" in html
    assert '<span lang="sv">Din kod</span> / <span lang="ar">رمزك</span>' in html
    # Self-contained for printing: the inline style is allowed by its hash, nothing else.
    style = re.search(r"<style>(.*?)</style>", html, re.S).group(1)
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    csp = response.headers["content-security-policy"]
    assert f"style-src 'sha256-{digest}'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp and "<script" not in html
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["cache-control"] == "no-store"


def test_letters_default_to_the_offered_languages(org: Org, survey: Survey) -> None:
    ok(org.admin.patch("/api/v1/organisation", json={"languages": ["sv", "en"]}))
    codes = issue_codes(org, survey.round.id, survey.area_id, 1)
    html = org.analyst.post(LETTERS.format(survey.round.id), json={"codes": codes}).text
    assert re.findall(r'<section class="text" lang="(\w+)"', html) == ["sv", "en"]
    assert '<html lang="sv" dir="ltr">' in html


def test_the_printed_code_works(org: Org, survey: Survey, tenant: httpx.Client) -> None:
    codes = issue_codes(org, survey.round.id, survey.area_id, 1)
    html = org.analyst.post(LETTERS.format(survey.round.id), json={"codes": codes}).text
    printed = re.search(r'<p class="code">([A-Z0-9-]+)</p>', html).group(1)
    page = tenant.post("/code", data={"code": printed})
    assert page.status_code == 200 and 'name="_step" value="start"' in page.text


def test_unknown_and_used_codes_are_refused_without_repeating_them(
    org: Org, survey: Survey, tenant: httpx.Client
) -> None:
    good, used = issue_codes(org, survey.round.id, survey.area_id, 2)
    complete(tenant, tenant.get(f"/i/{used}"), {})
    other_area = issue_codes(org, survey.round.id, survey.round.area_ids[1], 1)[0]
    elsewhere = another_round(org, survey.round.version_id)
    other_round = issue_codes(org, elsewhere.id, elsewhere.area_ids[0], 1)[0]
    response = org.analyst.post(
        LETTERS.format(survey.round.id),
        json={
            "codes": [good, "ACDE-FHJK-MNPQ", used, other_area, other_round],
            "languages": ["sv", "fi"],
        },
    )
    assert response.status_code == 422
    problem = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    assert [(e["loc"], e["type"]) for e in problem["errors"]] == [
        (["body", "languages", 1], "unknown_language"),
        (["body", "codes", 1], "unknown_code"),
        (["body", "codes", 2], "used_code"),
        (["body", "codes", 4], "unknown_code"),  # a code of another round
    ]
    assert used not in response.text and "ACDE-FHJK-MNPQ" not in response.text


def test_letters_are_for_analysts_of_the_round(
    org: Org, make_org: object, survey: Survey, anonymous: httpx.Client
) -> None:
    codes = issue_codes(org, survey.round.id, survey.area_id, 1)
    url = LETTERS.format(survey.round.id)
    body = {"codes": codes}
    assert anonymous.post(url, json=body).status_code == 401
    assert org.integrator.post(url, json=body).status_code == 403
    assert org.admin.post(url, json=body).status_code == 200
    stranger = make_org()  # type: ignore[operator]
    assert stranger.analyst.post(url, json=body).status_code == 404
    assert org.analyst.post(url, json={"codes": []}).status_code == 422
    assert org.analyst.post(LETTERS.format(10**9), json=body).status_code == 404


def test_area_links(
    org: Org, make_org: object, survey: Survey, tenant: httpx.Client, anonymous: httpx.Client
) -> None:
    links = ok(org.analyst.get(f"/api/v1/rounds/{survey.round.id}/area-links"))
    assert links["survey_round_id"] == survey.round.id
    assert [a["area_id"] for a in links["areas"]] == survey.round.area_ids
    for area in links["areas"]:
        path = area["url"].removeprefix("http://testserver.invalid")
        assert path == survey.area_links[area["area_id"]]
        assert tenant.get(path).status_code == 200
    assert anonymous.get(f"/api/v1/rounds/{survey.round.id}/area-links").status_code == 401
    stranger = make_org()  # type: ignore[operator]
    assert stranger.analyst.get(f"/api/v1/rounds/{survey.round.id}/area-links").status_code == 404


def test_letters_name_their_sender_with_a_contact_and_a_privacy_text(
    org: Org, survey: Survey
) -> None:
    codes = issue_codes(org, survey.round.id, survey.area_id, 2)
    # Without settings: the organisation's name and the standard privacy sentence.
    plain = org.analyst.post(
        LETTERS.format(survey.round.id), json={"codes": codes, "languages": ["sv", "en"]}
    ).text
    organisation = org.admin.get("/api/v1/organisation").json()
    assert organisation["letter_texts"] == {}
    assert plain.count(f"Avsändare: {organisation['name']}.") == 2
    assert plain.count(f"Sent by {organisation['name']}.") == 2
    assert plain.count("inget som kan visa vem du är sparas med dem.") == 2

    texts = {
        "sv": {
            "sender": "Demobostäder AB, områdeskontoret",
            "contact": "Frågor? Ring 031-123 45 67.",
            "privacy": "Vi ser aldrig vem som har svarat.",
        },
        "ar": {"sender": "شركة ديموبوستادر", "contact": "للأسئلة اتصل على 031-123 45 67"},
    }
    updated = org.admin.patch("/api/v1/organisation", json={"letter_texts": texts})
    assert updated.status_code == 200, updated.text
    assert updated.json()["letter_texts"]["ar"]["privacy"] is None
    html = org.analyst.post(
        LETTERS.format(survey.round.id), json={"codes": codes, "languages": ["sv", "ar"]}
    ).text
    assert html.count("Avsändare: Demobostäder AB, områdeskontoret.") == 2
    assert html.count("Frågor? Ring 031-123 45 67.") == 2
    assert html.count("Vi ser aldrig vem som har svarat.") == 2
    assert html.count("المرسل: شركة ديموبوستادر.") == 2
    assert html.count("للأسئلة اتصل على 031-123 45 67") == 2

    # Only an admin sets them, and only for language codes.
    assert (
        org.analyst.patch("/api/v1/organisation", json={"letter_texts": texts}).status_code == 403
    )
    bad = org.admin.patch("/api/v1/organisation", json={"letter_texts": {"svenska!": texts["sv"]}})
    assert bad.status_code == 422
    empty_sender = org.admin.patch(
        "/api/v1/organisation", json={"letter_texts": {"sv": {"sender": ""}}}
    )
    assert empty_sender.status_code == 422
