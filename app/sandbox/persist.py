"""The stand-ins' state kept in the hub's store, so a restart keeps the sandbox's pages,
databases, blocks, comments, messages and views (and runs keep linking to live pages).

Each stand-in turns its workspace into JSON (`snapshot()`) and back (`restore()`); this module
keeps the latest snapshot of each in the store's key-value table (namespace `sandbox`). The
`SandboxKeeper` restores at start, saves at most every `interval` seconds after a change (in a
task, off the request path) and once more at shutdown. Rate buckets, response_urls and the
like are not kept: they are short-lived in Slack and Notion too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any, Protocol

from app.settings import Settings
from app.store import Store

NAMESPACE = "sandbox"
log = logging.getLogger("passerelle.sandbox")


class Keepable(Protocol):
    version: int
    on_change: Callable[[], None] | None

    def snapshot(self) -> dict[str, Any]: ...

    def restore(self, data: dict[str, Any]) -> None: ...

    def reset(self) -> None: ...


class SandboxKeeper:
    """Keeps the given stand-ins (by name) in `store`.

    Event-driven: a stand-in that changes calls `changed()` (its `on_change` hook), which
    schedules one save `interval` seconds later; an idle sandbox costs nothing.
    """

    def __init__(self, store: Store, sandboxes: dict[str, Keepable], *,
                 interval: float = 0.5) -> None:
        self._store, self._sandboxes, self._interval = store, sandboxes, interval
        self._saved: dict[str, int] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pending: asyncio.TimerHandle | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        for name, sandbox in self._sandboxes.items():
            data = await self._store.kv_get(NAMESPACE, name)
            if isinstance(data, dict):
                try:
                    sandbox.restore(data)
                except (KeyError, TypeError, ValueError) as exc:
                    # A snapshot from an older shape: start from the seed rather than fail.
                    log.warning("sandbox state not restored", extra={"sandbox": name,
                                                                     "error": str(exc)})
                    sandbox.reset()
            self._saved[name] = sandbox.version
        self._loop = asyncio.get_running_loop()
        for sandbox in self._sandboxes.values():
            sandbox.on_change = self.changed

    def changed(self) -> None:
        """A stand-in changed (called from any thread): save soon, once."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._schedule)

    def _schedule(self) -> None:
        if self._pending is None and (self._task is None or self._task.done()):
            self._pending = asyncio.get_running_loop().call_later(self._interval, self._fire)

    def _fire(self) -> None:
        self._pending = None
        self._task = asyncio.get_running_loop().create_task(self._save_logged())

    async def _save_logged(self) -> None:
        started = time.monotonic()
        try:
            await self.save()
        except Exception:  # the store may be briefly unavailable: the next change retries
            log.exception("sandbox state not saved")
        # A big sandbox (a benchmark's thousands of pages) takes a while to copy: wait a few
        # times as long before the next save, so saving takes at most a fifth of the time.
        await asyncio.sleep(4 * (time.monotonic() - started))
        if any(s.version != self._saved.get(n) for n, s in self._sandboxes.items()):
            self._task = None
            self._schedule()

    async def stop(self) -> None:
        for sandbox in self._sandboxes.values():
            sandbox.on_change = None
        self._loop = None
        if self._pending is not None:
            self._pending.cancel()
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.save()

    async def reset(self) -> None:
        """Back to the seeded state, in memory and in the store."""
        for sandbox in self._sandboxes.values():
            sandbox.reset()
        await self.save(force=True)

    async def save(self, *, force: bool = False) -> None:
        for name, sandbox in self._sandboxes.items():
            version = sandbox.version
            if force or version != self._saved.get(name):
                # Snapshots are taken under the stand-in's lock, in a thread: the event loop
                # keeps serving while a large workspace is copied.
                data = await asyncio.to_thread(sandbox.snapshot)
                await self._store.kv_put(NAMESPACE, name, data)
                self._saved[name] = version


async def clear_stored(settings: Settings) -> None:
    """Forgets the stored sandbox (used by `passerelle sandbox reset` when no hub runs)."""
    store = await Store.open(settings.database_url)
    try:
        for name in ("notion", "slack"):
            await store.kv_put(NAMESPACE, name, None)
    finally:
        await store.close()
