"""Group commit for ingest: many requests, one transaction, each answered after its commit.

Requests that arrive while a transaction is being written wait for the next one, so under
load each commit carries many events and the disk sync is paid once per group, not once per
request. Under no load a lone request commits at once: there is no timer to wait for.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

from app.events import Event
from app.store.records import IngestResult
from app.store.store import Store

_Item = tuple[Event, Sequence[str], asyncio.Future[IngestResult]]


class IngestBatcher:
    def __init__(self, store: Store, *, max_batch: int = 256) -> None:
        self.store = store
        self.max_batch = max_batch
        # A list and an event rather than an asyncio.Queue: the writer takes everything
        # waiting at once, and a put costs a list append.
        self._pending: list[_Item] = []
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def submit(self, event: Event, flows: Sequence[str]) -> IngestResult:
        """Store one event and its runs; returns once they are committed."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._writer(), name="ingest-writer")
        fut: asyncio.Future[IngestResult] = asyncio.get_running_loop().create_future()
        self._pending.append((event, flows, fut))
        self._ready.set()
        return await fut

    async def _writer(self) -> None:
        while True:
            await self._ready.wait()
            self._ready.clear()
            while self._pending:
                batch = self._pending[:self.max_batch]
                del self._pending[:self.max_batch]
                await self._commit(batch)

    async def _commit(self, batch: list[_Item]) -> None:
        try:
            results = await self.store.ingest([(e, f) for e, f, _ in batch])
        except Exception as exc:  # every waiter learns of the failure; nothing was acked
            for _, _, fut in batch:
                if not fut.done():
                    fut.set_exception(exc)
            return
        for (_, _, fut), result in zip(batch, results, strict=True):
            if not fut.done():
                fut.set_result(result)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
