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
from typing import Any, Protocol

from app.settings import Settings
from app.store import Store

NAMESPACE = "sandbox"
log = logging.getLogger("passerelle.sandbox")


class Keepable(Protocol):
    version: int

    def snapshot(self) -> dict[str, Any]: ...

    def restore(self, data: dict[str, Any]) -> None: ...

    def reset(self) -> None: ...


class SandboxKeeper:
    """Keeps the given stand-ins (by name) in `store`."""

    def __init__(self, store: Store, sandboxes: dict[str, Keepable], *,
                 interval: float = 0.5) -> None:
        self._store, self._sandboxes, self._interval = store, sandboxes, interval
        self._saved: dict[str, int] = {}
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
        self._task = asyncio.create_task(self._loop(), name="sandbox-keeper")

    async def stop(self) -> None:
        if self._task is not None:
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

    async def _loop(self) -> None:
        pause = self._interval
        while True:
            await asyncio.sleep(pause)
            started = time.monotonic()
            try:
                await self.save()
            except Exception:  # the store may be briefly unavailable: try again next time
                log.exception("sandbox state not saved")
            # A big sandbox (a benchmark's thousands of pages) takes a while to copy: saving
            # then spends at most a fifth of the time, instead of saving back to back.
            pause = max(self._interval, 4 * (time.monotonic() - started))


async def clear_stored(settings: Settings) -> None:
    """Forgets the stored sandbox (used by `passerelle sandbox reset` when no hub runs)."""
    store = await Store.open(settings.database_url)
    try:
        for name in ("notion", "slack"):
            await store.kv_put(NAMESPACE, name, None)
    finally:
        await store.close()
