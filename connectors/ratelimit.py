"""Token buckets for outgoing calls, shared by every run of one process.

Each key (an integration token, a Slack channel, a method tier) gets its own bucket. ``acquire``
waits until a token is free, so a worker paces itself below the API's limit instead of
learning it from 429s. Across processes each process has its own buckets: with N workers,
configure the rate as the API limit divided by N (see docs/deploy.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field

# True while a step of an interactive run executes (a person waits: a Slack command,
# shortcut, reaction or modal). Rate limiters serve such requests before bulk work.
INTERACTIVE: ContextVar[bool] = ContextVar("passerelle_interactive", default=False)


@contextlib.contextmanager
def counted(api: str) -> Iterator[list[int]]:
    """Count one request to ``api`` in ``passerelle_api_requests_total`` by its outcome.

    A failure is labelled by the HTTP status of the exception's cause (or of a status the
    block appends to the yielded list, for clients that answer errors without raising).
    """
    statuses: list[int] = []
    outcome = "error"
    try:
        yield statuses
        outcome = outcome_of(statuses[0]) if statuses else "ok"
    except BaseException as exc:
        cause = exc.__cause__
        status = getattr(getattr(cause, "response", None), "status_code", None)
        outcome = outcome_of(status if isinstance(status, int)
                             else getattr(cause, "status", None))
        raise
    finally:
        tally(api, outcome)


# Requests not yet saved to the store, by (minute, api, outcome): the dashboard's hour of
# quota use adds up every process's tallies (app/store/apiusage.py saves them).
_USAGE: dict[tuple[int, str, str], int] = {}


def tally(api: str, outcome: str) -> None:
    """Count one request in ``passerelle_api_requests_total`` and in this minute's tally."""
    from app.metrics import API_REQUESTS

    API_REQUESTS.labels(api, outcome).inc()
    key = (int(time.time() // 60), api, outcome)
    _USAGE[key] = _USAGE.get(key, 0) + 1


def take_usage() -> dict[tuple[int, str, str], int]:
    """The tallies counted since the last call (and forget them)."""
    taken = dict(_USAGE)
    _USAGE.clear()
    return taken


def restore(key: tuple[int, str, str], n: int) -> None:
    """Put back a tally that could not be saved."""
    _USAGE[key] = _USAGE.get(key, 0) + n


def outcome_of(status: int | None) -> str:
    """The ``outcome`` label of ``passerelle_api_requests_total`` for a failed request."""
    if status == 429:
        return "429"
    if status is not None and status >= 500:
        return "5xx"
    return "error"


@dataclass
class TokenBucket:
    rate: float  # tokens per second
    capacity: float  # burst
    clock: Callable[[], float] = time.monotonic
    tokens: float = field(init=False)
    updated: float = field(init=False)
    lock: asyncio.Lock = field(init=False, default_factory=asyncio.Lock)

    def __post_init__(self) -> None:
        self.tokens = self.capacity
        self.updated = self.clock()

    def _refill(self) -> None:
        now = self.clock()
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now

    def wait_time(self) -> float:
        """Seconds until one token is free (0 when one is free now)."""
        self._refill()
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate

    async def acquire(self, sleep: Callable[[float], object] = asyncio.sleep) -> float:
        """Take one token, waiting as needed; returns the seconds waited."""
        waited = 0.0
        async with self.lock:
            while (delay := self.wait_time()) > 0:
                waited += delay
                await sleep(delay)  # type: ignore[misc]
            self.tokens -= 1
        return waited

    def pause(self, seconds: float) -> None:
        """A server said ``Retry-After``: nobody gets a token for ``seconds``."""
        self._refill()
        self.tokens = min(self.tokens, 1 - seconds * self.rate)


class Buckets:
    """Buckets by key, created on first use with the same rate and burst."""

    def __init__(self, rate: float, capacity: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.capacity = capacity
        self.clock = clock
        self._buckets: dict[str, TokenBucket] = {}

    def __getitem__(self, key: str) -> TokenBucket:
        if key not in self._buckets:
            self._buckets[key] = TokenBucket(self.rate, self.capacity, self.clock)
        return self._buckets[key]
