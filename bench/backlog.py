"""Filling a store with queued runs directly (the receive path is measured elsewhere)."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime

import sqlalchemy as sa

from app.events import Event
from app.store import Store
from app.store import tables as t


async def fill(database_url: str, *, count: int, flow: str, source: str = "bench",
               batch: int = 1000) -> None:
    """Store ``count`` webhook events, each with one queued run of ``flow``."""
    store = await Store.open(database_url)
    try:
        for start in range(0, count, batch):
            await store.ingest([
                (Event(source=source, type="webhook", dedupe_key=f"bench:{i}",
                       data={"text": f"Export to CSV times out (#{i})", "n": i}), [flow])
                for i in range(start, min(start + batch, count))
            ])
    finally:
        await store.close()


async def _progress(database_url: str) -> tuple[dict[str, int], float | None]:
    """Runs by status, and runs per second between the first start and the last finish."""
    store = await Store.open(database_url)
    try:
        counts = await store.count_runs()
        r = t.runs
        q = sa.select(sa.func.min(r.c.started_at), sa.func.max(r.c.finished_at),
                      sa.func.count()).where(r.c.status.in_(("succeeded", "failed")))
        async with store.engines.read.connect() as conn:
            first, last, done = (await conn.execute(q)).one()
    finally:
        await store.close()
    rate = None
    if isinstance(first, datetime) and isinstance(last, datetime) and last > first:
        rate = done / (last - first).total_seconds()
    return counts, rate


def progress(database_url: str) -> tuple[dict[str, int], float | None]:
    return asyncio.run(_progress(database_url))


def wait_until_done(database_url: str, runs: int, *, timeout: float) -> None:
    """Return once ``runs`` runs have succeeded or failed, or after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(2)
        counts, _ = progress(database_url)
        if counts.get("succeeded", 0) + counts.get("failed", 0) >= runs:
            return
