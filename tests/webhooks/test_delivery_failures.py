"""Webhook delivery when things go wrong or change: secret rotation, disabling after
repeated failure, manual re-send, and the SSRF guard at delivery time (loopback refused
without the operator's setting, DNS rebinding to a private address), on both databases."""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from survey_api.models import WebhookSubscription, utcnow
from survey_api.webhooks import destinations
from survey_api.webhooks import service as webhooks_service
from survey_api.webhooks.dispatcher import Dispatcher
from tests.conftest import TEST_SECRET
from tests.webhooks.conftest import LOOPBACK, Hooked
from tests.webhooks.receiver import Receiver
from tests.webhooks.test_delivery import deliveries, emit, run_until


def subscription(db: sessionmaker[Session], hooked: Hooked) -> WebhookSubscription:
    with db() as session:
        return session.get_one(WebhookSubscription, hooked.subscription_id)


def test_after_a_rotation_both_secrets_verify_until_the_overlap_ends(
    db: sessionmaker[Session],
    hooked: Hooked,
    receiver: Receiver,
    make_dispatcher: Callable[..., Dispatcher],
) -> None:
    with db() as session:
        _, new_secret = webhooks_service.rotate_secret(
            session, hooked.organisation_id, hooked.subscription_id, secret_key=TEST_SECRET
        )
        session.commit()
    emit(db, hooked, "round.closed", 1, 1)
    dispatcher = make_dispatcher()
    dispatcher.run_once()
    [during] = receiver.received
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    Webhook(new_secret).verify(during.body, during.headers)
    Webhook(hooked.secret).verify(during.body, during.headers)
    # The overlap ends: only the new secret signs.
    with db() as session:
        stored = session.get_one(WebhookSubscription, hooked.subscription_id)
        stored.previous_secret_expires_at = utcnow() - timedelta(seconds=1)
        session.commit()
    emit(db, hooked, "round.closed", 2, 2)
    dispatcher.run_once()
    after = receiver.received[1]
    assert len(after.headers["webhook-signature"].split(" ")) == 1
    Webhook(new_secret).verify(after.body, after.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(hooked.secret).verify(after.body, after.headers)


def test_a_subscription_is_disabled_after_repeated_failure_and_re_enabled_by_an_admin(
    db: sessionmaker[Session],
    hooked: Hooked,
    receiver: Receiver,
    make_dispatcher: Callable[..., Dispatcher],
) -> None:
    receiver.default = 500
    # A day of retries scaled to ~0.9 s; two given-up deliveries in a row disable it.
    dispatcher = make_dispatcher(backoff_scale=0.00001, disable_after=2)
    emit(db, hooked, "results.updated", None, 1)
    emit(db, hooked, "results.updated", None, 2)
    run_until(dispatcher, lambda: all(d.status == "failed" for d in deliveries(db, hooked)))
    stored = subscription(db, hooked)
    assert not stored.enabled
    assert stored.consecutive_failures == 2
    assert stored.disabled_reason is not None
    assert "2 deliveries in a row" in stored.disabled_reason
    assert "HTTP 500" in stored.disabled_reason
    assert all(d.attempts >= 2 and d.last_status_code == 500 for d in deliveries(db, hooked))
    # Disabled: a new event gets no delivery, nothing is sent.
    emit(db, hooked, "results.updated", None, 3)
    assert len(deliveries(db, hooked)) == 2
    # An admin re-enables it; the count starts again and a re-send goes out.
    receiver.default = 200
    with db() as session:
        webhooks_service.update_subscription(
            session, hooked.organisation_id, hooked.subscription_id, {"enabled": True}, allowed=()
        )
        session.commit()
    stored = subscription(db, hooked)
    assert (stored.enabled, stored.consecutive_failures, stored.disabled_reason) == (True, 0, None)


def test_a_manual_resend_sends_the_same_webhook_id_again_also_for_a_failed_delivery(
    db: sessionmaker[Session],
    hooked: Hooked,
    receiver: Receiver,
    make_dispatcher: Callable[..., Dispatcher],
) -> None:
    receiver.default = 500
    dispatcher = make_dispatcher(backoff_scale=0.00001, disable_after=10)
    emit(db, hooked, "import.finished", None, 1)
    run_until(dispatcher, lambda: deliveries(db, hooked)[0].status == "failed")
    [failed] = deliveries(db, hooked)
    tries = len(receiver.received)
    receiver.default = 200
    with db() as session:
        read = webhooks_service.resend(
            session, hooked.organisation_id, hooked.subscription_id, failed.id
        )
        session.commit()
    assert (read.status, read.attempts, read.webhook_id) == ("pending", 0, failed.message_id)
    dispatcher.run_once()
    assert len(receiver.received) == tries + 1
    again = receiver.received[-1]
    assert again.headers["webhook-id"] == failed.message_id
    assert again.body == receiver.received[0].body
    Webhook(hooked.secret).verify(again.body, again.headers)
    [delivered] = deliveries(db, hooked)
    assert (delivered.status, delivered.attempts) == ("delivered", 1)
    # A delivered one can be sent again too, with the same id.
    with db() as session:
        webhooks_service.resend(session, hooked.organisation_id, hooked.subscription_id, failed.id)
        session.commit()
    dispatcher.run_once()
    assert receiver.received[-1].headers["webhook-id"] == failed.message_id
    assert len(receiver.received) == tries + 2


def test_loopback_is_refused_at_delivery_without_the_operators_setting(
    db: sessionmaker[Session],
    hooked: Hooked,
    receiver: Receiver,
    make_dispatcher: Callable[..., Dispatcher],
) -> None:
    emit(db, hooked, "round.closed", 1, 1)
    make_dispatcher(allowed_networks=()).run_once()
    assert receiver.received == []
    [delivery] = deliveries(db, hooked)
    assert delivery.status == "pending"
    assert delivery.last_error is not None
    assert delivery.last_error.startswith("not sent: the host 127.0.0.1 resolves to 127.0.0.1")
    assert "not a public address" in delivery.last_error
    assert hooked.secret not in delivery.last_error


def test_a_name_rebound_to_a_private_address_is_not_sent_to(
    db: sessionmaker[Session],
    hooked: Hooked,
    receiver: Receiver,
    make_dispatcher: Callable[..., Dispatcher],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    answers = {"hooks.example.test": [ipaddress.ip_address("93.184.216.34")]}
    monkeypatch.setattr(destinations, "resolve", lambda host, port: answers[host])
    with db() as session:
        # At subscription time the name resolves to a public address: accepted, without any
        # allowed network.
        webhooks_service.update_subscription(
            session,
            hooked.organisation_id,
            hooked.subscription_id,
            {"url": receiver.url_for("hooks.example.test")},
            allowed=(),
        )
        session.commit()
    # Then it is rebound to a private address (and to loopback, where the receiver is).
    answers["hooks.example.test"] = [
        ipaddress.ip_address("10.1.2.3"),
        ipaddress.ip_address("127.0.0.1"),
    ]
    emit(db, hooked, "round.closed", 1, 1)
    make_dispatcher(allowed_networks=()).run_once()
    assert receiver.received == []
    [delivery] = deliveries(db, hooked)
    assert delivery.last_error == (
        "not sent: the host hooks.example.test resolves to 10.1.2.3, 127.0.0.1, which is not a "
        "public address; the operator may allow such networks (webhook_allowed_networks)"
    )


def test_a_host_name_is_sent_to_the_checked_address_with_its_certificate_checked(
    db: sessionmaker[Session],
    hooked: Hooked,
    receiver: Receiver,
    make_dispatcher: Callable[..., Dispatcher],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The connection goes to the address the guard checked, while TLS checks the name."""
    monkeypatch.setattr(
        destinations, "resolve", lambda host, port: [ipaddress.ip_address("127.0.0.1")]
    )
    with db() as session:
        webhooks_service.update_subscription(
            session,
            hooked.organisation_id,
            hooked.subscription_id,
            {"url": receiver.url_for("hooks.example.test")},
            allowed=LOOPBACK,
        )
        session.commit()
    emit(db, hooked, "round.closed", 1, 1)
    make_dispatcher().run_once()
    [got] = receiver.received
    assert got.headers["host"] == f"hooks.example.test:{receiver.port}"
    Webhook(hooked.secret).verify(got.body, got.headers)
    # A name the receiver's certificate does not hold fails the TLS check.
    with db() as session:
        webhooks_service.update_subscription(
            session,
            hooked.organisation_id,
            hooked.subscription_id,
            {"url": receiver.url_for("other.example.test")},
            allowed=LOOPBACK,
        )
        session.commit()
    emit(db, hooked, "round.closed", 2, 2)
    make_dispatcher().run_once()
    assert len(receiver.received) == 1
    last = deliveries(db, hooked)[-1]
    assert last.status == "pending"
    assert last.last_error is not None and "CERTIFICATE_VERIFY_FAILED" in last.last_error


def test_retries_follow_the_back_off_schedule(
    db: sessionmaker[Session],
    hooked: Hooked,
    receiver: Receiver,
    make_dispatcher: Callable[..., Dispatcher],
) -> None:
    receiver.default = 500
    dispatcher = make_dispatcher(backoff_scale=0.01)  # 50 ms, 3 s, 18 s, ...
    emit(db, hooked, "round.closed", 1, 1)
    dispatcher.run_once()
    first = deliveries(db, hooked)[0]
    assert first.attempts == 1
    assert first.next_attempt_at is not None and first.last_attempt_at is not None
    gap = first.next_attempt_at - first.last_attempt_at
    assert timedelta(milliseconds=49) <= gap <= timedelta(milliseconds=51)
    time.sleep(0.1)
    dispatcher.run_once()
    second = deliveries(db, hooked)[0]
    assert second.attempts == 2
    assert second.next_attempt_at is not None and second.last_attempt_at is not None
    gap = second.next_attempt_at - second.last_attempt_at
    assert timedelta(seconds=2.99) <= gap <= timedelta(seconds=3.01)
    dispatcher.run_once()  # not due yet: no third attempt
    assert deliveries(db, hooked)[0].attempts == 2


def test_a_claim_whose_dispatcher_died_is_retried_when_its_lease_ends(
    db: sessionmaker[Session],
    hooked: Hooked,
    receiver: Receiver,
    make_dispatcher: Callable[..., Dispatcher],
) -> None:
    """A dispatcher that claimed a delivery and died mid-attempt (nothing recorded) holds it
    only for the lease; then another sends it, with the same webhook-id."""
    from survey_api.db import transaction
    from survey_api.webhooks import delivery

    emit(db, hooked, "round.closed", 1, 1)
    dead = make_dispatcher(timeout=0.5)  # lease: twice the timeout, 1 s
    with transaction(db) as session:
        [claimed] = delivery.claim(session, utcnow(), dead.options)
    other = make_dispatcher(timeout=0.5)
    other.run_once()
    assert receiver.received == []  # still leased
    time.sleep(1.1)
    other.run_once()
    [got] = receiver.received
    assert got.headers["webhook-id"] == claimed.message_id
    assert deliveries(db, hooked)[0].status == "delivered"


def test_two_dispatchers_at_once_send_each_delivery_once(
    db: sessionmaker[Session],
    hooked: Hooked,
    receiver: Receiver,
    make_dispatcher: Callable[..., Dispatcher],
) -> None:
    import threading

    for n in range(30):
        emit(db, hooked, "results.updated", None, n)
    dispatchers = [make_dispatcher(), make_dispatcher()]
    for dispatcher in dispatchers:
        dispatcher.options = replace(dispatcher.options, batch=3)
    threads = [threading.Thread(target=d.run_once) for d in dispatchers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    ids = [r.headers["webhook-id"] for r in receiver.received]
    assert len(ids) == 30
    assert len(set(ids)) == 30
    assert all(d.status == "delivered" and d.attempts == 1 for d in deliveries(db, hooked))
