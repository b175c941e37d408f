"""Standard Webhooks signing: secrets ``whsec_<base64>`` and the ``webhook-*`` headers."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from datetime import datetime

from standardwebhooks import Webhook

SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    """A fresh signing secret: 32 random bytes, base64, with the ``whsec_`` prefix."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def signature(secrets_: Sequence[str], message_id: str, timestamp: datetime, body: str) -> str:
    """The ``webhook-signature`` value: ``v1,<base64>`` for each secret, space-separated (the
    current secret first; during a rotation's overlap the previous one too)."""
    return " ".join(Webhook(s).sign(message_id, timestamp, body) for s in secrets_)


def headers(
    secrets_: Sequence[str], message_id: str, timestamp: datetime, body: str
) -> dict[str, str]:
    """The Standard Webhooks headers of one attempt."""
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": signature(secrets_, message_id, timestamp, body),
    }
