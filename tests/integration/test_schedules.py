"""Scheduled flows fire once per slot, also with several workers on one store."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from app.engine.loader import load_flows
from app.engine.worker import Worker
from app.events import Event
from app.settings import Settings
from app.store import Store
from connectors.registry import Connectors

FLOW = """
name: digest
on:
  schedule: {cron: "0 9 * * MON", timezone: Europe/Paris}
steps:
  - use: http.request
    with: {url: "https://example.com/digest"}
"""


async def test_two_workers_one_event_per_slot_and_missed_slots_fire_once(tmp_path: Path) -> None:
    (tmp_path / "digest.yaml").write_text(FLOW)
    settings = Settings(_env_file=None)
    flows = load_flows(tmp_path, env=lambda _: None, actions=Connectors(settings).actions)
    assert not flows.problems
    url = f"sqlite:///{tmp_path}/p.db"
    now = [datetime(2026, 11, 12, 12, 0, tzinfo=UTC)]  # a Thursday: armed then
    stores = [await Store.open(url, clock=lambda: now[0]) for _ in range(2)]
    connectors = Connectors(settings)

    def worker(store: Store) -> Worker:
        async def submit(event: Event) -> object:
            matched = flows.matching(event)
            return (await store.ingest([(event, matched)]))[0]

        return Worker(store=store, flows=flows, connectors=connectors, submit=submit,
                      clock=lambda: now[0])

    workers = [worker(s) for s in stores]
    try:
        await asyncio.gather(*(w.fire_schedules() for w in workers))  # arms the flow
        # Three Mondays pass while the hub is down; both workers come back together.
        now[0] = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
        for _ in range(3):
            await asyncio.gather(*(w.fire_schedules() for w in workers))
        async with stores[0].engines.read.connect() as conn:
            rows = (await conn.execute(sa.text(
                "SELECT e.data, r.flow FROM events e JOIN runs r ON r.event_id = e.id"))).all()
        assert len(rows) == 1, rows
        data = rows[0][0]
        assert isinstance(data, str) and "2026-11-30T09:00:00+01:00" in data
        # The next slot fires once more.
        now[0] += timedelta(days=7)
        await asyncio.gather(*(w.fire_schedules() for w in workers))
        async with stores[0].engines.read.connect() as conn:
            count = (await conn.execute(sa.text("SELECT count(*) FROM runs"))).scalar_one()
        assert count == 2
    finally:
        for s in stores:
            await s.close()
        await connectors.aclose()
