"""The console's Results section over HTTP, on both databases: the figures are the API's
results for the same round, written the Swedish way; a small area shows "färre än N" and no
numbers; downloads are the API's files; a share link made in the console opens the board's
page; roles and CSRF guard what they should; another organisation's ids answer like missing
ones."""

import csv
import html
import io
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from survey_api.auth import service as auth_service
from survey_api.organisations import service as organisations_service
from survey_api.presentation import formatting
from tests.conftest import LiveServer
from tests.helpers import ok, open_round
from tests.staff.conftest import Browser, StaffOrg, csrf_of, make_staff_org

SAFE = {"trygg_ute_kvall": 1, "trivsel": 4, "utsatt_brott_12m": [6], "trygg_bostad": 1}
UNSAFE = {"trygg_ute_kvall": 4, "trivsel": 1, "utsatt_brott_12m": [2], "trygg_bostad": 3}
NBSP = "\u00a0"
_TAG = re.compile(r"<[^>]+>")


@dataclass
class ResultsWorld:
    """A staff organisation with a round: a big area (20 answers) and a small one (3)."""

    org: StaffOrg
    api: httpx.Client
    round_id: int
    big: int
    small: int


def _api(server: LiveServer, db: sessionmaker[Session], org_id: int) -> httpx.Client:
    with db() as session:
        organisation = organisations_service.get_organisation(session, org_id)
        key = auth_service.create_api_key(session, organisation, name="admin", role="admin")[1]
        session.commit()
    return httpx.Client(
        base_url=server.base_url, headers={"Authorization": f"Bearer {key}"}, timeout=30
    )


def _upload(api: httpx.Client, round_id: int, area_id: int, answers: list[dict[str, Any]]) -> None:
    body = {
        "responses": [
            {"area_id": area_id, "language": "sv", "channel": "paper", "answers": a}
            for a in answers
        ]
    }
    headers = {"Idempotency-Key": uuid.uuid4().hex}
    ok(api.post(f"/api/v1/rounds/{round_id}/responses/bulk", json=body, headers=headers), 201)


def make_results_world(server: LiveServer, db: sessionmaker[Session]) -> ResultsWorld:
    org = make_staff_org(db)
    api = _api(server, db, org.id)
    made = open_round(api, n_areas=2)
    big, small = made.area_ids
    # Age groups 2 and 3 among the big area's answers, for a breakdown with figures to show.
    answers = [{**SAFE, "aldersgrupp": 2}] * 8 + [{**UNSAFE, "aldersgrupp": 2}] * 2
    answers += [{**SAFE, "aldersgrupp": 3}] * 7 + [{**UNSAFE, "aldersgrupp": 3}] * 3
    _upload(api, made.id, big, answers)
    _upload(api, made.id, small, [UNSAFE] * 3)
    return ResultsWorld(org, api, made.id, big, small)


@pytest.fixture
def world(server: LiveServer, db: sessionmaker[Session]) -> Iterator[ResultsWorld]:
    made = make_results_world(server, db)
    yield made
    made.api.close()


def signed_in(browser: Callable[[], Browser], org: StaffOrg, role: str) -> Browser:
    client = browser()
    assert client.log_in(org.emails[role]).status_code == 303
    return client


def section(page: str, element_id: str) -> str:
    """The HTML of the <section> holding the element with this id."""
    start = page.rindex("<section", 0, page.index(f'id="{element_id}"'))
    return page[start : page.index("</section>", start)]


def without_as_of(text: str) -> list[list[str]]:
    rows = list(csv.reader(io.StringIO(text)))
    at = rows[0].index("as_of")
    return [row[:at] + row[at + 1 :] for row in rows]


def texts(fragment: str) -> str:
    return html.unescape(_TAG.sub(" ", fragment))


def test_round_figures_are_the_api_s_in_swedish_and_small_areas_show_none(
    browser: Callable[[], Browser], world: ResultsWorld
) -> None:
    client = signed_in(browser, world.org, "viewer")
    listing = client.get("/console/results")
    assert listing.status_code == 200
    assert f'href="/console/results/{world.round_id}"' in listing.text
    page = client.get(f"/console/results/{world.round_id}")
    assert page.status_code == 200, page.text
    api = ok(world.api.get(f"/api/v1/rounds/{world.round_id}/results"))
    big = next(a for a in api["areas"] if a["area_id"] == world.big)
    big_html = section(page.text, f"area-{world.big}")
    shown = 0
    for indicator in big["indicators"]:
        if indicator["suppressed"]:
            continue
        share = indicator["share"]
        value = formatting.percent(share["p"], "sv")
        interval = formatting.percent_range(share["low"], share["high"], "sv")
        assert f'<td class="num">{value}' in big_html, (indicator["key"], value)
        assert f'<td class="num">{interval}</td>' in big_html
        shown += 1
    for composite in big["indices"]:
        if composite["suppressed"]:
            continue
        figure = composite["index"]
        assert f'<td class="num">{formatting.number(figure["index"], "sv")}' in big_html
    assert shown >= 2
    assert f"75{NBSP}%" in big_html or f"25{NBSP}%" in big_html  # Swedish, non-breaking
    assert not re.search(r"\d(?:%| %)", texts(big_html))  # never "25%" nor "25 %"
    assert "20" in texts(big_html)  # its responses

    small_html = section(page.text, f"area-{world.small}")
    assert "färre än 10" in small_html
    assert not re.search(r"\d\s?%", texts(small_html))
    assert not re.search(r"\b3\b", texts(small_html).replace(f"/areas/{world.small}", ""))
    facts = texts(page.text.split('id="areas-nav-title"')[0])
    # None waiting is below k: suppressed in the API, "färre än 10" on the page.
    assert api["pending"] is None and "Kodsvar som väntar färre än 10" in " ".join(facts.split())
    pooled = section(page.text, "pooled-title")
    organisation = next(p for p in api["pooled"] if p["kind"] == "organisation")
    assert "Alla områden" in pooled
    for indicator in organisation["indicators"]:
        if not indicator["suppressed"]:
            assert formatting.percent(indicator["share"]["p"], "sv") in pooled


def test_area_page_has_charts_and_the_api_s_breakdown(
    browser: Callable[[], Browser], world: ResultsWorld
) -> None:
    client = signed_in(browser, world.org, "analyst")
    base = f"/console/results/{world.round_id}/areas/{world.big}"
    page = client.get(base)
    assert page.status_code == 200, page.text
    assert page.text.count('class="trend"') >= 2 and 'class="bar"' in page.text
    assert '<select id="by" name="by">' in page.text and 'value="aldersgrupp"' in page.text
    assert "breakdown-caption" not in page.text
    broken = client.get(f"{base}?by=aldersgrupp")
    assert broken.status_code == 200
    table = broken.text[broken.text.index('id="breakdown-caption"') :].split("</table>")[0]
    api = ok(
        world.api.get(
            f"/api/v1/rounds/{world.round_id}/results",
            params={"area_id": world.big, "by": "aldersgrupp"},
        )
    )
    groups = api["areas"][0]["indicators"][0]["breakdown"]
    first_row = table.split("<tbody>")[1].split("</tr>")[0]
    cells = re.findall(r'<td class="num">(.*?)</td>', first_row)
    assert len(cells) == len(groups) == len(api["breakdown_codes"])
    for cell, group in zip(cells, groups, strict=True):
        if group["suppressed"]:
            assert cell == "färre än 10"
        else:
            assert cell.startswith(formatting.percent(group["share"]["p"], "sv"))
    assert any(not g["suppressed"] for g in groups)
    # Not a background item: no breakdown, never an error.
    assert "breakdown-caption" not in client.get(f"{base}?by=trivsel").text
    small = client.get(f"/console/results/{world.round_id}/areas/{world.small}")
    assert small.status_code == 200
    assert "färre än 10" in small.text and 'class="bar" role="img"' not in small.text


def test_downloads_are_the_api_s_files_and_responses_are_for_admins(
    browser: Callable[[], Browser], world: ResultsWorld
) -> None:
    base = f"/console/results/{world.round_id}/exports"
    api = f"/api/v1/rounds/{world.round_id}/exports"
    admin = signed_in(browser, world.org, "admin")
    page = admin.get(f"/console/results/{world.round_id}").text
    for kind in ("results", "codebook", "responses"):
        for fmt in ("csv", "csv-excel", "xlsx"):
            assert f'href="{base}/{kind}?format={fmt}"' in page
    assert f'href="{base}/responses?format=csv&amp;include_text=1"' in page
    for path, query in (
        ("codebook", {"format": "csv-excel"}),
        ("results", {"format": "csv"}),
        ("responses", {"format": "csv"}),
    ):
        mine = admin.get(f"{base}/{path}", params=query)
        theirs = world.api.get(f"{api}/{path}", params=query)
        assert mine.status_code == theirs.status_code == 200
        assert mine.headers["content-disposition"] == theirs.headers["content-disposition"]
        assert mine.headers["content-type"] == theirs.headers["content-type"]
        if path == "results":  # the same rows; only the as_of instant differs
            assert without_as_of(mine.text) == without_as_of(theirs.text)
            assert len(without_as_of(mine.text)) > 10
        else:
            assert mine.content == theirs.content, path
    with_text = admin.get(f"{base}/responses", params={"format": "csv", "include_text": "1"})
    api_text = world.api.get(f"{api}/responses", params={"format": "csv", "include_text": "true"})
    assert with_text.content == api_text.content
    xlsx = admin.get(f"{base}/results", params={"format": "xlsx"})
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    assert admin.get(f"{base}/results", params={"format": "pdf"}).status_code == 404

    viewer = signed_in(browser, world.org, "viewer")
    page = viewer.get(f"/console/results/{world.round_id}").text
    assert f"{base}/responses" not in page and f'href="{base}/results?format=csv"' in page
    assert viewer.get(f"{base}/codebook").status_code == 200
    assert viewer.get(f"{base}/results").status_code == 200
    refused = viewer.get(f"{base}/responses", params={"include_text": "1"})
    assert refused.status_code == 403 and "text/html" in refused.headers["content-type"]


def test_a_share_link_made_in_the_console_opens_the_board_page(
    browser: Callable[[], Browser], world: ResultsWorld, console_server: LiveServer
) -> None:
    client = signed_in(browser, world.org, "analyst")
    page = client.get(f"/console/results/{world.round_id}").text
    assert "Delningslänkar" in page and "Inga delningslänkar har skapats" in page
    path = f"/console/results/{world.round_id}/share-links"
    made = client.post(
        path,
        data={
            "csrf_token": csrf_of(page),
            "area_id": str(world.big),
            "language": "sv",
            "days": "7",
        },
    )
    assert made.status_code == 200, made.text
    url = html.unescape(re.findall(r"<code>([^<]+)</code>", made.text)[0])
    assert url.startswith(f"{console_server.base_url}/reports/")
    assert "Giltig till" in made.text
    with httpx.Client(timeout=30) as anonymous:
        board = anonymous.get(url)
    assert board.status_code == 200 and "Area0" in board.text and "Nyckeltal" in board.text

    too_long = client.post(
        path, data={"csrf_token": csrf_of(page), "area_id": "", "language": "sv", "days": "1000"}
    )
    assert too_long.status_code == 422 and "/reports/" not in too_long.text
    assert 'aria-invalid="true"' in too_long.text
    forged = client.post(path, data={"csrf_token": "nope", "language": "sv", "days": "7"})
    assert forged.status_code == 403 and "/reports/" not in forged.text

    viewer = signed_in(browser, world.org, "viewer")
    viewer_page = viewer.get(f"/console/results/{world.round_id}").text
    assert "share-links" not in viewer_page
    refused = viewer.post(
        path, data={"csrf_token": csrf_of(viewer_page), "language": "sv", "days": "7"}
    )
    assert refused.status_code == 403 and "/reports/" not in refused.text


def test_share_links_are_listed_and_revoked_after_a_confirmation(
    browser: Callable[[], Browser], world: ResultsWorld, console_server: LiveServer
) -> None:
    client = signed_in(browser, world.org, "analyst")
    round_page = f"/console/results/{world.round_id}"
    token = csrf_of(client.get(round_page).text)
    made = client.post(
        f"{round_page}/share-links",
        data={"csrf_token": token, "area_id": str(world.big), "language": "en", "days": "7"},
    )
    url = html.unescape(re.findall(r"<code>([^<]+)</code>", made.text)[0])
    assert "återkalla den under Delningslänkar" in made.text
    api_made = ok(world.api.post(f"/api/v1/rounds/{world.round_id}/share-links", json={}), 201)

    page = client.get(round_page).text
    links = section(page, "share-links-title")
    assert "/reports/" not in links  # the URL is shown once, never listed
    assert "Area0" in links and "Alla områden" in links and "English" in links
    assert texts(links).count("Aktiv") == 2
    listed = ok(world.api.get(f"/api/v1/rounds/{world.round_id}/share-links"))["items"]
    console_made = next(link for link in listed if link["id"] != api_made["id"])
    assert console_made["created_by_staff_user_id"] is not None
    assert console_made["created_by_api_key_id"] is None
    revoke = f"{round_page}/share-links/{console_made['id']}/revoke"
    assert f'href="{revoke}"' in links

    # A confirmation first: the GET changes nothing.
    confirm = client.get(revoke)
    assert confirm.status_code == 200 and "Återkalla delningslänken?" in confirm.text
    assert 'class="danger"' in confirm.text and "Area0" in confirm.text
    with httpx.Client(timeout=30) as anonymous:
        assert anonymous.get(url).status_code == 200
        forged = client.post(revoke, data={"csrf_token": "nope"})
        assert forged.status_code == 403
        assert anonymous.get(url).status_code == 200
        viewer = signed_in(browser, world.org, "viewer")
        viewer_page = viewer.get(round_page).text
        assert "share-links-title" not in viewer_page
        assert viewer.get(revoke).status_code == 403
        assert viewer.post(revoke, data={"csrf_token": csrf_of(viewer_page)}).status_code == 403
        assert anonymous.get(url).status_code == 200

        done = client.post(revoke, data={"csrf_token": token}, follow_redirects=False)
        assert done.status_code == 303
        assert done.headers["location"].endswith(f"?revoked={console_made['id']}#share-links-title")
        after = client.get(done.headers["location"].split("#")[0]).text
        assert "Delningslänken är återkallad" in after
        links = texts(section(after, "share-links-title"))
        assert "Återkallad" in links and links.count("Aktiv") == 1
        board = anonymous.get(url)
        assert board.status_code == 404 and "återkallats" in board.text
        api_path = httpx.URL(api_made["url"]).path
        assert anonymous.get(f"{console_server.base_url}{api_path}").status_code == 200
    statuses = {
        link["id"]: link["status"]
        for link in ok(world.api.get(f"/api/v1/rounds/{world.round_id}/share-links"))["items"]
    }
    assert statuses == {console_made["id"]: "revoked", api_made["id"]: "active"}
    # Again: the confirmation says so, and a second POST changes nothing.
    assert "Länken är redan återkallad" in client.get(revoke).text
    assert client.post(revoke, data={"csrf_token": token}).status_code == 303


def make_compare_world(server: LiveServer, db: sessionmaker[Session]) -> ResultsWorld:
    """Like make_results_world with a third area between the two: the big area (20 answers,
    15 feel safe), a middle one (12, 4 feel safe) and a small one (3, not shown)."""
    org = make_staff_org(db)
    api = _api(server, db, org.id)
    made = open_round(api, n_areas=3)
    big, middle, small = made.area_ids
    _upload(api, made.id, big, [SAFE] * 15 + [UNSAFE] * 5)
    _upload(api, made.id, middle, [SAFE] * 4 + [UNSAFE] * 8)
    _upload(api, made.id, small, [SAFE] * 3)
    return ResultsWorld(org, api, made.id, big, small)


def _compare_rows(page: str) -> list[tuple[int, str, list[str]]]:
    """The comparison table's area rows: (area id, name, the cells' texts)."""
    table = page[page.index('id="compare-caption"') :].split("</table>")[0]
    body = table.split("<tbody>")[1].split("</tbody>")[0]
    rows = re.findall(r'/areas/(\d+)">(.*?)</a></th>(.*?)</tr>', body, re.S)
    return [(int(area), name, _figure_cells(cells)) for area, name, cells in rows]


def _figure_cells(row: str) -> list[str]:
    """A row's value, interval and n as shown (the interval sits under the value), or the
    suppressed cell's text alone."""
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row)
    if len(cells) == 1:
        return [texts(cells[0]).strip()]
    value = re.findall(r'<span class="value">(.*?)</span>', cells[0])[0]
    interval = re.findall(r'<span class="base interval">(.*?)</span>', cells[0])[0]
    return [value, interval, texts(cells[1]).strip()]


def _reference_row(page: str) -> list[str]:
    table = page[page.index('id="compare-caption"') :].split("</table>")[0]
    return _figure_cells(table.split("<tfoot>")[1].split("</tfoot>")[0])


def _expected(figure: dict[str, Any] | None, n: int | None, kind: str) -> list[str]:
    """The cells the console should show for an API figure: value, interval, n."""
    if figure is None:
        return ["färre än 10"]
    if kind == "share":
        return [
            formatting.percent(figure["p"], "sv"),
            formatting.percent_range(figure["low"], figure["high"], "sv"),
            formatting.number(n or 0, "sv"),
        ]
    value = figure["index"]
    interval = (
        "–"
        if figure["low"] is None
        else formatting.number_range(figure["low"], figure["high"], "sv")
    )
    return [formatting.number(value, "sv"), interval, formatting.number(n or 0, "sv")]


@pytest.mark.parametrize(
    ("target", "query", "kind"),
    [
        ("indicator:andel_otrygga_kvall", {"indicator": "andel_otrygga_kvall"}, "share"),
        ("index:trygghetsindex", {"index": "trygghetsindex"}, "index"),
        ("item:trivsel", {"item": "trivsel"}, "share"),
    ],
)
def test_compare_page_shows_the_api_s_figures_sorted_with_the_organisation(
    browser: Callable[[], Browser],
    server: LiveServer,
    db: sessionmaker[Session],
    target: str,
    query: dict[str, str],
    kind: str,
) -> None:
    world = make_compare_world(server, db)
    try:
        client = signed_in(browser, world.org, "viewer")
        round_page = client.get(f"/console/results/{world.round_id}").text
        assert f'href="/console/results/{world.round_id}/compare"' in round_page
        page = client.get(f"/console/results/{world.round_id}/compare", params={"target": target})
        assert page.status_code == 200, page.text
        assert 'class="intervals"' in page.text and "<script" not in page.text
        api = ok(world.api.get(f"/api/v1/rounds/{world.round_id}/results", params=query))
        (key,) = query.values()
        section_name = {"indicator": "indicators", "index": "indices", "item": "items"}[
            next(iter(query))
        ]

        def figure_of(cell: dict[str, Any]) -> dict[str, Any] | None:
            if cell["suppressed"]:
                return None
            found: dict[str, Any] = cell.get("share") or cell.get("favourable") or cell["index"]
            return found

        expected = {}
        for area in api["areas"]:
            cell = next(c for c in area[section_name] if c["key"] == key)
            expected[area["area_id"]] = _expected(figure_of(cell), cell["n"], kind)
        rows = _compare_rows(page.text)
        assert {area for area, _name, _cells in rows} == set(expected)
        for area, _name, cells in rows:
            assert cells == expected[area], (area, cells, expected[area])
        # Sorted by the figure, highest first; the suppressed area last, with no number at all.
        assert rows[-1][0] == world.small and rows[-1][2] == ["färre än 10"]
        shown = [
            next(c for c in a[section_name] if c["key"] == key)
            for a in sorted(api["areas"], key=lambda a: [r[0] for r in rows].index(a["area_id"]))
        ][:2]
        values = [figure_of(c) for c in shown]
        estimates = [v.get("p", v.get("index")) for v in values if v is not None]
        assert len(estimates) == 2 and estimates == sorted(estimates, reverse=True)
        small_row = page.text.split(f'/areas/{world.small}"')[1].split("</th>")[1].split("</tr>")[0]
        assert not re.search(r"\d", texts(small_row).replace("10", ""))
        # The organisation as the reference row, and the pooled figure in the chart's line.
        organisation = next(p for p in api["pooled"] if p["kind"] == "organisation")
        pooled = next(c for c in organisation[section_name] if c["key"] == key)
        reference = _reference_row(page.text)
        assert reference == _expected(figure_of(pooled), pooled["n"], kind)
        assert "Alla områden (jämförelse)" in page.text
        english = client.get(
            f"/console/results/{world.round_id}/compare", params={"target": target, "lang": "en"}
        )
        assert english.status_code == 200 and "All areas (reference)" in english.text
    finally:
        world.api.close()


def test_compare_page_refuses_an_unknown_target_and_defaults_to_the_first(
    browser: Callable[[], Browser], world: ResultsWorld
) -> None:
    client = signed_in(browser, world.org, "viewer")
    path = f"/console/results/{world.round_id}/compare"
    first = client.get(path)
    assert first.status_code == 200
    assert re.search(r'<option value="indicator:[a-z_]+" selected>', first.text)
    assert 'id="compare-caption"' in first.text
    for bad in (
        "indicator:nope",
        "nonsense",
        "",
        "item:fritext_plats",  # free text has no figure
        "item:aldersgrupp",  # a background question is for breakdowns
        "index:andel_otrygga_kvall",  # an indicator's key as an index
        "indicator:" + "x" * 5000,
        "indicator:\x00",
    ):
        refused = client.get(path, params={"target": bad})
        assert refused.status_code == 400, bad
        assert "text/html" in refused.headers["content-type"]
        assert "Enkäten för den här mätomgången har inget sådant" in refused.text
        assert 'aria-invalid="true"' in refused.text
        assert 'id="compare-caption"' not in refused.text and "%" not in texts(
            refused.text.split("<main")[1]
        )


RESULTS_ROUTES = (
    ("GET", "/console/results/{round_id}"),
    ("GET", "/console/results/{round_id}/compare"),
    ("GET", "/console/results/{round_id}/areas/{area_id}"),
    ("GET", "/console/results/{round_id}/exports/results"),
    ("GET", "/console/results/{round_id}/exports/codebook"),
    ("GET", "/console/results/{round_id}/exports/responses"),
    ("POST", "/console/results/{round_id}/share-links"),
    ("GET", "/console/results/{round_id}/share-links/{share_link_id}/revoke"),
    ("POST", "/console/results/{round_id}/share-links/{share_link_id}/revoke"),
)


def test_another_organisations_round_and_area_are_like_missing_ones(
    browser: Callable[[], Browser],
    world: ResultsWorld,
    server: LiveServer,
    db: sessionmaker[Session],
) -> None:
    theirs = make_results_world(server, db)
    try:
        client = signed_in(browser, world.org, "admin")
        token = csrf_of(client.get(f"/console/results/{world.round_id}").text)
        missing = 2_000_000_000
        mine = ok(world.api.post(f"/api/v1/rounds/{world.round_id}/share-links", json={}), 201)
        their_link = ok(
            theirs.api.post(f"/api/v1/rounds/{theirs.round_id}/share-links", json={}), 201
        )
        for method, template in RESULTS_ROUTES:
            probes = [
                (theirs.round_id, world.big),  # their round
                (missing, world.big),
                ("abc", world.big),
            ]
            if "{area_id}" in template:
                probes += [
                    (world.round_id, theirs.big),  # my round, their area
                    (world.round_id, missing),
                    (world.round_id, "abc"),
                ]
            if "{share_link_id}" in template:
                probes = [
                    (theirs.round_id, mine["id"]),  # their round, my link
                    (missing, mine["id"]),
                    ("abc", mine["id"]),
                    (world.round_id, their_link["id"]),  # my round, their link
                    (world.round_id, missing),
                    (world.round_id, "abc"),
                ]
            answers = [
                client.request(
                    method,
                    template.format(round_id=r, area_id=a, share_link_id=a),
                    data={"csrf_token": token, "area_id": str(theirs.big), "language": "sv"}
                    if method == "POST"
                    else None,
                )
                for r, a in probes
            ]
            assert {a.status_code for a in answers} == {404}, (method, template)
            bodies = {
                re.sub(r"\d+|abc", "ID", a.text.split("<main")[1].split("</main>")[0])
                for a in answers
            }
            assert len(bodies) == 1, (method, template)
            assert "Här finns ingenting" in answers[0].text
        # My round, their area: no share link either.
        refused = client.post(
            f"/console/results/{world.round_id}/share-links",
            data={"csrf_token": token, "area_id": str(theirs.big), "language": "sv", "days": "7"},
        )
        assert refused.status_code == 404 and "/reports/" not in refused.text
        # Their link still opens; nobody here revoked it.
        statuses = ok(theirs.api.get(f"/api/v1/rounds/{theirs.round_id}/share-links"))["items"]
        assert [link["status"] for link in statuses] == ["active"]
    finally:
        theirs.api.close()
