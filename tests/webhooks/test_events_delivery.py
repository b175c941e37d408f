"""The whole way, on both databases: a coordinator opens a round, staff enter answers, the round
is closed, and an integrator's HTTPS receiver on loopback gets round.opened, results.updated
and round.closed in that order, signed (checked with the standardwebhooks library), each body
valid against the contract's schema; another organisation's round never reaches it."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import time as time_of_day
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker
from standardwebhooks import Webhook

from survey_api.models import WebhookSubscription
from survey_api.rounds import service as rounds_service
from survey_api.webhooks import service as webhooks_service
from survey_api.webhooks.dispatcher import Dispatcher
from survey_api.webhooks.events import ResultsUpdatedEvent, RoundClosedEvent, RoundOpenedEvent
from tests.conftest import TEST_SECRET, Org
from tests.helpers import ok, open_round
from tests.webhooks.conftest import ALL_TYPES, LOOPBACK
from tests.webhooks.events_support import add_dated, add_responses, swedish, tick
from tests.webhooks.receiver import Receiver


@pytest.fixture
def secret(org: Org, db: sessionmaker[Session], receiver: Receiver) -> Iterator[str]:
    """The organisation's subscription to the receiver (deleted afterwards); its secret."""
    with db() as session:
        subscription, made = webhooks_service.create_subscription(
            session,
            org.id,
            url=receiver.url,
            event_types=ALL_TYPES,
            description="board dashboard",
            allowed=LOOPBACK,
            secret_key=TEST_SECRET,
        )
        session.commit()
        subscription_id = subscription.id
    yield made
    with db() as session:
        gone = session.get(WebhookSubscription, subscription_id)
        if gone is not None:
            session.delete(gone)
        session.commit()


def dispatch_until(dispatcher: Dispatcher, receiver: Receiver, count: int) -> None:
    deadline = time.monotonic() + 20
    while len(receiver.received) < count:
        assert time.monotonic() < deadline, f"only {len(receiver.received)} of {count} arrived"
        dispatcher.run_once()
        time.sleep(0.02)


def test_an_integrator_hears_a_round_open_fill_and_close(
    org: Org,
    make_org: Callable[[], Org],
    secret: str,
    receiver: Receiver,
    make_dispatcher: Callable[..., Dispatcher],
    db: sessionmaker[Session],
) -> None:
    dispatcher = make_dispatcher()
    other = make_org()
    theirs = open_round(other.admin, n_areas=1)
    yesterday = rounds_service.today() - timedelta(days=1)
    add_dated(db, other.integrator, theirs.id, theirs.area_ids[0], 30, yesterday)

    r = open_round(org.admin, n_areas=2)
    add_dated(db, org.integrator, r.id, r.area_ids[0], 14, yesterday)
    add_dated(db, org.integrator, r.id, r.area_ids[1], 11, yesterday)
    # The first tick after midnight writes results.updated for the date that ended (the
    # dispatcher's own ticks would too, from five past midnight on); the dispatcher sends it.
    tick(db, swedish(rounds_service.today(), time_of_day(0, 5)))
    dispatch_until(dispatcher, receiver, 2)
    add_responses(org.integrator, r.id, r.area_ids[1], 3)
    ok(org.analyst.post(f"/api/v1/rounds/{r.id}/close"))
    dispatch_until(dispatcher, receiver, 3)
    for _ in range(3):
        dispatcher.run_once()

    verify = Webhook(secret)
    bodies = [verify.verify(got.body, got.headers) for got in receiver.received]
    assert [b["type"] for b in bodies] == ["round.opened", "results.updated", "round.closed"]
    opened = RoundOpenedEvent.model_validate(bodies[0])
    updated = ResultsUpdatedEvent.model_validate(bodies[1])
    closed = RoundClosedEvent.model_validate(bodies[2])
    assert opened.data.round_id == updated.data.round_id == closed.data.round_id == r.id
    assert (updated.data.new_responses, updated.data.response_count) == (25, 25)
    assert closed.data.response_count == 28 and closed.data.closed_early
    ids = [got.headers["webhook-id"] for got in receiver.received]
    assert len(set(ids)) == 3
