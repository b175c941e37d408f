"""Webhook delivery after the hostile review (R1), on both databases: a receiver that trickles
its answer a byte a second is cut off at the attempt's deadline and holds back nobody else,
and stopping the dispatcher does not wait for it; an international host name is sent in its
ASCII form; an attempt that raises is recorded as failed; the last retry comes a day after
the event; secrets are encrypted at rest; old deliveries and events are pruned."""

from __future__ import annotations

import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker
from standardwebhooks import Webhook

from survey_api.models import WebhookDelivery, WebhookEvent, WebhookSubscription, utcnow
from survey_api.timestamps import as_utc
from survey_api.webhooks import delivery, destinations, outbox, signing
from survey_api.webhooks import service as webhooks_service
from survey_api.webhooks.dispatcher import Dispatcher
from tests.conftest import TEST_SECRET, Org
from tests.webhooks.conftest import FAKE_ROUNDS, LOOPBACK, Hooked
from tests.webhooks.receiver import Receiver
from tests.webhooks.test_delivery import deliveries, emit


class Trickler:
    """A TLS server that answers 'HTTP/1.1 200 OK' and then one header byte a second."""

    def __init__(self, receiver: Receiver, seconds: int) -> None:
        cert = receiver.ca.issue_cert("127.0.0.1")
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(self.context)
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.port = int(self.sock.getsockname()[1])
        self.seconds = seconds
        self.connections = 0
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}/slow"

    def _serve(self) -> None:
        while True:
            try:
                raw, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._handle, args=(raw,), daemon=True).start()

    def _handle(self, raw: socket.socket) -> None:
        try:
            conn = self.context.wrap_socket(raw, server_side=True)
            data = b""
            while b"\r\n\r\n" not in data:
                data += conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nx-slow: ")
            for _ in range(self.seconds):
                time.sleep(1)
                conn.sendall(b"a")
            conn.sendall(b"\r\ncontent-length: 0\r\n\r\n")
            conn.close()
        except OSError:
            pass

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def trickler(receiver: Receiver) -> Iterator[Trickler]:
    made = Trickler(receiver, seconds=25)
    yield made
    made.close()


def subscribe(
    db: sessionmaker[Session], organisation_id: int, url: str, event_types: list[str]
) -> int:
    with db() as session:
        subscription, _ = webhooks_service.create_subscription(
            session,
            organisation_id,
            url=url,
            event_types=event_types,
            description="",
            allowed=LOOPBACK,
            secret_key=TEST_SECRET,
        )
        session.commit()
        return subscription.id


def of_subscription(db: sessionmaker[Session], subscription_id: int) -> list[WebhookDelivery]:
    with db() as session:
        return list(
            session.scalars(
                select(WebhookDelivery)
                .where(WebhookDelivery.subscription_id == subscription_id)
                .order_by(WebhookDelivery.id)
            )
        )


def drop(db: sessionmaker[Session], subscription_id: int) -> None:
    with db() as session:
        gone = session.get(WebhookSubscription, subscription_id)
        if gone is not None:
            session.delete(gone)
        session.commit()


def test_a_trickling_receiver_is_cut_off_and_holds_back_no_other_organisation(
    db: sessionmaker[Session],
    hooked: Hooked,
    receiver: Receiver,
    trickler: Trickler,
    make_dispatcher: Callable[..., Dispatcher],
    org: Org,
) -> None:
    slow_id = subscribe(db, org.id, trickler.url, ["round.closed"])
    try:
        with db() as session:
            outbox.emit(session, org.id, "round.closed", {"n": 1}, round_id=FAKE_ROUNDS + 2)
            session.commit()
        dispatcher = make_dispatcher(timeout=2.0)  # a 2 s deadline per attempt
        dispatcher.start()
        deadline = time.monotonic() + 10
        while trickler.connections == 0:  # the slow attempt is under way
            assert time.monotonic() < deadline
            time.sleep(0.05)
        emit(db, hooked, "round.closed", 3, 2)  # another organisation's event, a moment later
        started = time.monotonic()
        receiver.wait_for(lambda got: len(got) == 1, timeout=20)
        waited = time.monotonic() - started
        print(f"another organisation's event arrived {waited:.2f} s after it was emitted")
        assert waited < 3.0, f"the other organisation's event waited {waited:.1f} s"
        # The slow attempt ends at its deadline and is recorded as a timeout, to be retried.
        deadline = time.monotonic() + 10
        while (slow := of_subscription(db, slow_id)[0]).attempts == 0:
            assert time.monotonic() < deadline, "the slow attempt was never recorded"
            time.sleep(0.05)
        assert (slow.status, slow.last_error) == ("pending", "no complete answer within 2 s")
        stopping = time.monotonic()
        thread = dispatcher._thread
        dispatcher.stop(timeout=15)
        print(f"stop() took {time.monotonic() - stopping:.2f} s")
        assert time.monotonic() - stopping < 3.0
        assert thread is not None and not thread.is_alive()
    finally:
        drop(db, slow_id)


def test_stop_returns_promptly_while_an_attempt_trickles(
    db: sessionmaker[Session],
    trickler: Trickler,
    make_dispatcher: Callable[..., Dispatcher],
    org: Org,
) -> None:
    slow_id = subscribe(db, org.id, trickler.url, ["round.closed"])
    try:
        with db() as session:
            outbox.emit(session, org.id, "round.closed", {"n": 1}, round_id=FAKE_ROUNDS + 9)
            session.commit()
        dispatcher = make_dispatcher()  # the 5 s deadline of the fixture
        dispatcher.start()
        deadline = time.monotonic() + 10
        while trickler.connections == 0:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        thread = dispatcher._thread
        stopping = time.monotonic()
        dispatcher.stop(timeout=15)
        assert time.monotonic() - stopping < 2.0
        assert thread is not None and not thread.is_alive()
        # Not recorded: leased, so it is retried when the lease ends (at least once).
        [pending] = of_subscription(db, slow_id)
        assert pending.status == "pending" and as_utc(pending.next_attempt_at) > utcnow()
    finally:
        drop(db, slow_id)


def test_an_international_host_is_sent_in_ascii_and_recorded(
    db: sessionmaker[Session],
    hooked: Hooked,
    receiver: Receiver,
    make_dispatcher: Callable[..., Dispatcher],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked: list[str] = []

    def resolve(host: str, port: int) -> list[destinations.IPAddress]:
        asked.append(host)
        return [ipaddress.ip_address("127.0.0.1")]

    monkeypatch.setattr(destinations, "resolve", resolve)
    with db() as session:
        stored = webhooks_service.update_subscription(
            session,
            hooked.organisation_id,
            hooked.subscription_id,
            {"url": receiver.url_for("bücher.example")},
            allowed=LOOPBACK,
        )
        assert stored.url == f"https://xn--bcher-kva.example:{receiver.port}/hook"
        session.commit()
    emit(db, hooked, "round.opened", 1, 1)
    done = make_dispatcher().run_once()
    assert done.delivered == 1
    [got] = receiver.received
    # Host and TLS's server name (the receiver's certificate names the ASCII form) are ASCII.
    assert got.headers["host"] == f"xn--bcher-kva.example:{receiver.port}"
    assert set(asked) == {"xn--bcher-kva.example"}
    assert Webhook(hooked.secret).verify(got.body, got.headers)["type"] == "round.opened"


def test_an_attempt_that_raises_is_recorded_and_the_others_go_on(
    db: sessionmaker[Session],
    hooked: Hooked,
    receiver: Receiver,
    make_dispatcher: Callable[..., Dispatcher],
    monkeypatch: pytest.MonkeyPatch,
    org: Org,
) -> None:
    other_id = subscribe(db, org.id, receiver.url, ["round.closed"])
    broken = hooked.subscription_id
    real_headers = signing.headers

    def headers(secrets: tuple[str, ...], *args: object) -> dict[str, str]:
        if secrets == (hooked.secret,):
            raise UnicodeEncodeError("ascii", "ü", 0, 1, "ordinal not in range(128)")
        return real_headers(secrets, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(signing, "headers", headers)
    try:
        emit(db, hooked, "round.closed", 4, 1)
        with db() as session:
            outbox.emit(session, org.id, "round.closed", {"n": 2}, round_id=FAKE_ROUNDS + 5)
            session.commit()
        done = make_dispatcher().run_once()  # does not raise
        assert (done.delivered, done.retrying) == (1, 1)
        [failed] = of_subscription(db, broken)
        assert (failed.status, failed.attempts) == ("pending", 1)
        assert failed.last_error is not None
        assert failed.last_error.startswith("not delivered: UnicodeEncodeError")
        assert [d.status for d in of_subscription(db, other_id)] == ["delivered"]
    finally:
        drop(db, other_id)


def test_the_last_retry_comes_a_day_after_the_event(
    db: sessionmaker[Session], hooked: Hooked
) -> None:
    emit(db, hooked, "round.closed", 20, 1)
    [d] = deliveries(db, hooked)
    options = delivery.DeliveryOptions(secret_key=TEST_SECRET)  # the production schedule
    since = as_utc(d.retrying_since)
    now, status, attempts_at = since, "pending", []
    while status == "pending":
        attempts_at.append((now - since).total_seconds())
        with db() as session:
            got = delivery.record(session, d.id, delivery.Outcome(503, "down"), now, options)
            row = session.get_one(WebhookDelivery, d.id)
            status, next_at = str(got), row.next_attempt_at
            session.commit()
        if status == "pending":
            assert next_at is not None
            now = as_utc(next_at)
    # Standard Webhooks: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h after each failure, and the
    # last attempt when the day is over (at 17.6 h + 10 h would be past it).
    assert attempts_at == [0, 5, 305, 2105, 9305, 27305, 63305, 86400]
    assert status == "failed"


def test_secrets_are_encrypted_at_rest_and_a_changed_key_disables_with_the_reason(
    db: sessionmaker[Session],
    hooked: Hooked,
    receiver: Receiver,
    make_dispatcher: Callable[..., Dispatcher],
) -> None:
    with db() as session:
        stored = session.get_one(WebhookSubscription, hooked.subscription_id)
        assert hooked.secret not in stored.secret
        assert hooked.secret.removeprefix("whsec_") not in stored.secret
        assert signing.unseal(stored.secret, TEST_SECRET) == hooked.secret
        with pytest.raises(signing.SecretUnreadable):
            signing.unseal(stored.secret, "another-secret-key")
    emit(db, hooked, "round.closed", 6, 1)
    done = make_dispatcher(secret_key="another-secret-key").run_once()
    assert done.attempted == 0 and receiver.received == []
    with db() as session:
        disabled = session.get_one(WebhookSubscription, hooked.subscription_id)
        assert disabled.enabled is False
        assert disabled.disabled_reason == (
            "disabled: the stored signing secret cannot be decrypted with the current "
            "SURVEY_API_SECRET_KEY (was it changed?); rotate the secret, then enable the "
            "subscription"
        )
    [waiting] = deliveries(db, hooked)
    assert (waiting.status, waiting.attempts) == ("pending", 0)
    # The admin rotates (under the new key) and enables: delivered, signed by the new secret.
    with db() as session:
        _, secret = webhooks_service.rotate_secret(
            session,
            hooked.organisation_id,
            hooked.subscription_id,
            secret_key="another-secret-key",
        )
        webhooks_service.update_subscription(
            session,
            hooked.organisation_id,
            hooked.subscription_id,
            {"enabled": True},
            allowed=LOOPBACK,
        )
        session.commit()
    assert make_dispatcher(secret_key="another-secret-key").run_once().delivered == 1
    [got] = receiver.received
    assert len(got.headers["webhook-signature"].split()) == 1  # the unreadable one is gone
    Webhook(secret).verify(got.body, got.headers)


def test_old_deliveries_and_their_events_are_pruned_keeping_what_the_tick_reads(
    db: sessionmaker[Session], hooked: Hooked, make_dispatcher: Callable[..., Dispatcher]
) -> None:
    opened = emit(db, hooked, "round.opened", 30, 1)  # the round's only round.opened
    first_update = emit(db, hooked, "results.updated", 30, 2)
    last_update = emit(db, hooked, "results.updated", 30, 3)
    old_import = emit(db, hooked, "import.finished", None, 4)
    still_pending = emit(db, hooked, "import.finished", None, 5)
    recent = emit(db, hooked, "import.finished", None, 6)
    long_ago = utcnow() - timedelta(days=31)
    with db() as session:
        old = [opened, first_update, last_update, old_import, still_pending]
        session.execute(
            update(WebhookEvent).where(WebhookEvent.id.in_(old)).values(created_at=long_ago)
        )
        session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.event_id.in_(old))
            .values(created_at=long_ago, status="delivered", next_attempt_at=None)
        )
        session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.event_id.in_([still_pending, recent]))
            .values(status="pending", next_attempt_at=utcnow() + timedelta(hours=1))
        )
        session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.event_id == recent)
            .values(status="failed", next_attempt_at=None)
        )
        session.commit()
    make_dispatcher().run_once()
    with db() as session:
        events_left = set(
            session.scalars(
                select(WebhookEvent.id).where(
                    WebhookEvent.organisation_id == hooked.organisation_id
                )
            )
        )
    # Gone: the old delivered deliveries, and their events but each round's latest per type.
    assert events_left == {opened, last_update, still_pending, recent}
    assert {d.event_id for d in deliveries(db, hooked)} == {still_pending, recent}


def test_attempts_at_once_to_one_host_are_capped(
    db: sessionmaker[Session],
    trickler: Trickler,
    make_dispatcher: Callable[..., Dispatcher],
    org: Org,
) -> None:
    ids = [subscribe(db, org.id, f"{trickler.url}/{i}", ["round.closed"]) for i in range(3)]
    try:
        with db() as session:
            outbox.emit(session, org.id, "round.closed", {"n": 1}, round_id=FAKE_ROUNDS + 40)
            session.commit()
        dispatcher = make_dispatcher(timeout=3.0)
        dispatcher.per_host = 2
        dispatcher.start()
        time.sleep(2.0)  # all three are due; two workers hold 127.0.0.1
        assert trickler.connections == 2
        dispatcher.stop()
    finally:
        for subscription_id in ids:
            drop(db, subscription_id)
