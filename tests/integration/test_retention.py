"""Retention: the worker prunes old finished work; failed runs wait for `prune --failed`."""

from __future__ import annotations

import asyncio
import os
import subprocess
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from app.engine.loader import FlowSet
from app.engine.worker import Worker
from app.events import Event, utcnow
from app.store import Store
from app.store import tables as t
from connectors.registry import Connectors

ROOT = Path(__file__).resolve().parents[2]


async def seed(store: Store) -> dict[str, str]:
    """Old succeeded, old failed, old queued and recent succeeded events; name -> event id."""
    old = utcnow() - timedelta(days=45)
    ids = {}
    for name, at in (("ok", old), ("bad", old), ("waiting", old), ("recent", utcnow())):
        event = Event(source="make", type="webhook", dedupe_key=f"k:{name}", data={},
                      received_at=at)
        [res] = await store.ingest([(event, ["f"])])
        ids[name] = res.event_id
    runs = {r.event_id: r.id for r in await store.claim(worker="w", limit=10, lease=60)}
    await store.finish(run_id=runs[ids["ok"]], worker="w")
    await store.finish(run_id=runs[ids["recent"]], worker="w")
    await store.fail(run_id=runs[ids["bad"]], worker="w", error="404")
    await store.release(worker="w", run_ids=[runs[ids["waiting"]]])
    return ids


async def event_ids(store: Store) -> set[str]:
    return {r.event_id for r in await store.list_runs(limit=100)}


async def test_worker_prunes_by_retention_and_keeps_failed(store_url: str, make_settings) -> None:
    store = await Store.open(store_url)
    try:
        ids = await seed(store)
        # Old events finished long ago count as old; those finished just now are kept a
        # retention period more, so age the finishing times as the calendar would have.
        async with store.engines.write.begin() as conn:
            await conn.execute(sa.update(t.runs).where(t.runs.c.event_id.in_(
                [ids["ok"], ids["bad"]])).values(finished_at=utcnow() - timedelta(days=44)))
        worker = Worker(store=store, flows=FlowSet(), connectors=Connectors(make_settings()),
                        submit=lambda *_: asyncio.sleep(0), retention=timedelta(days=30),
                        tick_interval=0.05, poll_interval=0.05,
                        concurrency=0)  # housekeeping only: it claims no run
        stop = asyncio.Event()
        task = asyncio.create_task(worker.run(stop, grace=1))
        async with asyncio.timeout(10):
            while ids["ok"] in await event_ids(store):
                await asyncio.sleep(0.05)
        stop.set()
        await task
        left = await event_ids(store)
        assert left == {ids["bad"], ids["recent"], ids["waiting"]}
        [failed] = await store.list_runs(status="failed")
        assert (failed.event_id, failed.error) == (ids["bad"], "404")
    finally:
        await store.close()


async def test_prune_command_deletes_failed_only_when_asked(store_url: str) -> None:
    store = await Store.open(store_url)
    try:
        ids = await seed(store)
    finally:
        await store.close()
    env = {**os.environ, "PASSERELLE_DATABASE_URL": store_url}

    def prune(*args: str) -> str:
        out = subprocess.run([str(ROOT / ".venv/bin/passerelle"), "prune", *args], env=env,
                             capture_output=True, text=True, timeout=60, check=True)
        return out.stdout

    # "now" is a few milliseconds after the runs finished: a cut-off of 0 days takes them.
    assert "pruned 2 event(s) older than 0 day(s)" in prune("--older-than", "0")
    assert "pruned 0 event(s)" in (again := prune("--older-than", "0"))
    assert "failed runs kept" in again
    assert "pruned 1 event(s)" in prune("--older-than", "0", "--failed")
    store = await Store.open(store_url)
    try:
        assert await event_ids(store) == {ids["waiting"]}
    finally:
        await store.close()
