"""Outside API requests per minute and outcome, saved by every process for the dashboard.

Each process tallies its requests (``connectors.ratelimit.tally``) and saves the tallies here
every few seconds; the dashboard's "Now" adds up the last hour. Rows older than two hours are
dropped as new ones are saved.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict
from typing import Any

import sqlalchemy as sa

from app.store import tables as t
from app.store.store import Store
from connectors.ratelimit import restore, take_usage

log = logging.getLogger("passerelle.store")

NAMESPACE = "api-usage"
KEEP_MINUTES = 120


def _key(minute: int, api: str) -> str:
    return f"{minute:012d}:{api}"  # sorts by time as text


async def save(store: Store, usage: dict[tuple[int, str, str], int]) -> None:
    """Add ``usage`` ((minute, api, outcome) → requests) to the stored counts."""
    k = t.kv
    rows: dict[str, dict[str, int]] = defaultdict(dict)
    for (minute, api, outcome), n in usage.items():
        rows[_key(minute, api)][outcome] = rows[_key(minute, api)].get(outcome, 0) + n
    if not rows:
        return
    oldest = _key(int(time.time() // 60) - KEEP_MINUTES, "")
    async with store.engines.write.begin() as conn:
        for key, counts in sorted(rows.items()):
            where = (k.c.namespace == NAMESPACE, k.c.key == key)
            found = (await conn.execute(
                sa.select(k.c.value).where(*where).with_for_update())).scalar()
            if found is None:
                stmt = store._insert(k).values(namespace=NAMESPACE, key=key, value=counts,
                                               updated_at=store.clock())
                if (await conn.execute(stmt.on_conflict_do_nothing())).rowcount:
                    continue
                found = (await conn.execute(
                    sa.select(k.c.value).where(*where).with_for_update())).scalar() or {}
            merged = {o: int(found.get(o, 0)) + counts.get(o, 0) for o in {*found, *counts}}
            await conn.execute(sa.update(k).where(*where).values(value=merged,
                                                                 updated_at=store.clock()))
        await conn.execute(sa.delete(k).where(k.c.namespace == NAMESPACE, k.c.key < oldest))


async def last_hour(store: Store) -> dict[str, dict[str, int]]:
    """Requests of the last 60 minutes by API and outcome (every process's, saved or not)."""
    await save(store, take_usage())
    k = t.kv
    since = _key(int(time.time() // 60) - 59, "")
    q = sa.select(k.c.key, k.c.value).where(k.c.namespace == NAMESPACE, k.c.key >= since)
    async with store.engines.read.connect() as conn:
        found = (await conn.execute(q)).all()
    out: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for key, value in found:
        api = str(key).split(":", 1)[1]
        for outcome, n in (value or {}).items():
            out[api][outcome] += int(n)
    return {api: dict(counts) for api, counts in sorted(out.items())}


async def keep_saving(store: Store, stop: asyncio.Event, *, every: float = 10.0) -> None:
    """Save this process's tallies every ``every`` seconds until ``stop``, then once more."""
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=every)
        usage = take_usage()
        try:
            await save(store, usage)
        except Exception as exc:  # a tally not saved must not stop the process
            log.warning("api usage not saved", extra={"error": type(exc).__name__})
            for key, n in usage.items():  # counted again with the next save
                restore(key, n)


def quota_use(usage: dict[str, dict[str, int]], notion_rate: float) -> list[dict[str, Any]]:
    """Rows for the dashboard: requests, 429s and (Notion) the share of the hour's quota."""
    rows = []
    for api in ("notion", "slack"):
        counts = usage.get(api, {})
        total = sum(counts.values())
        row: dict[str, Any] = {"api": api, "requests": total, "rate_limited": counts.get("429", 0),
                               "server_errors": counts.get("5xx", 0)}
        if api == "notion":
            row["share"] = total / (notion_rate * 3600)
        rows.append(row)
    return rows
