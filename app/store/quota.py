"""The store behind ``connectors.ports.SharedQuota``: one token bucket per API, all processes.

Each bucket is a row of ``kv`` holding the GCRA "theoretical arrival time" (wall-clock
seconds): a caller locks the row (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite's single
writer serialises the transaction), takes the next free slot and moves the time on by one
interval. The caller then waits until its slot, so the API servers and workers together send
at most ``rate`` requests per second after a burst of ``burst``, whatever their number.
Wall-clock time is shared by the processes of one machine; across machines their clocks
must agree to well under a second (NTP).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from app.store import tables as t
from app.store.store import Store

NAMESPACE = "quota"


class StoreQuota:
    """``SharedQuota`` on the hub's store."""

    def __init__(self, store: Store, *, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.clock = clock

    async def reserve(self, name: str, *, rate: float, burst: float,
                      horizon: float | None = None) -> float | None:
        def take(now: float, tat: float) -> tuple[float | None, float]:
            interval, tolerance = 1.0 / rate, max(0.0, burst - 1) / rate
            tat = max(tat, now)
            slot = max(now, tat - tolerance)
            if horizon is not None and slot - now > horizon:
                return None, tat
            return slot - now, tat + interval

        wait: float | None = await self._update(name, take)
        return wait

    async def pause(self, name: str, seconds: float, *, rate: float, burst: float) -> None:
        def hold(now: float, tat: float) -> tuple[None, float]:
            return None, max(tat, now + seconds + max(0.0, burst - 1) / rate)

        await self._update(name, hold)

    async def _update(self, name: str,
                      fn: Callable[[float, float], tuple[Any, float]]) -> Any:
        k = t.kv
        where = (k.c.namespace == NAMESPACE, k.c.key == name)
        async with self.store.engines.write.begin() as conn:
            select = sa.select(k.c.value).where(*where).with_for_update()
            value = (await conn.execute(select)).scalar()
            if value is None:
                stmt = self.store._insert(k).values(
                    namespace=NAMESPACE, key=name, value={"tat": 0.0},
                    updated_at=self.store.clock())
                await conn.execute(stmt.on_conflict_do_nothing())
                value = (await conn.execute(select)).scalar()
            stored = float((value or {}).get("tat", 0.0))
            answer, tat = fn(self.clock(), stored)
            await conn.execute(sa.update(k).where(*where).values(
                value={"tat": tat}, updated_at=self.store.clock()))
        return answer
