"""Webhook delivery against a real HTTPS receiver on loopback, on both databases: the
signature verifies with the standardwebhooks library, retries keep the webhook-id, a round's
events arrive in order, a receiver that was down gets everything, an event of a rolled-back
transaction is never sent."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from standardwebhooks import Webhook

from survey_api.models import WebhookDelivery, WebhookEvent, WebhookSubscription
from survey_api.webhooks import outbox
from survey_api.webhooks import service as webhooks_service
from survey_api.webhooks.dispatcher import Dispatcher
from tests.conftest import TEST_SECRET
from tests.webhooks.conftest import FAKE_ROUNDS, Hooked
from tests.webhooks.receiver import Receiver


def emit(
    db: sessionmaker[Session], hooked: Hooked, event_type: str, round_id: int | None, n: int
) -> int:
    with db() as session:
        event = outbox.emit(
            session,
            hooked.organisation_id,
            event_type,
            {"n": n},
            round_id=None if round_id is None else FAKE_ROUNDS + round_id,
        )
        session.commit()
        return event.id


def deliveries(db: sessionmaker[Session], hooked: Hooked) -> list[WebhookDelivery]:
    with db() as session:
        return list(
            session.scalars(
                select(WebhookDelivery)
                .where(WebhookDelivery.subscription_id == hooked.subscription_id)
                .order_by(WebhookDelivery.id)
            )
        )


def run_until(dispatcher: Dispatcher, done: Callable[[], bool], timeout: float = 20) -> int:
    """Dispatch passes until ``done()``; return how many passes it took."""
    deadline = time.monotonic() + timeout
    passes = 0
    while not done():
        assert time.monotonic() < deadline, "dispatching did not finish in time"
        dispatcher.run_once()
        passes += 1
        time.sleep(0.02)
    return passes


def test_a_delivery_is_signed_by_the_standard_and_carries_the_event(
    db: sessionmaker[Session],
    hooked: Hooked,
    receiver: Receiver,
    make_dispatcher: Callable[..., Dispatcher],
) -> None:
    emit(db, hooked, "round.closed", 7, 1)
    result = make_dispatcher().run_once()
    assert result.delivered >= 1
    [got] = receiver.received
    payload = Webhook(hooked.secret).verify(got.body, got.headers)
    assert payload["type"] == "round.closed"
    assert payload["data"] == {"n": 1}
    assert payload["timestamp"].endswith("Z")
    assert got.headers["webhook-id"].startswith("msg_")
    assert got.headers["content-type"] == "application/json"
    assert got.path == "/hook"
    [delivery] = deliveries(db, hooked)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 1, 200)
    assert delivery.message_id == got.headers["webhook-id"]


def test_a_failed_attempt_is_retried_with_the_same_webhook_id(
    db: sessionmaker[Session],
    hooked: Hooked,
    receiver: Receiver,
    make_dispatcher: Callable[..., Dispatcher],
) -> None:
    receiver.answers.extend([500, 503])
    emit(db, hooked, "results.updated", 3, 1)
    dispatcher = make_dispatcher()
    run_until(dispatcher, lambda: deliveries(db, hooked)[0].status == "delivered")
    assert len(receiver.received) == 3
    assert len({r.headers["webhook-id"] for r in receiver.received}) == 1
    bodies = {r.body for r in receiver.received}
    assert len(bodies) == 1  # the same bytes on every attempt
    for got in receiver.received:
        Webhook(hooked.secret).verify(got.body, got.headers)
    [delivery] = deliveries(db, hooked)
    assert delivery.attempts == 3


def test_a_rounds_events_arrive_in_order_while_another_round_goes_ahead(
    db: sessionmaker[Session],
    hooked: Hooked,
    receiver: Receiver,
    make_dispatcher: Callable[..., Dispatcher],
) -> None:
    failed_once: list[bool] = []

    def first_event_fails_once(body: bytes) -> int | None:
        if json.loads(body)["data"]["n"] == 1 and not failed_once:
            failed_once.append(True)
            return 500
        return None

    receiver.decide = first_event_fails_once
    emit(db, hooked, "round.opened", 1, 1)
    emit(db, hooked, "results.updated", 1, 2)
    emit(db, hooked, "round.closed", 1, 3)
    emit(db, hooked, "round.opened", 2, 4)
    dispatcher = make_dispatcher()
    dispatcher.run_once()
    # Round 1's first event failed: its later ones wait; round 2's went out.
    sent = [json.loads(r.body)["data"]["n"] for r in receiver.received]
    assert sorted(sent) == [1, 4]  # sent side by side, in either order
    run_until(dispatcher, lambda: all(d.status == "delivered" for d in deliveries(db, hooked)))
    sent = [json.loads(r.body)["data"]["n"] for r in receiver.received]
    round_one = [n for n in sent if n in (1, 2, 3)]
    # Event 1 failed, then was retried and delivered; only then 2, then 3.
    assert round_one == [1, 1, 2, 3]


def test_a_receiver_that_was_down_gets_every_event(
    db: sessionmaker[Session],
    hooked: Hooked,
    receiver: Receiver,
    make_dispatcher: Callable[..., Dispatcher],
) -> None:
    receiver.stop()  # the port is closed: connection refused
    for n in range(5):
        emit(db, hooked, "results.updated", 10 + n % 2, n)
    dispatcher = make_dispatcher(backoff_scale=0.01)  # 50 ms, 3 s, ... ; a day -> 14 min
    dispatcher.start()
    time.sleep(1.0)
    stored = deliveries(db, hooked)
    assert all(d.status == "pending" for d in stored)
    # Each round's first event is retrying; the later ones wait for it.
    tried = [d for d in stored if d.attempts]
    assert [d.survey_round_id for d in tried] == [FAKE_ROUNDS + 10, FAKE_ROUNDS + 11]
    assert all("ConnectError" in (d.last_error or "") for d in tried)
    receiver.start()
    receiver.wait_for(lambda got: {json.loads(r.body)["data"]["n"] for r in got} == set(range(5)))
    dispatcher.stop()
    stored = deliveries(db, hooked)
    assert all(d.status == "delivered" for d in stored)
    assert {r.headers["webhook-id"] for r in receiver.received} == {d.message_id for d in stored}


def test_an_event_of_a_rolled_back_transaction_is_never_sent(
    db: sessionmaker[Session],
    hooked: Hooked,
    receiver: Receiver,
    make_dispatcher: Callable[..., Dispatcher],
) -> None:
    with db() as session:
        event = outbox.emit(
            session, hooked.organisation_id, "round.closed", {"n": 1}, round_id=FAKE_ROUNDS + 5
        )
        assert event.id is not None
        session.rollback()
    with db() as session:
        assert (
            session.scalar(
                select(func.count())
                .select_from(WebhookEvent)
                .where(WebhookEvent.organisation_id == hooked.organisation_id)
            )
            == 0
        )
    make_dispatcher().run_once()
    assert receiver.received == []
    assert deliveries(db, hooked) == []


def test_only_enabled_subscriptions_that_want_the_type_get_a_delivery(
    db: sessionmaker[Session], hooked: Hooked, receiver: Receiver
) -> None:
    with db() as session:
        from tests.webhooks.conftest import LOOPBACK

        closed_only, _ = webhooks_service.create_subscription(
            session,
            hooked.organisation_id,
            url=receiver.url + "?closed-only",  # one subscription per URL
            event_types=["round.closed"],
            description="",
            allowed=LOOPBACK,
            secret_key=TEST_SECRET,
        )
        paused, _ = webhooks_service.create_subscription(
            session,
            hooked.organisation_id,
            url=receiver.url + "?paused",
            event_types=["round.opened"],
            description="",
            allowed=LOOPBACK,
            secret_key=TEST_SECRET,
        )
        paused.enabled = False
        session.commit()
        event = outbox.emit(
            session, hooked.organisation_id, "round.opened", {}, round_id=FAKE_ROUNDS + 1
        )
        session.commit()
        wanted = set(
            session.scalars(
                select(WebhookDelivery.subscription_id).where(WebhookDelivery.event_id == event.id)
            )
        )
        assert wanted == {hooked.subscription_id}
        for extra in (closed_only, paused):
            session.delete(session.get_one(WebhookSubscription, extra.id))
        session.commit()
