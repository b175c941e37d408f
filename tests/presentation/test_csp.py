"""Pages that carry their stylesheet inline write it byte for byte, so its hash in the
Content-Security-Policy matches and the browser applies it (a browser test checks that too)."""

import re

import httpx

from survey_api.presentation import csp
from tests.conftest import Org
from tests.helpers import ok, open_round
from tests.web.conftest import issue_codes


def inline_style(html: str) -> str:
    [style] = re.findall(r"<style>(.*?)</style>", html, flags=re.DOTALL)
    return style


def assert_allowed(response: httpx.Response) -> None:
    style = inline_style(response.text)
    assert "&#34;" not in style and "&quot;" not in style  # never autoescaped
    policy = response.headers["content-security-policy"]
    assert f"style-src {csp.sha256_source(style)};" in policy
    assert "script-src" not in policy and policy.startswith("default-src 'none'")


def test_results_page_problem_page_and_letters_match_their_policy(
    org: Org, anonymous: httpx.Client
) -> None:
    r = open_round(org.analyst, n_areas=1)
    link = ok(org.analyst.post(f"/api/v1/rounds/{r.id}/share-links", json={}), 201)
    page = anonymous.get(httpx.URL(link["url"]).path)
    assert page.status_code == 200
    assert_allowed(page)
    problem = anonymous.get("/reports/not-a-token")
    assert problem.status_code == 404
    assert_allowed(problem)
    codes = issue_codes(org, r.id, r.area_ids[0], 1)
    letters = org.analyst.post(
        f"/api/v1/rounds/{r.id}/invitations/letters", json={"codes": codes, "languages": ["sv"]}
    )
    assert letters.status_code == 200
    assert_allowed(letters)
