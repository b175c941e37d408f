"""Area links can be answered more than once; they are bounded and made visible, not hidden.

Per-client limits on link answers and code look-ups (a 429 page in the tenant's language, with
Retry-After, and nothing stored), a round setting that turns area links off, the way in stored
with each answer, and burst days flagged for the admin. Nothing that identifies a client is
kept: not in the database, and in memory only as a keyed hash.
"""

from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session, sessionmaker

from survey_api.models import Response
from survey_api.rounds.service import today
from survey_api.web.throttle import FormThrottle
from tests.conftest import LiveServer, Org, serve, settings_for
from tests.helpers import full_answers, ok, open_round
from tests.web.conftest import Survey, another_round, area_path, issue_codes
from tests.web.pages import complete, post

LINK_LIMIT = 3


@pytest.fixture
def strict_server(database_url: str) -> Iterator[LiveServer]:
    """A second server on the same database, with small per-client limits (fresh counters)."""
    settings = settings_for(
        database_url,
        form_link_answer_limit=f"{LINK_LIMIT}/hour",
        form_code_attempt_limit="5/minute",
    )
    with serve(settings) as live:
        yield live


@pytest.fixture
def strict_tenant(strict_server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=strict_server.base_url, timeout=30) as client:
        yield client


def link_answers(db: sessionmaker[Session], round_id: int) -> int:
    with db() as session:
        return len(
            session.scalars(
                select(Response.id).where(
                    Response.survey_round_id == round_id, Response.entry == "link"
                )
            ).all()
        )


def test_link_answers_beyond_the_limit_get_a_429_page_and_store_nothing(
    org: Org, strict_server: LiveServer, strict_tenant: httpx.Client, db: sessionmaker[Session]
) -> None:
    r = open_round(org.analyst)
    link = area_path(strict_server, r.id, r.area_ids[0])
    for _ in range(LINK_LIMIT):
        sent, _ = complete(strict_tenant, strict_tenant.get(link), full_answers())
        assert sent.status_code == 303, sent.text
    refused, _ = complete(strict_tenant, strict_tenant.get(link), full_answers())
    assert refused.status_code == 429
    assert "För många svar från den här uppkopplingen" in refused.text
    assert 0 < int(refused.headers["Retry-After"]) <= 3600
    assert refused.headers["Content-Security-Policy"]  # a tenant page like any other
    assert link_answers(db, r.id) == LINK_LIMIT

    # In Arabic, right to left, for an Arabic-speaking tenant.
    arabic = {"Accept-Language": "ar"}
    refused_ar, _ = complete(
        strict_tenant, strict_tenant.get(link, headers=arabic), full_answers(), headers=arabic
    )
    assert refused_ar.status_code == 429
    assert 'dir="rtl"' in refused_ar.text and "إجابات كثيرة جدًا" in refused_ar.text
    assert link_answers(db, r.id) == LINK_LIMIT

    # The limit is per round: another round's poster still works from the same connection.
    other = another_round(org, r.version_id)
    sent, _ = complete(
        strict_tenant,
        strict_tenant.get(area_path(strict_server, other.id, other.area_ids[0])),
        full_answers(),
    )
    assert sent.status_code == 303


def test_codes_are_not_limited_by_the_link_limit(
    org: Org, strict_server: LiveServer, strict_tenant: httpx.Client, db: sessionmaker[Session]
) -> None:
    r = open_round(org.analyst)
    codes = issue_codes(org, r.id, r.area_ids[0], LINK_LIMIT + 1)
    for code in codes:
        sent, _ = complete(strict_tenant, strict_tenant.get(f"/i/{code}"), full_answers())
        assert sent.status_code == 303, sent.text


def test_code_look_ups_are_limited_per_client(strict_server: LiveServer) -> None:
    with httpx.Client(base_url=strict_server.base_url, timeout=30) as client:
        statuses = [client.get("/i/ACDEFHJKMNPQ").status_code for _ in range(5)]
        assert statuses == [404] * 5
        refused = client.get("/i/ACDEFHJKMNPQ", headers={"Accept-Language": "en"})
        assert refused.status_code == 429
        assert "Too many answers from this connection" in refused.text
        assert int(refused.headers["Retry-After"]) >= 1
        assert client.post("/code", data={"code": "ACDE-FHJK-MNPQ"}).status_code == 429


def test_a_round_can_turn_its_area_links_off(
    org: Org, survey: Survey, tenant: httpx.Client, db: sessionmaker[Session]
) -> None:
    started = tenant.get(survey.link)
    assert started.status_code == 200
    page = post(tenant, started, action="start")
    body = ok(
        org.analyst.patch(f"/api/v1/rounds/{survey.round.id}", json={"area_links_enabled": False})
    )
    assert body["area_links_enabled"] is False
    off = tenant.get(survey.link)
    assert off.status_code == 410
    assert "Länken används inte längre" in off.text and 'href="/code"' in off.text
    # A form opened before the switch cannot be sent through the link either.
    sent, _ = complete(tenant, started, full_answers())
    assert sent.status_code == 410
    assert page.status_code == 200
    assert link_answers(db, survey.round.id) == 0
    # Codes keep working.
    code = issue_codes(org, survey.round.id, survey.area_id, 1)[0]
    sent, _ = complete(tenant, tenant.get(f"/i/{code}"), full_answers())
    assert sent.status_code == 303
    # And links come back when turned on again.
    ok(org.analyst.patch(f"/api/v1/rounds/{survey.round.id}", json={"area_links_enabled": True}))
    sent, _ = complete(tenant, tenant.get(survey.link), full_answers())
    assert sent.status_code == 303
    assert link_answers(db, survey.round.id) == 1


def test_a_round_created_without_area_links(
    org: Org, server: LiveServer, tenant: httpx.Client
) -> None:
    r = open_round(org.analyst)
    body = ok(
        org.analyst.post(
            "/api/v1/rounds",
            json={
                "name": "Endast brev",
                "questionnaire_version_id": r.version_id,
                "period": "2026-H2",
                "area_ids": r.area_ids,
                "open_date": today().isoformat(),
                "close_date": (today() + timedelta(days=9)).isoformat(),
                "area_links_enabled": False,
            },
        ),
        201,
    )
    assert body["area_links_enabled"] is False
    assert tenant.get(area_path(server, body["id"], r.area_ids[0])).status_code == 410


def test_the_client_is_known_only_by_a_keyed_hash() -> None:
    one = FormThrottle(link_answers="1/hour", code_attempts="1/minute")
    two = FormThrottle(link_answers="1/hour", code_attempts="1/minute")
    assert "203.0.113.9" not in one._client("203.0.113.9")
    # The key is random per process: the same address is a different counter elsewhere, and
    # the counters cannot be tested against guessed addresses without the key.
    assert one._client("203.0.113.9") != two._client("203.0.113.9")
    assert one.link_answer("203.0.113.9", 1).allowed
    assert not one.link_answer("203.0.113.9", 1).allowed
    assert one.link_answer("203.0.113.10", 1).allowed


def test_nothing_about_the_client_reaches_the_database(
    survey: Survey, tenant: httpx.Client, db: sessionmaker[Session], backend: str
) -> None:
    complete(tenant, tenant.get(survey.link, headers={"User-Agent": "Telefon/1.0"}), full_answers())
    dump_tables = ("response", "pending_response", "form_token_use", "invitation")
    with db() as session:
        for table in dump_tables:
            rows = session.execute(text(f"SELECT * FROM {table}")).all()  # noqa: S608
            flat = " ".join(map(str, rows))
            assert "127.0.0.1" not in flat and "Telefon" not in flat, table


def test_the_admin_sees_answers_per_way_in_and_burst_days(
    org: Org, db: sessionmaker[Session]
) -> None:
    ok(org.admin.patch("/api/v1/organisation", json={"min_cell_size": 5}))
    r = open_round(org.analyst, n_areas=2)
    quiet, busy = r.area_ids
    burst_day = today() - timedelta(days=2)
    rows = []
    # busy: a trickle of link answers on most days, then 40 on one day; 12 by code, 6 by API.
    for d in range(10):
        rows += [(busy, "link", today() - timedelta(days=d))] * (40 if d == 2 else 1)
    rows += [(busy, "code", today())] * 12 + [(busy, "api", today())] * 6
    # quiet: 8 code answers and 2 link answers (below 5: hidden, and then the next smallest).
    rows += [(quiet, "code", today())] * 8 + [(quiet, "link", today())] * 2
    with db() as session:
        session.execute(
            insert(Response),
            [
                {
                    "survey_round_id": r.id,
                    "area_id": area,
                    "language": "sv",
                    "channel": "web" if entry != "api" else "paper",
                    "entry": entry,
                    "submitted_date": day,
                    "answers": {"trivsel": 4},
                }
                for area, entry, day in rows
            ],
        )
        session.commit()
    ok(org.analyst.get(f"/api/v1/rounds/{r.id}/results/entries"), 403)
    body = ok(org.admin.get(f"/api/v1/rounds/{r.id}/results/entries"))
    areas = {a["area_id"]: a for a in body["areas"]}
    assert areas[busy] == {
        "area_id": busy,
        "suppressed": False,
        "code": 12,
        "link": 49,
        "api": 6,
        "link_burst_days": [burst_day.isoformat()],
    }
    # 2 link answers are below 5 and the 0 API answers too; together (2) they would follow
    # from 10 - 8, so code is hidden as well.
    assert areas[quiet] == {
        "area_id": quiet,
        "suppressed": False,
        "code": None,
        "link": None,
        "api": None,
        "link_burst_days": [],
    }
    assert body["min_cell_size"] == 5 and "median" in body["burst_rule"]
