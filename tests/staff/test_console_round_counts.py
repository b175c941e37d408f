"""The console's round totals follow small-cell suppression like the API (on both databases):
a round with a big area (20 answers) and a small one (3) shows "färre än 10" for its responses
on the Results list, the Rounds list and the round's page, never 23 (23 − 20 would give the
small area's 3); once the small area has 15 the total, 35, shows everywhere."""

import html
import re
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import LiveServer
from tests.helpers import full_answers, ok
from tests.results.support import upload
from tests.staff.conftest import Browser
from tests.staff.test_console_results import ResultsWorld, make_results_world, signed_in

_TAG = re.compile(r"<[^>]+>")
FEWER = "färre än 10"


@pytest.fixture
def world(server: LiveServer, db: sessionmaker[Session]) -> Iterator[ResultsWorld]:
    made = make_results_world(server, db)
    yield made
    made.api.close()


def _row(page: str, href: str) -> str:
    """The text of the table row linking to href."""
    at = page.index(f'href="{href}"')
    start, end = page.rindex("<tr", 0, at), page.index("</tr>", at)
    return " ".join(html.unescape(_TAG.sub(" ", page[start:end])).split())


def _responses_fact(page: str) -> str:
    """The round page's Responses fact ("Svar")."""
    match = re.search(r"<dt>Svar</dt><dd>(.*?)</dd>", page)
    assert match is not None, page
    return html.unescape(_TAG.sub("", match.group(1)))


def _pages(client: Browser, round_id: int) -> tuple[str, str, str]:
    results = client.get("/console/results")
    rounds = client.get("/console/rounds")
    one = client.get(f"/console/rounds/{round_id}")
    assert (results.status_code, rounds.status_code, one.status_code) == (200, 200, 200)
    return (
        _row(results.text, f"/console/results/{round_id}"),
        _row(rounds.text, f"/console/rounds/{round_id}"),
        _responses_fact(one.text),
    )


def test_a_total_that_would_give_a_small_area_is_fewer_than_k_on_every_page(
    browser: Callable[[], Browser], world: ResultsWorld
) -> None:
    client = signed_in(browser, world.org, "viewer")
    api_round = ok(world.api.get(f"/api/v1/rounds/{world.round_id}"))
    assert (api_round["response_count"], api_round["response_count_suppressed"]) == (None, True)
    results_row, rounds_row, fact = _pages(client, world.round_id)
    assert FEWER in results_row and "23" not in results_row
    # Responses, then code answers waiting (none: 0 is a small cell too), then area links.
    assert rounds_row.endswith(f" {FEWER} {FEWER} på") and "23" not in rounds_row
    assert fact == FEWER
    # None of the round's code answers wait: 0 is a small cell, shown like 1 to 9.
    facts = client.get(f"/console/results/{world.round_id}").text.split('id="areas-nav-title"')[0]
    assert re.search(r"<dt>Kodsvar som väntar</dt><dd>färre än 10</dd>", facts)

    upload(world.api, world.round_id, world.small, [full_answers()] * 12)
    results_row, rounds_row, fact = _pages(client, world.round_id)
    assert results_row.endswith(" 35") and FEWER not in results_row
    assert rounds_row.endswith(f" 35 {FEWER} på")
    assert fact == "35"
