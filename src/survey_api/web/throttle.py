"""Per-client limits on the tenant form, without storing anything that identifies a client.

Area links (posters) can be answered more than once by nature, so they cannot be made
stuffing-proof; they can be made slow to stuff. Each process counts, in memory only, the
answers it stored through area links per client and round, and the codes typed in per client.
A client is known only by an HMAC of its address under a random key that lives in this
process's memory and is never written anywhere: the key dies with the process, and what the
counters hold cannot be turned back into an address (DESIGN.md, Privacy). Several processes each
count on their own, so the effective limit is the limit times the number of processes.
The moving-window counting is the `limits` library's.
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


@dataclass(frozen=True)
class Verdict:
    """Whether a request may go on, and if not, after how many seconds to try again."""

    allowed: bool
    retry_after: int = 0


class FormThrottle:
    """The tenant form's limits for one process."""

    def __init__(self, *, link_answers: str, code_attempts: str) -> None:
        self._key = secrets.token_bytes(32)
        self._rates = (link_answers, code_attempts)

    # `limits` loads on the first request that needs it, not when the app starts.
    @cached_property
    def _limiter(self) -> MovingWindowRateLimiter:
        from limits.storage import MemoryStorage
        from limits.strategies import MovingWindowRateLimiter

        return MovingWindowRateLimiter(MemoryStorage())

    @cached_property
    def link_answers(self) -> RateLimitItem:
        from limits import parse

        return parse(self._rates[0])

    @cached_property
    def code_attempts(self) -> RateLimitItem:
        from limits import parse

        return parse(self._rates[1])

    def _client(self, address: str | None) -> str:
        return hmac.new(self._key, (address or "").encode(), hashlib.sha256).hexdigest()

    def _hit(self, item: RateLimitItem, *identifiers: str) -> Verdict:
        if self._limiter.hit(item, *identifiers):
            return Verdict(True)
        reset_at = self._limiter.get_window_stats(item, *identifiers).reset_time
        return Verdict(False, max(1, math.ceil(reset_at - time.time())))

    def link_answer(self, address: str | None, round_id: int) -> Verdict:
        """Count an answer sent through an area link of a round."""
        return self._hit(self.link_answers, "link", self._client(address), str(round_id))

    def code_attempt(self, address: str | None) -> Verdict:
        """Count a code typed in on the code page."""
        return self._hit(self.code_attempts, "code", self._client(address))
