"""When to try a failed run again: a pure decision, testable without a clock."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from app.errors import ConnectorError


@dataclass(frozen=True)
class Retry:
    delay: float


@dataclass(frozen=True)
class GiveUp:
    reason: str


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter, honouring ``Retry-After``.

    Attempt ``n`` (1-based) waits ``base * 2**(n-1)`` seconds capped at ``cap``, of which the
    upper half is random ("equal jitter"), so many runs failing together do not come back
    together. A server's ``Retry-After`` is a floor: we never come back sooner than asked.
    """

    max_attempts: int = 8
    base: float = 2.0
    cap: float = 300.0

    def decide(
        self, error: BaseException, attempt: int, *, rand: Callable[[], float] = random.random
    ) -> Retry | GiveUp:
        message = str(error) or type(error).__name__
        if not isinstance(error, ConnectorError) or not error.retryable:
            return GiveUp(message)
        if attempt >= self.max_attempts:
            tries = "1 attempt" if attempt == 1 else f"{attempt} attempts"
            return GiveUp(f"gave up after {tries}: {message}")
        full = min(self.cap, self.base * 2 ** (attempt - 1))
        delay = full / 2 + rand() * full / 2
        if error.retry_after is not None:
            delay = max(delay, error.retry_after)
        return Retry(delay)
