"""Fixtures of the webhook tests: an HTTPS receiver on loopback, an organisation with a
subscription to it, and a dispatcher that trusts the receiver's CA and allows loopback by its
settings only."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import delete
from sqlalchemy.orm import Session, sessionmaker

from survey_api.models import WebhookEvent, WebhookSubscription
from survey_api.organisations import service as organisations_service
from survey_api.webhooks import service as webhooks_service
from survey_api.webhooks.delivery import DeliveryOptions
from survey_api.webhooks.destinations import parse_networks
from survey_api.webhooks.dispatcher import Dispatcher
from tests.conftest import TEST_SECRET
from tests.webhooks.receiver import Receiver, make_receiver

LOOPBACK = parse_networks("127.0.0.0/8")
# Round ids of the delivery tests' own events: far from every real round's id, so that the
# dispatcher tick (webhooks/due.py), which asks the outbox whether a round was announced,
# never takes them for another test's round.
FAKE_ROUNDS = 1_500_000_000
ALL_TYPES = ["round.opened", "round.closed", "results.updated", "import.finished"]


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[Receiver]:
    """A fresh HTTPS receiver on a loopback port."""
    made = make_receiver(tmp_path)
    yield made
    made.stop()


@dataclass
class Hooked:
    """An organisation with one subscription to the receiver (its secret kept)."""

    organisation_id: int
    subscription_id: int
    secret: str


@pytest.fixture
def hooked(db: sessionmaker[Session], receiver: Receiver) -> Iterator[Hooked]:
    slug = f"org-{uuid.uuid4().hex[:10]}"
    with db() as session:
        org = organisations_service.create_organisation(session, name=slug, slug=slug)
        subscription, secret = webhooks_service.create_subscription(
            session,
            org.id,
            url=receiver.url,
            event_types=ALL_TYPES,
            description="test receiver",
            allowed=LOOPBACK,
            secret_key=TEST_SECRET,
        )
        session.commit()
        made = Hooked(org.id, subscription.id, secret)
    yield made
    # Other tests' dispatchers deliver every subscription's deliveries: leave none behind.
    with db() as session:
        gone = session.get(WebhookSubscription, made.subscription_id)
        if gone is not None:
            session.delete(gone)
        session.execute(
            delete(WebhookEvent).where(WebhookEvent.organisation_id == made.organisation_id)
        )
        session.commit()


@pytest.fixture
def make_dispatcher(
    db: sessionmaker[Session], receiver: Receiver
) -> Iterator[Callable[..., Dispatcher]]:
    """Dispatchers trusting the receiver's CA and allowing loopback; stopped at the end."""
    made: list[Dispatcher] = []

    def factory(**overrides: object) -> Dispatcher:
        values: dict[str, object] = {
            "allowed_networks": LOOPBACK,
            "ca_bundle": str(receiver.ca_path),
            "backoff_scale": 0.001,  # 5 s -> 5 ms, 5 min -> 0.3 s, a day -> 86 s
            "disable_after": 3,
            "timeout": 5.0,
            "secret_key": TEST_SECRET,
        }
        values.update(overrides)
        dispatcher = Dispatcher(db, DeliveryOptions(**values), interval=0.05)  # type: ignore[arg-type]
        made.append(dispatcher)
        return dispatcher

    yield factory
    for dispatcher in made:
        dispatcher.stop()
