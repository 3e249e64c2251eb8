"""The real ``notion_client.AsyncClient``, paced by a shared token bucket, errors mapped.

Notion allows an average of 3 requests per second per integration. With a ``SharedQuota`` (the
hub passes the store's) every process of the hub takes its slots from one bucket in the
store, so ``serve`` and two workers together stay within the quota; without one (tests, a
bare connector) every run of the process shares an in-process bucket. Interactive runs (a
person waits) reserve the next slot; bulk runs take one only when it is near, so they never
queue in front of a person. The SDK's own retries are off: the runner retries with backoff
and resumes after the last checkpointed step, which the SDK cannot do.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from notion_client import AsyncClient

from app.errors import ConnectorError, PermanentError
from app.metrics import RATE_LIMIT_WAIT
from app.settings import Settings
from connectors.notion.errors import map_errors
from connectors.ports import SharedQuota
from connectors.ratelimit import INTERACTIVE, TokenBucket, outcome_of, tally

NOTION_VERSION = "2025-09-03"
RATE = 3.0  # requests per second, Notion's documented average
BURST = 3.0  # the in-process bucket (no shared quota)
SHARED_BURST = 1.0  # the shared quota: strictly 1/rate apart, never above the rate
BULK_HORIZON = 0.5  # a bulk run takes a shared slot only when it is this close
BULK_POLL = 0.15
SANDBOX_TOKEN = "secret_passerelle_sandbox"  # shaped like an integration token

# One bucket per (token, API) per event loop: a process runs one loop, tests run several.
_BUCKETS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, TokenBucket]] = (
    weakref.WeakKeyDictionary()
)


def shared_bucket(key: str, rate: float = RATE, burst: float = BURST) -> TokenBucket:
    """The process-wide bucket for ``key`` (a digest of the token and the API base URL)."""
    per_loop = _BUCKETS.setdefault(asyncio.get_running_loop(), {})
    if key not in per_loop:
        per_loop[key] = TokenBucket(rate, burst)
    return per_loop[key]


class NotionApi:
    """A thin layer over the SDK: ``call`` paces, sends and maps errors; helpers paginate."""

    def __init__(self, settings: Settings, *, timeout: float = 25.0,
                 quota: SharedQuota | None = None) -> None:
        self.quota = quota
        if settings.notion_sandbox:
            token = SANDBOX_TOKEN
            base_url = f"{settings.sandbox_url.rstrip('/')}/sandbox/notion"
            # The stand-in without rate limits (tests) needs no pacing either.
            self.rate: float | None = (settings.notion_rate_limit
                                       if settings.sandbox_rate_limits else None)
        else:
            assert settings.notion_token is not None
            token = settings.notion_token.get_secret_value()
            base_url = "https://api.notion.com"
            # Notion's quota is per integration; each process paces itself at this rate, so
            # with N processes set PASSERELLE_NOTION_RATE_LIMIT to about 3/N.
            self.rate = settings.notion_rate_limit
        self.base_url = base_url
        self.sdk = AsyncClient(options={
            "auth": token, "base_url": base_url, "notion_version": NOTION_VERSION,
            "timeout_ms": int(timeout * 1000), "retry": False,
            # Our logger, not the SDK's console one: failures are reported once, as our errors.
            "logger": logging.getLogger("passerelle.notion.sdk"), "log_level": logging.ERROR,
        })
        self._key = hashlib.sha256(f"{base_url}\0{token}".encode()).hexdigest()[:24]
        self._me: str | None = None
        self._emails: dict[str, str] | None = None
        self._bulk_gate: asyncio.Lock | None = None  # one bulk waiter per process polls

    @property
    def bucket(self) -> TokenBucket | None:
        return None if self.rate is None else shared_bucket(self._key, self.rate)

    async def call(self, what: str, fn: Callable[..., Awaitable[Any]], /, *,
                   safe_to_repeat: bool = True, **kwargs: Any) -> dict[str, Any]:
        """One API call: wait for a token, send, translate failures (see ``map_errors``)."""
        await self._wait_for_slot()
        paused: list[float] = []
        outcome = "error"
        try:
            with map_errors(what, safe_to_repeat=safe_to_repeat, pause=paused.append):
                result: dict[str, Any] = await fn(**kwargs)
            outcome = "ok"
            return result
        except ConnectorError as exc:
            outcome = outcome_of(getattr(exc.__cause__, "status", None))
            raise
        finally:
            tally("notion", outcome)
            if paused:
                await self._pause(paused[0])

    async def _wait_for_slot(self) -> None:
        if self.rate is None:
            return
        started = time.monotonic()
        if self.quota is None:
            await self.bucket.acquire()  # type: ignore[union-attr]
        else:
            name = f"notion:{self._key}"
            wait: float | None
            if INTERACTIVE.get():
                wait = await self.quota.reserve(name, rate=self.rate, burst=SHARED_BURST)
            else:
                if self._bulk_gate is None:
                    self._bulk_gate = asyncio.Lock()
                async with self._bulk_gate:
                    while (wait := await self.quota.reserve(
                            name, rate=self.rate, burst=SHARED_BURST,
                            horizon=BULK_HORIZON)) is None:
                        await asyncio.sleep(BULK_POLL)
            if wait:
                await asyncio.sleep(wait)
        RATE_LIMIT_WAIT.labels("notion").observe(time.monotonic() - started)

    async def _pause(self, seconds: float) -> None:
        """A 429's ``Retry-After`` stops every run (of every process, with a shared quota)."""
        if self.rate is None:
            return
        if self.quota is None:
            self.bucket.pause(seconds)  # type: ignore[union-attr]
        else:
            await self.quota.pause(f"notion:{self._key}", seconds, rate=self.rate,
                                   burst=SHARED_BURST)

    async def paginate(self, what: str, fn: Callable[..., Awaitable[Any]], /, *,
                       limit: int | None = None, **kwargs: Any) -> AsyncIterator[dict[str, Any]]:
        """Every result of a paginated list or query endpoint (up to ``limit``)."""
        cursor: str | None = None
        seen = 0
        while True:
            args: dict[str, Any] = {**kwargs, "page_size": 100}
            if cursor:
                args["start_cursor"] = cursor
            page = await self.call(what, fn, **args)
            for item in page.get("results", []):
                yield item
                seen += 1
                if limit is not None and seen >= limit:
                    return
            cursor = page.get("next_cursor")
            if not page.get("has_more") or not cursor:
                return

    async def bot_user_id(self) -> str:
        """The integration's own bot user (``users.me``), to recognise our own edits."""
        if self._me is None:
            me = await self.call("notion users.me", self.sdk.users.me)
            self._me = str(me["id"])
        return self._me

    async def user_by_email(self, email: str) -> str | None:
        """A person's user id by email (case-insensitive), from the cached users list."""
        if self._emails is None or email.lower() not in self._emails:
            emails: dict[str, str] = {}
            async for user in self.paginate("notion users.list", self.sdk.users.list):
                address = (user.get("person") or {}).get("email")
                if user.get("type") == "person" and address:
                    emails[str(address).lower()] = str(user["id"])
            if not emails and self._emails is None:
                raise PermanentError(
                    "notion: the users list shows no emails; give the integration the "
                    "'Read user information including email addresses' capability")
            self._emails = emails
        return self._emails.get(email.lower())

    async def aclose(self) -> None:
        await self.sdk.aclose()
