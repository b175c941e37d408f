"""Login throttling per account and per client, without storing anything that identifies either.

Failed logins are counted in this process's memory (the `limits` library's moving window),
keyed by an HMAC, under a random per-process key, of the lower-cased e-mail address and of the
client's address: the counters hold neither an address nor an e-mail, and the key dies with the
process (DESIGN.md, Privacy: no IP address is ever stored). Several processes each count on
their own, so the effective limit is the limit times the number of processes; the account
limit still turns an online password guess into a slow one. Counting happens only on failures,
so a coordinator who types correctly is never slowed down; a success clears the account's
counter.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import time
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from limits import RateLimitItem
    from limits.strategies import MovingWindowRateLimiter

# Five wrong passwords for one account, or twenty from one client, then wait.
ACCOUNT_LIMIT = "5/15minutes"
CLIENT_LIMIT = "20/15minutes"


@dataclass(frozen=True)
class LoginVerdict:
    """Whether a login may be tried now, and if not, after how many seconds."""

    allowed: bool
    retry_after: int = 0


class LoginThrottle:
    """The console's login limits for one process."""

    def __init__(self, *, account: str = ACCOUNT_LIMIT, client: str = CLIENT_LIMIT) -> None:
        self._key = secrets.token_bytes(32)
        self._rates = (account, client)

    @cached_property
    def _limiter(self) -> MovingWindowRateLimiter:
        from limits.storage import MemoryStorage
        from limits.strategies import MovingWindowRateLimiter

        return MovingWindowRateLimiter(MemoryStorage())

    @cached_property
    def _items(self) -> tuple[RateLimitItem, RateLimitItem]:
        from limits import parse

        return parse(self._rates[0]), parse(self._rates[1])

    def _digest(self, kind: str, value: str) -> str:
        return hmac.new(self._key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()

    def _keys(self, email: str, client: str | None) -> list[tuple[RateLimitItem, str, str]]:
        account_item, client_item = self._items
        return [
            (account_item, "account", self._digest("account", email.strip().lower())),
            (client_item, "client", self._digest("client", client or "")),
        ]

    def check(self, email: str, client: str | None) -> LoginVerdict:
        """May this client try this account now? (Counts nothing.)"""
        waits = [
            self._wait(item, kind, digest)
            for item, kind, digest in self._keys(email, client)
            if not self._limiter.test(item, kind, digest)
        ]
        return LoginVerdict(True) if not waits else LoginVerdict(False, max(waits))

    def failed(self, email: str, client: str | None) -> None:
        """Count a failed login against the account and the client."""
        for item, kind, digest in self._keys(email, client):
            self._limiter.hit(item, kind, digest)

    def succeeded(self, email: str) -> None:
        """A correct password clears the account's failures (the client's stay counted)."""
        item, kind, digest = self._keys(email, None)[0]
        self._limiter.clear(item, kind, digest)

    def _wait(self, item: RateLimitItem, kind: str, digest: str) -> int:
        reset_at = self._limiter.get_window_stats(item, kind, digest).reset_time
        return max(1, math.ceil(reset_at - time.time()))
