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
    def __init__(self, store: Store, *, max_batch: int = 256) -> None:
        super().__init__(max_group=max_batch, name="ingest-writer", in_flight=store.writers)
        self.store = store

    async def submit(self, event: Event, flows: Sequence[str]) -> IngestResult:
        """Store one event and its runs; returns once they are committed."""
        fut: asyncio.Future[IngestResult] = self._future()
        self._add((event, flows, fut))
        return await fut

    async def _commit(self, batch: list[_Item]) -> None:
        try:
            results = await self.store.ingest([(e, f) for e, f, _ in batch])
        except Exception as exc:
            if len(batch) > 1:  # one event the store refuses must not fail the others
                for item in batch:
                    await self._commit([item])
                return
            # Nothing was acked: the caller answers an error and the sender retries.
            if not batch[0][2].done():
                batch[0][2].set_exception(exc)
            return
        for (_, _, fut), result in zip(batch, results, strict=True):
            if not fut.done():
                fut.set_result(result)
