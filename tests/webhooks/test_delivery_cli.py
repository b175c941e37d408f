"""`survey-api webhooks dispatch --once`, with its settings from the environment, delivers
what is due and says what it did."""

from __future__ import annotations

import os
import subprocess
import sys

from sqlalchemy.orm import Session, sessionmaker
from standardwebhooks import Webhook

from tests.conftest import TEST_SECRET
from tests.webhooks.conftest import Hooked
from tests.webhooks.receiver import Receiver
from tests.webhooks.test_delivery import deliveries, emit


def dispatch_once(database_url: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "survey_api.cli", "webhooks", "dispatch", "--once"],
        env={
            **os.environ,
            "SURVEY_API_DATABASE_URL": database_url,
            "SURVEY_API_SECRET_KEY": TEST_SECRET,
            **env,
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_dispatch_once_delivers_with_the_operators_settings(
    database_url: str, db: sessionmaker[Session], hooked: Hooked, receiver: Receiver
) -> None:
    emit(db, hooked, "import.finished", None, 1)
    # Without the allowed network, loopback is refused and nothing is sent.
    refused = dispatch_once(
        database_url,
        SURVEY_API_WEBHOOK_CA_BUNDLE=str(receiver.ca_path),
        SURVEY_API_WEBHOOK_BACKOFF_SCALE="0.0001",
    )
    assert refused.returncode == 0, refused.stderr
    assert receiver.received == []
    assert "not a public address" in (deliveries(db, hooked)[0].last_error or "")
    done = dispatch_once(
        database_url,
        SURVEY_API_WEBHOOK_CA_BUNDLE=str(receiver.ca_path),
        SURVEY_API_WEBHOOK_ALLOWED_NETWORKS="127.0.0.0/8, ::1/128",
        SURVEY_API_WEBHOOK_BACKOFF_SCALE="0.0001",
    )
    assert done.returncode == 0, done.stderr
    assert "deliveries delivered: 1" in done.stdout
    [got] = receiver.received
    assert Webhook(hooked.secret).verify(got.body, got.headers)["type"] == "import.finished"


def test_a_malformed_allowed_network_is_refused_at_start(database_url: str) -> None:
    result = dispatch_once(database_url, SURVEY_API_WEBHOOK_ALLOWED_NETWORKS="10.0.0.0/33")
    assert result.returncode != 0
    assert "'10.0.0.0/33' is not a network such as '10.0.0.0/8'" in result.stderr
