"""The overview's responses per day (all areas of an open round), over HTTP on both databases:
days below the minimum cell size show "färre än N" the same whatever their count (0 included),
one more day is hidden when the hidden ones could be worked out, the peak day is said in words,
and code answers still waiting are said to be on no day yet."""

import re
import uuid
from collections.abc import Callable
from datetime import date, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from survey_api.models import PendingResponse, Response
from survey_api.reports import activity
from tests.conftest import LiveServer
from tests.helpers import ok, open_round
from tests.staff.conftest import Browser, make_staff_org
from tests.staff.test_console_results import SAFE, _api, signed_in, texts


def _days_table(page: str, round_id: int) -> dict[str, str]:
    table = page[page.index(f'id="round-{round_id}-days-caption"') :].split("</table>")[0]
    rows = re.findall(r'<time datetime="([\d-]+)">.*?<td class="num">(.*?)</td>', table)
    return dict(rows)


def test_responses_per_day_are_suppressed_like_a_breakdown(
    browser: Callable[[], Browser], server: LiveServer, db: sessionmaker[Session]
) -> None:
    org = make_staff_org(db)
    api = _api(server, db, org.id)
    made = open_round(api, n_areas=1)
    body = {
        "responses": [
            {"area_id": made.area_ids[0], "language": "sv", "channel": "paper", "answers": SAFE}
        ]
        * 30
    }
    headers = {"Idempotency-Key": uuid.uuid4().hex}
    ok(api.post(f"/api/v1/rounds/{made.id}/responses/bulk", json=body, headers=headers), 201)
    api.close()
    today = date.today()
    with db() as session:
        ids = list(
            session.scalars(
                select(Response.id).where(Response.survey_round_id == made.id).order_by(Response.id)
            )
        )
        for chosen, day in (
            (ids[:12], today - timedelta(days=3)),
            (ids[12:23], today - timedelta(days=2)),
        ):
            session.execute(
                update(Response).where(Response.id.in_(chosen)).values(submitted_date=day)
            )
        session.commit()
        # 12 three days ago, 11 two days ago, 7 today, none on the other 8 days. The zero days
        # and today (7) are hidden; together 7 < 10 could be worked out, so the smaller shown
        # day (11) is hidden as well; only the 12 shows.
        found = activity.round_activity(session, org.id, made.id)
    shown = {d.day: d.responses for d in found.days if d.responses is not None}
    assert shown == {today - timedelta(days=3): 12}
    assert len(found.days) == 11 and found.days[-1].day == today

    client = signed_in(browser, org, "viewer")
    page = client.get("/console/").text
    assert 'class="sparkline"' in page and "<script" not in page
    days = _days_table(page, made.id)
    assert len(days) == 11
    assert days[(today - timedelta(days=3)).isoformat()] == "12"
    assert {v for k, v in days.items() if k != (today - timedelta(days=3)).isoformat()} == {
        "färre än 10"
    }
    words = texts(page)
    assert "Flest på en dag: 12 svar" in words
    assert "11" not in "".join(days.values()) and ">7<" not in page


def test_a_round_with_few_answers_shows_no_day_and_waiting_code_answers_are_told(
    browser: Callable[[], Browser], server: LiveServer, db: sessionmaker[Session]
) -> None:
    org = make_staff_org(db)
    api = _api(server, db, org.id)
    made = open_round(api, n_areas=1)
    body = {
        "responses": [
            {"area_id": made.area_ids[0], "language": "sv", "channel": "paper", "answers": SAFE}
        ]
        * 25
    }
    ok(
        api.post(
            f"/api/v1/rounds/{made.id}/responses/bulk",
            json=body,
            headers={"Idempotency-Key": uuid.uuid4().hex},
        ),
        201,
    )
    api.close()

    def wait(count: int) -> None:
        with db() as session:
            for _ in range(count):
                session.add(
                    PendingResponse(
                        survey_round_id=made.id,
                        area_id=made.area_ids[0],
                        language="sv",
                        channel="web",
                        answers=SAFE,
                    )
                )
            session.commit()

    client = signed_in(browser, org, "analyst")
    # 3 waiting in a one-area round is a small cell: "fewer than 10", like 0 would be.
    wait(3)
    words = texts(client.get("/console/").text)
    assert "Kodsvar som väntar: färre än 10" in words
    assert "kodsvar väntar fortfarande" not in words and "3 kodsvar" not in words
    wait(9)
    page = client.get("/console/").text
    # All 25 came today and every other day had none: showing today's 25 would tell that the
    # hidden days add up to 0, so no day shows a figure.
    days = _days_table(page, made.id)
    assert set(days.values()) == {"färre än 10"}
    words = texts(page)
    assert "Ingen dag visar någon siffra ännu" in words
    assert "12 kodsvar väntar fortfarande och finns inte på någon dag ännu" in words
    english = client.get("/console/?lang=en").text
    assert "12 code answers are still waiting" in texts(english)
    assert "Responses per day, all areas" in english
