"""Is the SQLite file sound? ``PRAGMA quick_check`` at start and then on a slow interval.

A damaged file (a disk fault, a copy taken mid-write) fails in ways that surface late: reads
that raise, or writes that land in a broken b-tree. Once a check finds damage, ``/readyz``
answers 503 with the reason and ingest refuses (503) rather than write into it (issue 15);
the operator restores a backup or runs ``sqlite3 passerelle.db .recover``. PostgreSQL checks
its own pages: nothing to do there.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import sqlalchemy as sa

from app.errors import StoreDamaged
from app.store import Store

log = logging.getLogger("passerelle.store")
INTERVAL_SECONDS = 15 * 60



class IntegrityWatch:
    """Runs the check; ``problem`` is None while the file is sound."""

    def __init__(self, store: Store, *, interval: float = INTERVAL_SECONDS) -> None:
        self.store, self.interval = store, interval
        self.problem: str | None = None
        self._task: asyncio.Task[None] | None = None

    @classmethod
    async def start(cls, store: Store, *, interval: float = INTERVAL_SECONDS) -> IntegrityWatch:
        watch = cls(store, interval=interval)
        if store.dialect == "sqlite":
            await watch.check()
            watch._task = asyncio.create_task(watch._every(), name="integrity-check")
        return watch

    async def check(self) -> str | None:
        try:
            async with self.store.engines.read.connect() as conn:
                rows = (await conn.execute(sa.text("PRAGMA quick_check"))).scalars().all()
            found = None if list(rows) == ["ok"] else "; ".join(str(r) for r in rows[:5])
        except sa.exc.DBAPIError as exc:  # "file is not a database", "malformed", ...
            found = str(exc.orig)
        if found and found != self.problem:
            log.error("the SQLite store failed its integrity check: ingest refused until it "
                      "is repaired", extra={"problem": found})
        self.problem = found
        return found

    def refuse_writes(self) -> None:
        """Raise StoreDamaged (503) when the last check found damage."""
        if self.problem is not None:
            raise StoreDamaged("the store failed its integrity check (PRAGMA quick_check): "
                               "nothing is written until it is repaired; see /readyz")

    async def _every(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            await self.check()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
