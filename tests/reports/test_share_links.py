"""Stored share links over the API, on both databases: a link is listed (never with its URL),
revoked one by one (its page then answers 404 saying so), revoking again is a harmless 204,
another organisation can neither list nor revoke, and tokens without a stored id never open."""

from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy.orm import Session, sessionmaker

from survey_api.models import ShareLink
from survey_api.reports import share
from tests.conftest import TEST_SECRET, Org
from tests.helpers import ok, open_round

SAFE = {"trygg_ute_kvall": 1, "trivsel": 4, "utsatt_brott_12m": [6], "trygg_bostad": 1}


def _round_with_answers(org: Org) -> tuple[int, int]:
    made = open_round(org.analyst, n_areas=2)
    body = {
        "responses": [
            {"area_id": made.area_ids[0], "language": "sv", "channel": "paper", "answers": SAFE}
        ]
        * 12
    }
    ok(
        org.integrator.post(
            f"/api/v1/rounds/{made.id}/responses/bulk",
            json=body,
            headers={"Idempotency-Key": "share-links"},
        ),
        201,
    )
    return made.id, made.area_ids[0]


def _path(url: str) -> str:
    return httpx.URL(url).path


def test_links_are_listed_without_urls_and_revoked_one_by_one(
    org: Org, anonymous: httpx.Client, db: sessionmaker[Session]
) -> None:
    round_id, area_id = _round_with_answers(org)
    base = f"/api/v1/rounds/{round_id}/share-links"
    first = ok(org.analyst.post(base, json={"area_id": area_id, "language": "sv"}), 201)
    second = ok(org.analyst.post(base, json={"language": "en", "expires_in_days": 3}), 201)
    assert isinstance(first["id"], int) and first["id"] != second["id"]
    assert anonymous.get(_path(first["url"])).status_code == 200

    listed = ok(org.analyst.get(base))
    assert listed["total"] == 2 and listed["next"] is None
    assert [link["id"] for link in listed["items"]] == [second["id"], first["id"]]  # newest first
    by_id = {link["id"]: link for link in listed["items"]}
    assert by_id[first["id"]]["status"] == "active"
    assert by_id[first["id"]]["area_id"] == area_id and by_id[second["id"]]["area_id"] is None
    assert by_id[second["id"]]["language"] == "en"
    assert by_id[first["id"]]["revoked_at"] is None
    assert by_id[first["id"]]["expires_at"].endswith("Z")
    assert by_id[first["id"]]["created_by_api_key_id"] is not None
    assert "url" not in by_id[first["id"]]
    token = _path(first["url"]).rsplit("/", 1)[1]
    assert token not in org.analyst.get(base).text

    revoked = org.analyst.delete(f"{base}/{first['id']}")
    assert revoked.status_code == 204 and revoked.content == b""
    page = anonymous.get(_path(first["url"]))
    assert page.status_code == 404
    assert "This link has been revoked" in page.text and "återkallats" in page.text
    assert page.headers["content-type"].startswith("text/html")
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert anonymous.get(_path(second["url"])).status_code == 200  # the other one still opens

    listed = {link["id"]: link for link in ok(org.analyst.get(base))["items"]}
    assert listed[first["id"]]["status"] == "revoked"
    first_revoked_at = listed[first["id"]]["revoked_at"]
    assert first_revoked_at is not None
    assert listed[second["id"]]["status"] == "active"

    # Revoking again is idempotent: 204, and the first revocation time stays.
    assert org.analyst.delete(f"{base}/{first['id']}").status_code == 204
    again = {link["id"]: link for link in ok(org.analyst.get(base))["items"]}
    assert again[first["id"]]["revoked_at"] == first_revoked_at

    # Paging as everywhere: limit, offset, next and the Link header.
    paged = org.analyst.get(base, params={"limit": 1})
    body = ok(paged)
    assert len(body["items"]) == 1 and body["total"] == 2 and body["next"] is not None
    assert 'rel="next"' in paged.headers["link"]
    assert org.analyst.get(base, params={"limit": 0}).status_code == 422

    with db() as session:
        stored = session.get(ShareLink, first["id"])
        assert stored is not None and stored.revoked_at is not None
        assert stored.organisation_id == org.id and stored.language == "sv"


def test_expired_links_are_listed_as_expired(
    org: Org, anonymous: httpx.Client, db: sessionmaker[Session]
) -> None:
    round_id, _ = _round_with_answers(org)
    base = f"/api/v1/rounds/{round_id}/share-links"
    made = ok(org.analyst.post(base, json={}), 201)
    with db() as session:
        stored = session.get(ShareLink, made["id"])
        assert stored is not None
        stored.expires_at = datetime.now(UTC) - timedelta(minutes=1)
        session.commit()
    listed = ok(org.analyst.get(base))["items"]
    assert listed[0]["status"] == "expired"
    # The token's own expiry has not passed; the stored one has, and it decides.
    page = anonymous.get(_path(made["url"]))
    assert page.status_code == 404 and "expired" in page.text


def test_roles_and_other_organisations(
    org: Org,
    make_org,
    anonymous: httpx.Client,  # type: ignore[no-untyped-def]
) -> None:
    round_id, _ = _round_with_answers(org)
    base = f"/api/v1/rounds/{round_id}/share-links"
    made = ok(org.analyst.post(base, json={}), 201)
    other = make_org()
    theirs_round, _ = _round_with_answers(other)
    theirs = ok(other.analyst.post(f"/api/v1/rounds/{theirs_round}/share-links", json={}), 201)

    # Their round, or my round and their link: the same 404 as a missing one.
    missing = other.analyst.get("/api/v1/rounds/2000000000/share-links")
    foreign = other.analyst.get(base)
    assert missing.status_code == foreign.status_code == 404
    assert missing.json()["title"] == foreign.json()["title"]
    for probe in (
        f"{base}/{theirs['id']}",  # my round, their link
        f"/api/v1/rounds/{theirs_round}/share-links/{made['id']}",  # their round, my link
        f"{base}/2000000000",
    ):
        answer = org.analyst.delete(probe)
        assert answer.status_code == 404, probe
        assert answer.headers["content-type"].startswith("application/problem+json")
    refused = other.analyst.delete(f"{base}/{made['id']}")
    assert refused.status_code == 404
    assert anonymous.get(_path(made["url"])).status_code == 200
    assert anonymous.get(_path(theirs["url"])).status_code == 200
    # Garbage ids are a precise 422, never a 500.
    assert org.analyst.delete(f"{base}/abc").status_code == 422
    assert org.analyst.delete(f"{base}/0").status_code == 422

    # Integrators read results but do not share or revoke.
    assert org.integrator.get(base).status_code == 403
    assert org.integrator.delete(f"{base}/{made['id']}").status_code == 403
    assert anonymous.get(base).status_code == 401


def test_tokens_without_a_stored_link_do_not_open(org: Org, anonymous: httpx.Client) -> None:
    round_id, area_id = _round_with_answers(org)
    made = ok(org.analyst.post(f"/api/v1/rounds/{round_id}/share-links", json={}), 201)
    # A token signed before links were stored had no id: it is refused as not valid.
    legacy = share._serializer(TEST_SECRET).dumps(
        {
            "o": org.id,
            "r": round_id,
            "a": None,
            "l": "sv",
            "e": int((datetime.now(UTC) + timedelta(days=1)).timestamp()),
        }
    )
    page = anonymous.get(f"/reports/{legacy}")
    assert page.status_code == 404 and "not valid" in page.text
    # A genuine signature over another link's id, or over an edited area, does not open.
    for grant in (
        share.ShareGrant(
            share_link_id=made["id"] + 1000,
            organisation_id=org.id,
            survey_round_id=round_id,
            area_id=None,
            language="sv",
            expires_at=datetime.now(UTC) + timedelta(days=1),
        ),
        share.ShareGrant(
            share_link_id=made["id"],
            organisation_id=org.id,
            survey_round_id=round_id,
            area_id=area_id,
            language="sv",
            expires_at=datetime.now(UTC) + timedelta(days=1),
        ),
    ):
        answer = anonymous.get(f"/reports/{share.create_token(grant, TEST_SECRET)}")
        assert answer.status_code == 404 and "not valid" in answer.text
