"""Ways in: area links, the code page, /i/{code}, and the friendly page for each problem."""

import re

import httpx
import pytest

from survey_api.web import tokens
from tests.conftest import TEST_SECRET, LiveServer, Org
from tests.helpers import ok
from tests.web.conftest import Survey, another_round, area_path, issue_codes
from tests.web.pages import complete, form


def h1(page: httpx.Response) -> str:
    match = re.search(r"<h1>(.*?)</h1>", page.text, re.S)
    assert match, page.text
    return match.group(1).strip()


def html_lang(page: httpx.Response) -> tuple[str, str]:
    match = re.search(r'<html lang="([^"]+)" dir="(ltr|rtl)">', page.text)
    assert match, page.text[:300]
    return match.group(1), match.group(2)


# --- area links --------------------------------------------------------------------------------


def test_area_link_opens_the_start_page_in_the_questionnaire_default(
    survey: Survey, tenant: httpx.Client
) -> None:
    page = tenant.get(survey.link)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert html_lang(page) == ("sv", "ltr")
    assert h1(page) == "Trygghetsmätning för hyresgäster"
    assert "Dina svar är anonyma." in page.text  # the questionnaire's intro
    start = form(page.text)
    assert start.hidden["_step"] == "start" and start.hidden["_lang"] == "sv"
    assert ("_action", "start", "Börja") in start.buttons
    # Every other language of the questionnaire can be chosen on the page.
    assert {b[1] for b in start.buttons} == {"start", "lang:en", "lang:ar"}


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("ar", ("ar", "rtl")),
        ("ar-SE,ar;q=0.9,sv;q=0.5", ("ar", "rtl")),
        ("en-GB,en;q=0.8", ("en", "ltr")),
        ("fr-FR,fr;q=0.9", ("sv", "ltr")),  # no match: the questionnaire's default
        ("ar;q=0,en;q=0.5", ("en", "ltr")),  # q=0 means "not this one"
    ],
)
def test_language_from_accept_language(
    survey: Survey, tenant: httpx.Client, accept: str, expected: tuple[str, str]
) -> None:
    page = tenant.get(survey.link, headers={"Accept-Language": accept})
    assert html_lang(page) == expected


def test_lang_parameter_overrides_accept_language(survey: Survey, tenant: httpx.Client) -> None:
    page = tenant.get(survey.link + "?lang=ar", headers={"Accept-Language": "sv"})
    assert html_lang(page) == ("ar", "rtl")
    assert h1(page) == "استبيان الأمان للمستأجرين"
    assert "ابدأ" in page.text


def test_organisation_languages_narrow_the_offer(
    org: Org, survey: Survey, tenant: httpx.Client
) -> None:
    ok(org.admin.patch("/api/v1/organisation", json={"languages": ["sv", "en"]}))
    page = tenant.get(survey.link, headers={"Accept-Language": "ar"})
    assert html_lang(page) == ("sv", "ltr")
    assert {b[1] for b in form(page.text).buttons} == {"start", "lang:en"}
    # Asking for it explicitly does not help either.
    assert html_lang(tenant.get(survey.link + "?lang=ar")) == ("sv", "ltr")
    switched = tenant.post("/form", data=form(page.text).data({}, "lang:ar"))
    assert html_lang(switched) == ("sv", "ltr")


@pytest.mark.parametrize(
    "slug",
    [
        "garbage",
        "1-1-aaaaaaaaaa",
        "99999999-1-{sig}",  # a genuine signature for a round that does not exist
    ],
)
def test_unknown_area_link(server: LiveServer, tenant: httpx.Client, slug: str) -> None:
    slug = slug.format(sig=tokens.area_slug(TEST_SECRET, 99999999, 1).rsplit("-", 1)[1])
    page = tenant.get(f"/r/{slug}", headers={"Accept-Language": "ar"})
    assert page.status_code == 404
    assert html_lang(page) == ("ar", "rtl")
    assert h1(page) == "لم نتمكن من العثور على هذا الاستبيان"
    assert 'href="/code"' in page.text


def test_area_link_with_edited_numbers_is_refused(
    server: LiveServer, survey: Survey, tenant: httpx.Client
) -> None:
    round_id, area_id, signature = survey.link.removeprefix("/r/").split("-")
    other = survey.round.area_ids[1]
    page = tenant.get(f"/r/{round_id}-{other}-{signature}")
    assert page.status_code == 404
    assert h1(page) == "Vi hittar inte enkäten"
    # The genuine link of that area works.
    assert tenant.get(survey.area_links[other]).status_code == 200


def test_area_of_another_round_is_unknown(
    org: Org, server: LiveServer, survey: Survey, tenant: httpx.Client
) -> None:
    other = another_round(org, survey.round.version_id)
    # Correctly signed, but the area does not take part in this round.
    page = tenant.get(area_path(server, survey.round.id, other.area_ids[0]))
    assert page.status_code == 404
    assert h1(page) == "Vi hittar inte enkäten"


@pytest.mark.parametrize(
    ("language", "heading"),
    [
        ("sv", "Enkäten är stängd"),
        ("ar", "هذا الاستبيان مغلق"),
        ("en", "This survey is closed"),
    ],
)
def test_closed_round(
    org: Org, server: LiveServer, survey: Survey, tenant: httpx.Client, language: str, heading: str
) -> None:
    closed = another_round(org, survey.round.version_id, closed=True)
    page = tenant.get(
        area_path(server, closed.id, closed.area_ids[0]), headers={"Accept-Language": language}
    )
    assert page.status_code == 410
    assert html_lang(page)[0] == language
    assert h1(page) == heading
    assert "<form" not in page.text


def test_round_not_open_yet(
    org: Org, server: LiveServer, survey: Survey, tenant: httpx.Client
) -> None:
    later = another_round(org, survey.round.version_id, opens_in_days=3)
    page = tenant.get(area_path(server, later.id, later.area_ids[0]))
    assert page.status_code == 403
    assert h1(page) == "Enkäten har inte öppnat än"
    assert "Du kan svara från och med" in page.text


# --- invitation codes --------------------------------------------------------------------------


def test_code_page(tenant: httpx.Client) -> None:
    page = tenant.get("/code")
    assert page.status_code == 200
    assert h1(page) == "Skriv in din kod"
    code_form = form(page.text, "/code")
    assert "code" in code_form.fields
    assert '<label class="label" for="code">Kod</label>' in page.text
    arabic = tenant.get("/code?lang=ar")
    assert html_lang(arabic) == ("ar", "rtl") and h1(arabic) == "أدخل رمزك"


@pytest.mark.parametrize("typed", ["{code}", "{lower}", "  {spaced}  "])
def test_a_typed_code_opens_the_start_page(
    org: Org, survey: Survey, tenant: httpx.Client, typed: str
) -> None:
    code = issue_codes(org, survey.round.id, survey.area_id, 1)[0]
    text = typed.format(code=code, lower=code.lower(), spaced=code.replace("-", " "))
    page = tenant.post("/code", data={"code": text, "_lang": "ar"})
    assert page.status_code == 200, page.text
    assert h1(page) == "استبيان الأمان للمستأجرين"  # the language chosen on the code page
    assert form(page.text).hidden["_step"] == "start"


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", "Skriv in koden från ditt brev."),
        ("ACDE-FHJK-MNPQ", "Vi hittar inte koden."),
        ("not a code at all", "Vi hittar inte koden."),
    ],
)
def test_a_wrong_code_is_explained_beside_the_field(
    tenant: httpx.Client, typed: str, message: str
) -> None:
    page = tenant.post("/code", data={"code": typed})
    assert page.status_code == 422
    assert message in page.text
    assert 'class="error-summary"' in page.text and 'href="#code"' in page.text
    assert 'aria-invalid="true"' in page.text
    assert 'aria-describedby="code-hint code-error"' in page.text
    # What was typed is kept so it can be corrected.
    assert form(page.text, "/code").fields["code"][2] == ([typed] if typed else [])


def test_unknown_codes_look_the_same_whatever_they_are(
    org: Org, survey: Survey, tenant: httpx.Client
) -> None:
    """No answer hints whether a code exists anywhere else."""
    pages = [tenant.get(f"/i/{code}") for code in ("ACDEFHJKMNPQ", "XXXXYYYYWWWW", "A" * 200)]
    assert {p.status_code for p in pages} == {404}
    assert len({p.text for p in pages}) == 1
    assert "ACDEFHJKMNPQ" not in pages[0].text
    assert h1(pages[0]) == "Vi hittar inte koden"


def test_qr_link_opens_the_start_page(org: Org, survey: Survey, tenant: httpx.Client) -> None:
    code = issue_codes(org, survey.round.id, survey.area_id, 1)[0]
    page = tenant.get(f"/i/{code.replace('-', '')}", headers={"Accept-Language": "en"})
    assert page.status_code == 200
    assert h1(page) == "Tenant safety survey"
    # Nothing on the page links to an address holding the code.
    assert code.replace("-", "") not in re.sub(r'name="_token" value="[^"]*"', "", page.text)


def test_used_code(org: Org, survey: Survey, tenant: httpx.Client) -> None:
    code = issue_codes(org, survey.round.id, survey.area_id, 1)[0]
    sent, _ = complete(tenant, tenant.get(f"/i/{code}"), {"trivsel": 4})
    assert sent.status_code == 303
    again = tenant.get(f"/i/{code}", headers={"Accept-Language": "ar"})
    assert again.status_code == 409
    assert h1(again) == "تم استخدام هذا الرمز من قبل"
    typed = tenant.post("/code", data={"code": code})
    assert typed.status_code == 422
    assert "Koden har redan använts." in typed.text


def test_code_of_a_closed_round(org: Org, survey: Survey, tenant: httpx.Client) -> None:
    code = issue_codes(org, survey.round.id, survey.area_id, 1)[0]
    ok(org.analyst.post(f"/api/v1/rounds/{survey.round.id}/close"))
    page = tenant.get(f"/i/{code}")
    assert page.status_code == 410
    assert h1(page) == "Enkäten är stängd"
    typed = tenant.post("/code", data={"code": code})
    assert typed.status_code == 410 and h1(typed) == "Enkäten är stängd"


# --- other pages -------------------------------------------------------------------------------


def test_thanks_page(tenant: httpx.Client) -> None:
    for lang, heading in (("sv", "Tack!"), ("ar", "شكرًا لك!"), ("en", "Thank you!")):
        page = tenant.get(f"/thanks?lang={lang}")
        assert page.status_code == 200 and h1(page) == heading


def test_form_address_without_a_post(tenant: httpx.Client) -> None:
    page = tenant.get("/form", headers={"Accept-Language": "en"})
    assert page.status_code == 404
    assert h1(page) == "This page cannot be shown"


def test_forged_or_expired_token(survey: Survey, tenant: httpx.Client) -> None:
    from itsdangerous import TimestampSigner, URLSafeTimedSerializer

    start = form(tenant.get(survey.link).text)
    forged = tenant.post("/form", data={**start.hidden, "_token": "forged", "_action": "start"})
    assert forged.status_code == 400
    assert h1(forged) == "Formuläret har gått ut"

    class LongAgo(TimestampSigner):
        def get_timestamp(self) -> int:
            return super().get_timestamp() - tokens.FORM_TOKEN_MAX_AGE_SECONDS - 60

    old = URLSafeTimedSerializer(TEST_SECRET, salt=tokens._FORM_TOKEN_SALT, signer=LongAgo)
    round_id, area_id = survey.round.id, survey.area_id
    stale = old.dumps({"r": round_id, "a": area_id, "n": "old"})
    expired = tenant.post("/form", data={**start.hidden, "_token": stale, "_action": "start"})
    assert expired.status_code == 400
    assert h1(expired) == "Formuläret har gått ut"
