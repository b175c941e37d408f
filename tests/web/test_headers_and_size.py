"""Every tenant page: security headers, no script or inline style, and the 50 KB budget."""

import re

import httpx
import pytest

from tests.conftest import Org
from tests.helpers import ok
from tests.web.conftest import Survey, issue_codes
from tests.web.pages import complete, form, post

PAGE_BUDGET = 50_000  # bytes of HTML + CSS, uncompressed


def stylesheet(tenant: httpx.Client, page: httpx.Response) -> bytes:
    href = re.search(r'<link rel="stylesheet" href="([^"]+)">', page.text)
    assert href, page.text[:500]
    css = tenant.get(href.group(1))
    assert css.status_code == 200
    return css.content


def every_page_type(org: Org, survey: Survey, tenant: httpx.Client) -> dict[str, httpx.Response]:
    codes = issue_codes(org, survey.round.id, survey.area_id, 2)
    pages: dict[str, httpx.Response] = {}
    pages["start (area link)"] = start = tenant.get(survey.link)
    pages["start (QR link)"] = tenant.get(f"/i/{codes[0]}")
    pages["code"] = tenant.get("/code")
    pages["code with error"] = tenant.post("/code", data={"code": "nope"})
    pages["start (typed code)"] = tenant.post("/code", data={"code": codes[1]})
    pages["step"] = step = post(tenant, start, action="start")
    pages["step with error"] = post(tenant, step, {"trygg_bostad": 77})
    last = step
    while "Skicka mina svar" not in last.text:
        last = post(tenant, last)
    pages["send (redirect)"] = sent = post(tenant, last)
    pages["thanks"] = tenant.get(sent.headers["location"])
    pages["already sent"] = post(tenant, last)
    complete(tenant, pages["start (QR link)"], {})
    pages["used code"] = tenant.get(f"/i/{codes[0]}")
    pages["unknown code"] = tenant.get("/i/ACDEFHJKMNPQ")
    pages["unknown link"] = tenant.get("/r/1-2-abcdefghij")
    pages["expired"] = tenant.post("/form", data={"_token": "x", "_step": "start"})
    pages["no form"] = tenant.get("/form")
    ok(org.analyst.post(f"/api/v1/rounds/{survey.round.id}/close"))
    pages["closed"] = tenant.get(survey.link)
    pages["stylesheet"] = tenant.get(re.search(r'href="(/static/[^"]+)"', start.text).group(1))
    return pages


def test_security_headers_on_every_page(org: Org, survey: Survey, tenant: httpx.Client) -> None:
    pages = every_page_type(org, survey, tenant)
    assert pages["send (redirect)"].status_code == 303
    for name, page in pages.items():
        h = page.headers
        csp = h.get("content-security-policy", "")
        assert "frame-ancestors 'none'" in csp, name
        assert "default-src 'none'" in csp and "script-src" not in csp, name
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, name
        assert h.get("referrer-policy") == "no-referrer", name
        assert h.get("x-content-type-options") == "nosniff", name
        assert h.get("x-frame-options") == "DENY", name
        if name == "stylesheet":
            assert "immutable" in h["cache-control"]
            assert h["content-type"].startswith("text/css")
        else:
            assert h.get("cache-control") == "no-store", name
        if page.headers.get("content-type", "").startswith("text/html"):
            # A GET link would lose the form: pages answering a POST switch language with
            # buttons in the form, or not at all.
            if name.startswith(("step", "start", "already", "expired")):
                assert 'href="?lang=' not in page.text, name
            assert "<script" not in page.text.lower(), name
            assert not re.search(r"\sstyle=", page.text), name
            assert not re.search(r"\son[a-z]+=", page.text), name  # no inline handlers


@pytest.mark.parametrize("language", ["sv", "en", "ar"])
def test_every_step_fits_the_budget(survey: Survey, tenant: httpx.Client, language: str) -> None:
    """At most 50 KB of HTML and CSS per page, whatever the step and language."""
    headers = {"Accept-Language": language}
    page = tenant.get(survey.link, headers=headers)
    css = len(stylesheet(tenant, page))
    sizes = {"start": len(page.content)}
    page = post(tenant, page, action="start", headers=headers)
    # Answers that show every step (the follow-up too); errors make a step its largest.
    answers = {"utsatt_brott_12m": [1]}
    while page.status_code == 200:
        step = form(page.text).hidden["_step"]
        sizes[step] = len(page.content)
        errors = post(
            tenant, page, {k: 999 for k in form(page.text).fields if k[0] != "_"}, headers=headers
        )
        sizes[f"{step} with errors"] = len(errors.content)
        page = post(tenant, page, answers, headers=headers)
    largest = max(sizes, key=lambda k: sizes[k])
    assert sizes[largest] + css <= PAGE_BUDGET, (largest, sizes[largest], css)
    assert page.status_code == 303
    assert len(sizes) == 21


@pytest.mark.parametrize("path", ["/code", "/thanks", "/form"])
def test_pages_without_a_round_are_small(tenant: httpx.Client, path: str) -> None:
    page = tenant.get(path)
    assert len(page.content) + len(stylesheet(tenant, page)) <= 10_000


def test_unexpected_errors_are_a_friendly_page(
    survey: Survey, tenant: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    from survey_api.web import service

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("database on fire")

    monkeypatch.setattr(service.responses_service, "store", broken)
    start = tenant.get(survey.link, headers={"Accept-Language": "ar"})
    page = post(tenant, start, action="start")
    while "Skicka" not in page.text and "إرسال" not in page.text:
        page = post(tenant, page)
    failed = post(tenant, page)
    assert failed.status_code == 500
    assert failed.headers["content-type"].startswith("text/html")
    assert "حدث خطأ ما" in failed.text
    assert "database on fire" not in failed.text and "Traceback" not in failed.text
    assert failed.headers["content-security-policy"]
