"""kill -9 of the app between a change's commit and its webhook's delivery: the event still
arrives, with the webhook-id it was stored with, once the app runs again and the receiver is
up. The real server (uvicorn in a subprocess, settings from the environment, the dispatcher
in the app's lifespan), on both databases.

Figures (printed with -s): deliveries, attempts, and the time from the restart to arrival.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from standardwebhooks import Webhook

from survey_api.auth import service as auth_service
from survey_api.models import WebhookDelivery, WebhookEvent
from survey_api.organisations import service as organisations_service
from survey_api.webhooks import service as webhooks_service
from tests.conftest import TEST_SECRET, free_port
from tests.helpers import ok, open_round
from tests.webhooks.conftest import LOOPBACK
from tests.webhooks.receiver import Receiver


@dataclass
class App:
    process: subprocess.Popen[bytes]
    base_url: str
    log: Path


def start_app(database_url: str, receiver: Receiver, log: Path, poll: str = "0.2") -> App:
    env = {
        **os.environ,
        "SURVEY_API_DATABASE_URL": database_url,
        "SURVEY_API_SECRET_KEY": TEST_SECRET,
        "SURVEY_API_FOLD_INTERVAL_SECONDS": "0",
        "SURVEY_API_WEBHOOK_DISPATCHER": "true",
        "SURVEY_API_WEBHOOK_POLL_SECONDS": poll,
        "SURVEY_API_WEBHOOK_BACKOFF_SCALE": "0.01",  # 50 ms, 3 s, 18 s, ...
        "SURVEY_API_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",
        "SURVEY_API_WEBHOOK_CA_BUNDLE": str(receiver.ca_path),
        "PYTHONUNBUFFERED": "1",
    }
    for _attempt in range(3):  # a port taken between free_port() and uvicorn: another one
        port = free_port()
        with log.open("ab") as out:
            process = subprocess.Popen(
                [
                    sys.executable, "-m", "uvicorn", "--factory", "survey_api.main:create_app",
                    "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
                ],
                env=env, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        app = App(process, f"http://127.0.0.1:{port}", log)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            try:
                httpx.get(f"{app.base_url}/api/v1/openapi.json", timeout=2)
                return app
            except httpx.TransportError:
                time.sleep(0.1)
        process.kill()
        process.wait()
    raise RuntimeError(f"the app did not start: {log.read_text()[-2000:]}")


def attempted(db: sessionmaker[Session], subscription_id: int) -> int:
    """Attempts made so far on the subscription's deliveries."""
    with db() as session:
        return sum(
            session.scalars(
                select(WebhookDelivery.attempts).where(
                    WebhookDelivery.subscription_id == subscription_id
                )
            )
        )


def kill_9(app: App) -> None:
    app.process.send_signal(signal.SIGKILL)
    app.process.wait(timeout=10)
    assert app.process.returncode == -signal.SIGKILL


def stop(app: App) -> None:
    if app.process.poll() is None:
        app.process.terminate()
        try:
            app.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            app.process.kill()
            app.process.wait()


@pytest.mark.parametrize("moment", ["before any attempt", "after a failed attempt"])
def test_an_event_committed_before_kill_9_arrives_after_the_restart(
    database_url: str, db: sessionmaker[Session], receiver: Receiver, tmp_path: Path, moment: str
) -> None:
    slug = f"org-{uuid.uuid4().hex[:10]}"
    with db() as session:
        org = organisations_service.create_organisation(session, name=slug, slug=slug)
        key = auth_service.create_api_key(session, org, name="admin", role="admin")[1]
        subscription, secret = webhooks_service.create_subscription(
            session,
            org.id,
            url=receiver.url,
            event_types=["round.opened", "round.closed"],
            description="kill -9",
            allowed=LOOPBACK,
            secret_key=TEST_SECRET,
        )
        session.commit()
        org_id, subscription_id = org.id, subscription.id
    receiver.stop()  # down: nothing can be delivered before the kill
    log = tmp_path / "app.log"
    # "before any attempt": the first app's dispatcher would first look after a minute.
    first = start_app(
        database_url, receiver, log, poll="60" if moment == "before any attempt" else "0.2"
    )
    restarted: App | None = None
    try:
        with httpx.Client(
            base_url=first.base_url, headers={"Authorization": f"Bearer {key}"}, timeout=30
        ) as client:
            survey = open_round(client)  # opens at once: round.opened
            ok(client.post(f"/api/v1/rounds/{survey.id}/close"))  # round.closed, committed
        if moment == "after a failed attempt":
            deadline = time.monotonic() + 30
            while not attempted(db, subscription_id):
                assert time.monotonic() < deadline, "the app's dispatcher made no attempt"
                time.sleep(0.05)
        kill_9(first)
        with db() as session:
            stored = {
                event_type: message_id
                for event_type, message_id in session.execute(
                    select(WebhookEvent.event_type, WebhookDelivery.message_id)
                    .join(WebhookDelivery, WebhookDelivery.event_id == WebhookEvent.id)
                    .where(
                        WebhookEvent.organisation_id == org_id,
                        WebhookDelivery.subscription_id == subscription_id,
                    )
                )
            }
            assert set(stored) == {"round.opened", "round.closed"}
            assert not session.scalars(
                select(WebhookDelivery).where(
                    WebhookDelivery.subscription_id == subscription_id,
                    WebhookDelivery.status != "pending",
                )
            ).all()
        assert receiver.received == []
        before = attempted(db, subscription_id)
        if moment == "before any attempt":
            assert before == 0
        receiver.start()  # up again, on the same port
        restarted_at = time.monotonic()
        restarted = start_app(database_url, receiver, log)
        receiver.wait_for(lambda got: len(got) >= 2, timeout=60)
        arrived = receiver.received[-1].at - restarted_at
        bodies = [Webhook(secret).verify(r.body, r.headers) for r in receiver.received]
        assert [b["type"] for b in bodies] == ["round.opened", "round.closed"]
        assert bodies[1]["data"]["round_id"] == survey.id
        ids = [r.headers["webhook-id"] for r in receiver.received]
        assert ids == [stored["round.opened"], stored["round.closed"]]
        deadline = time.monotonic() + 30
        while True:  # the app records the outcome just after the receiver answered
            with db() as session:
                final = session.scalars(
                    select(WebhookDelivery)
                    .where(WebhookDelivery.subscription_id == subscription_id)
                    .order_by(WebhookDelivery.id)
                ).all()
            if all(d.status != "pending" for d in final) or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert [d.status for d in final] == ["delivered", "delivered"]
        assert len(receiver.received) == 2
        attempts = [d.attempts for d in final]
        print(
            "\nkill -9 figures:",
            json.dumps(
                {
                    "database": database_url.split(":", 1)[0],
                    "killed": moment,
                    "failed attempts before the kill": before,
                    "deliveries": len(final),
                    "received": len(receiver.received),
                    "attempts per delivery": attempts,
                    "seconds from restart to last arrival": round(arrived, 2),
                }
            ),
        )
    finally:
        stop(first)
        if restarted is not None:
            stop(restarted)
