"""The shared quota, the durable state port and interactive-first claims, on every backend.

Two ``Store`` instances (two connection pools, as two processes would have) share one bucket:
whatever their number, the slots they are given are ``1/rate`` apart after the burst.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from datetime import UTC, datetime, timedelta

import pytest

from app.events import Event
from app.store import Store
from app.store.durable import StoreState
from app.store.quota import StoreQuota


async def test_two_processes_share_one_bucket(store_url: str) -> None:
    a, b = await Store.open(store_url), await Store.open(store_url)
    try:
        start = time.time()
        qa, qb = StoreQuota(a, clock=lambda: start), StoreQuota(b, clock=lambda: start)
        # 12 requests at once from two "processes", 3 per second after a burst of 3.
        waits = await asyncio.gather(*[
            q.reserve("notion:x", rate=3.0, burst=3.0) for q in [qa, qb] * 6])
    finally:
        await a.close()
        await b.close()
    slots = sorted(w for w in waits if w is not None)
    assert slots[:3] == [0.0, 0.0, 0.0]  # the burst
    gaps = [y - x for x, y in itertools.pairwise(slots[2:])]
    assert gaps == pytest.approx([1 / 3] * 9, abs=1e-4)  # one slot every 1/3 s, across both
    # 12 requests sent at their slots span 3 s: at most 3 requests per second (+ the burst).
    assert slots[-1] == pytest.approx(3.0, abs=1e-4)


async def test_bulk_leaves_the_near_future_and_a_429_holds_everyone(store_url: str) -> None:
    store = await Store.open(store_url)
    try:
        now = [1000.0]
        quota = StoreQuota(store, clock=lambda: now[0])
        assert await quota.reserve("q", rate=2.0, burst=1.0, horizon=0.6) == 0
        assert await quota.reserve("q", rate=2.0, burst=1.0, horizon=0.6) == pytest.approx(0.5)
        # The next slot is 1 s away: a bulk caller (horizon 0.6 s) does not take it ...
        assert await quota.reserve("q", rate=2.0, burst=1.0, horizon=0.6) is None
        # ... an interactive one does.
        assert await quota.reserve("q", rate=2.0, burst=1.0) == pytest.approx(1.0)
        await quota.pause("q", 10.0, rate=2.0, burst=1.0)  # Retry-After: 10
        assert await quota.reserve("q", rate=2.0, burst=1.0) == pytest.approx(10.0)
    finally:
        await store.close()


async def test_durable_state_keeps_any_key(store_url: str) -> None:
    store = await Store.open(store_url)
    try:
        state = StoreState(store)
        long_key = "ds\0" + "k" * 1000  # longer than kv's key column
        await state.put_many("ns", {long_key: {"page": "p1"}, "short": 1})
        assert await state.get("ns", long_key) == {"page": "p1"}
        await state.put("ns", long_key, None)
        assert await state.get("ns", long_key) is None and await state.get("ns", "short") == 1
    finally:
        await store.close()


async def test_interactive_runs_are_claimed_before_a_queued_import(store_url: str) -> None:
    store = await Store.open(store_url)
    try:
        t0 = datetime.now(UTC) - timedelta(minutes=5)
        bulk = [(Event(source="feedback", type="webhook", dedupe_key=f"w{i}", data={},
                       received_at=t0 + timedelta(seconds=i)), ["feedback-webhook"])
                for i in range(20)]
        await store.ingest(bulk)
        command = Event(source="slack", type="slack.command", dedupe_key="c1", data={})
        [done] = await store.ingest([(command, ["feedback-command"])])
        claimed = await store.claim(worker="w", limit=3, lease=30)
        assert [r.flow for r in claimed] == ["feedback-command", "feedback-webhook",
                                             "feedback-webhook"]
        assert claimed[0].id == done.runs[0]
    finally:
        await store.close()
