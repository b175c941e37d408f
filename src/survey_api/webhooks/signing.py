"""Standard Webhooks signing: secrets ``whsec_<base64>`` and the ``webhook-*`` headers; the
secrets' encryption at rest."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
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


# Secrets at rest: the database holds each signing secret encrypted (Fernet: AES-128-CBC with
# an HMAC-SHA256) under a key derived from the ``secret_key`` setting by HKDF-SHA256, so a
# dump of the database alone cannot sign a webhook. Changing ``secret_key`` makes the stored
# secrets unreadable: the dispatcher then disables each such subscription with the reason,
# and an admin rotates its secret and enables it again.
_KEY_INFO = b"survey_api webhook signing secrets v1"


class SecretUnreadable(ValueError):
    """A stored secret that the current ``secret_key`` cannot decrypt."""


@lru_cache(maxsize=8)
def _fernet(secret_key: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_KEY_INFO).derive(
        secret_key.encode()
    )
    return Fernet(base64.urlsafe_b64encode(key))


def seal(secret: str, secret_key: str) -> str:
    """The secret as stored: encrypted under a key derived from ``secret_key``."""
    return _fernet(secret_key).encrypt(secret.encode()).decode("ascii")


def unseal(stored: str, secret_key: str) -> str:
    """A stored secret in clear; SecretUnreadable if ``secret_key`` is not the one it was
    sealed under (or it is not a sealed secret)."""
    try:
        return _fernet(secret_key).decrypt(stored.encode("ascii")).decode()
    except (InvalidToken, UnicodeError, ValueError):
        raise SecretUnreadable(
            "the stored signing secret cannot be decrypted with the current "
            "SURVEY_API_SECRET_KEY (was it changed?)"
        ) from None
