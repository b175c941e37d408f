"""Share links, the printable results page, and the results export: suppression holds in all."""

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import httpx

from survey_api.reports import share
from tests.conftest import TEST_SECRET, Org
from tests.helpers import ok, open_round

SAFE = {"trygg_ute_kvall": 1, "trivsel": 4, "utsatt_brott_12m": [6], "trygg_bostad": 1}
UNSAFE = {"trygg_ute_kvall": 4, "trivsel": 1, "utsatt_brott_12m": [2], "trygg_bostad": 3}


def _upload(org: Org, round_id: int, area_id: int, answers: list[dict], key: str) -> None:  # type: ignore[type-arg]
    body = {
        "responses": [
            {"area_id": area_id, "language": "sv", "channel": "paper", "answers": a}
            for a in answers
        ]
    }
    ok(
        org.integrator.post(
            f"/api/v1/rounds/{round_id}/responses/bulk", json=body, headers={"Idempotency-Key": key}
        ),
        201,
    )


def _scenario(org: Org) -> tuple[int, int, int]:
    r = open_round(org.analyst, n_areas=2)
    big, small = r.area_ids
    _upload(org, r.id, big, [SAFE] * 15 + [UNSAFE] * 5, "big")
    _upload(org, r.id, small, [UNSAFE] * 3, "small")
    return r.id, big, small


def _page(client: httpx.Client, url: str) -> httpx.Response:
    return client.get(httpx.URL(url).path)


def test_area_page_shows_figures_charts_and_safe_headers(org: Org, anonymous: httpx.Client) -> None:
    round_id, big, _ = _scenario(org)
    link = ok(
        org.analyst.post(
            f"/api/v1/rounds/{round_id}/share-links", json={"area_id": big, "language": "sv"}
        ),
        201,
    )
    assert link["url"].startswith("http://testserver.invalid/reports/")
    page = _page(anonymous, link["url"])  # no API key: the link is the credential
    assert page.status_code == 200
    html = page.text
    assert "Area0" in html and "Nyckeltal" in html and "<svg" in html
    # 15 of 20 feel safe: the favourable share is 75 %; unsafe-out-late indicator 25 %,
    # written the Swedish way, with a non-breaking space, in the table and on the bars alike.
    assert '<td class="num value">25\u00a0%' in html
    assert ">75\u00a0%</text>" in html
    body = html[html.index("</style>") :]
    texts = re.findall(r">([^<]*)<", body) + re.findall(r'aria-label="([^"]*)"', body)
    assert not [t for t in texts if re.search(r"\d ?%", t)]  # never "25 %" nor "25%"
    assert "<script" not in html
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["referrer-policy"] == "no-referrer"


def test_organisation_page_hides_small_areas(org: Org, anonymous: httpx.Client) -> None:
    round_id, _, _ = _scenario(org)
    link = ok(
        org.analyst.post(f"/api/v1/rounds/{round_id}/share-links", json={"language": "en"}), 201
    )
    html = _page(anonymous, link["url"]).text
    assert "All areas" in html and "Area1" in html
    small_row = html[html.index("Area1") :].split("</tr>")[0]
    assert ">3<" not in small_row  # its 3 responses are below the minimum cell size
    assert "–" in small_row


def test_expired_forged_and_foreign_links_are_refused(
    org: Org,
    make_org,
    anonymous: httpx.Client,  # type: ignore[no-untyped-def]
) -> None:
    round_id, big, _ = _scenario(org)
    expired = share.create_token(
        share.ShareGrant(
            share_link_id=1,
            organisation_id=org.id,
            survey_round_id=round_id,
            area_id=big,
            language="sv",
            expires_at=datetime.now(UTC) - timedelta(seconds=1),
        ),
        TEST_SECRET,
    )
    response = anonymous.get(f"/reports/{expired}")
    assert response.status_code == 404 and "expired" in response.text
    assert response.headers["content-type"].startswith("text/html")
    forged = share.create_token(
        share.ShareGrant(
            share_link_id=1,
            organisation_id=org.id,
            survey_round_id=round_id,
            area_id=big,
            language="sv",
            expires_at=datetime.now(UTC) + timedelta(days=1),
        ),
        "another-secret",
    )
    assert anonymous.get(f"/reports/{forged}").status_code == 404
    other = make_org()
    assert other.analyst.post(f"/api/v1/rounds/{round_id}/share-links", json={}).status_code == 404
    assert org.integrator.post(f"/api/v1/rounds/{round_id}/share-links", json={}).status_code == 403
    too_long = org.analyst.post(
        f"/api/v1/rounds/{round_id}/share-links", json={"expires_in_days": 1000}
    )
    assert too_long.status_code == 422


def test_results_export_keeps_suppression(org: Org) -> None:
    round_id, _, _ = _scenario(org)
    response = org.integrator.get(
        f"/api/v1/rounds/{round_id}/exports/results", params={"format": "csv-excel"}
    )
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    big = [
        r
        for r in rows
        if r["area_code"] == "area0"
        and r["measure"] == "item"
        and r["key"] == "trygg_ute_kvall"
        and not r["breakdown_item"]
    ]
    assert big[0]["suppressed"] == "0" and big[0]["n"] == "20" and big[0]["share"] == "0,75"
    small = [r for r in rows if r["area_code"] == "area1"]
    assert small and all(
        r["suppressed"] == "1" and r["n"] == "" and r["share"] == "" for r in small
    )
    assert not any(r["measure"] == "option" for r in small)  # no counts of a suppressed cell
