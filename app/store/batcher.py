"""Group commit for ingest: many requests, one transaction, each answered after its commit.

Requests that arrive while a transaction is being written wait for the next one, so under
load each commit carries many events and the disk sync is paid once per group, not once per
request. Under no load a lone request commits at once: there is no timer to wait for.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from app.events import Event
from app.store.group import Grouped
from app.store.records import IngestResult
from app.store.store import Store

_Item = tuple[Event, Sequence[str], asyncio.Future[IngestResult]]


class IngestBatcher(Grouped[_Item]):
    def __init__(self, store: Store, *, max_batch: int | None = None) -> None:
        super().__init__(max_group=max_batch or store.group_size, name="ingest-writer",
                         in_flight=store.writers)
        self.store = store

    async def submit(self, event: Event, flows: Sequence[str]) -> IngestResult:
        """Store one event and its runs; returns once they are committed."""
        fut: asyncio.Future[IngestResult] = self._future()
        self._add((event, flows, fut))
        return await fut

    async def _write(self, batch: list[_Item]) -> None:
        results = await self.store.ingest([(e, f) for e, f, _ in batch])
        for (_, _, fut), result in zip(batch, results, strict=True):
            if not fut.done():
                fut.set_result(result)

    def _refuse(self, item: _Item, exc: Exception) -> None:
        # Nothing was acked: the caller answers an error and the sender retries.
        if not item[2].done():
            item[2].set_exception(exc)
