"""Narrow ports through which connectors keep durable state, without knowing the store.

The hub gives a connector these at construction (``app/runtime.py``); the SQL behind them
lives in ``app/store/`` (``durable.py`` and ``quota.py``). Tests may pass in-memory versions.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol


class DurableState(Protocol):
    """Small keyed JSON values shared by every process of the hub, and a cross-process lock."""

    async def get(self, namespace: str, key: str) -> Any:
        """The value stored under ``key``, or ``None``."""

    async def put(self, namespace: str, key: str, value: Any) -> None:
        """Store ``value`` (``None`` forgets the key)."""

    async def put_many(self, namespace: str, values: dict[str, Any]) -> None:
        """Store several values in one transaction."""

    def lock(self, name: str) -> AbstractAsyncContextManager[None]:
        """Hold ``name`` against every process of the hub."""


class SharedQuota(Protocol):
    """One request quota for all the hub's processes (a token bucket kept in the store)."""

    async def reserve(self, name: str, *, rate: float, burst: float,
                      horizon: float | None = None) -> float | None:
        """Reserve the next free request slot of ``name``: the seconds to wait before sending.

        With ``horizon``, a slot further away than that is not taken (``None`` comes back)
        so that low-priority callers leave the near future to interactive ones.
        """

    async def pause(self, name: str, seconds: float, *, rate: float, burst: float) -> None:
        """The API answered ``Retry-After: seconds``: no slot before then, for anyone."""
