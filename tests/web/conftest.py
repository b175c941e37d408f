"""Fixtures for the tenant web form: an open round with area links and invitation codes."""

from collections.abc import Iterator
from dataclasses import dataclass
from uuid import uuid4

import httpx
import pytest

from survey_api.web import tokens
from tests.conftest import LiveServer, Org
from tests.helpers import OpenRound, ok, open_round


@dataclass
class Survey:
    """An open round of the standard questionnaire, as a tenant reaches it."""

    round: OpenRound
    area_links: dict[int, str]  # area id -> path of its area link

    @property
    def area_id(self) -> int:
        return self.round.area_ids[0]

    @property
    def link(self) -> str:
        return self.area_links[self.area_id]


def area_path(server: LiveServer, round_id: int, area_id: int) -> str:
    return "/r/" + tokens.area_slug(server.settings, round_id, area_id)


def issue_codes(org: Org, round_id: int, area_id: int, count: int = 2) -> list[str]:
    issued = ok(
        org.analyst.post(
            f"/api/v1/rounds/{round_id}/invitations", json={"area_id": area_id, "count": count}
        ),
        201,
    )
    return [c["code"] for c in issued["codes"]]


@pytest.fixture
def survey(org: Org, server: LiveServer) -> Survey:
    r = open_round(org.analyst)
    return Survey(round=r, area_links={a: area_path(server, r.id, a) for a in r.area_ids})


@pytest.fixture
def tenant(server: LiveServer) -> Iterator[httpx.Client]:
    """A tenant's browser without JavaScript: no credentials, no redirects followed."""
    with httpx.Client(base_url=server.base_url, timeout=30, follow_redirects=False) as client:
        yield client


def another_round(
    org: Org, version_id: int, *, closed: bool = False, opens_in_days: int = 0, code: str = "other"
) -> OpenRound:
    """A further round of an already published version, over a new area."""
    from datetime import date, timedelta

    from tests.helpers import create_area

    area = create_area(org.analyst, f"{code}{uuid4().hex[:6]}")
    opens = date.today() + timedelta(days=opens_in_days - (10 if opens_in_days <= 0 else 0))
    body = {
        "name": code,
        "questionnaire_version_id": version_id,
        "period": "2026",
        "area_ids": [area["id"]],
        "open_date": opens.isoformat(),
        "close_date": (opens + timedelta(days=40)).isoformat(),
    }
    created = ok(org.analyst.post("/api/v1/rounds", json=body), 201)
    if closed:
        ok(org.analyst.post(f"/api/v1/rounds/{created['id']}/close"))
    return OpenRound(id=created["id"], version_id=version_id, area_ids=created["area_ids"])
