"""The polling watcher never emits a change twice and misses none (random edit sequences)."""

from __future__ import annotations

import random
from typing import Any

import pytest

from app.engine.loader import FlowSet, lint_text
from app.events import Event
from app.receivers.notion_poll import SNAPSHOTS, NotionWatcher
from connectors.base import ActionContext
from connectors.notion.connector import CreatePageInput, NotionConnector, UpdatePageInput
from connectors.registry import all_actions

CTX = ActionContext(run_id="t", flow="t", step_id="t")
FLOW = """
name: watch
on:
  notion.page: {database: Feedback, include_own: true}
steps:
  - use: notion.get_page
    with: {page: "{{ event.page_id }}"}
"""
LEVELS = ["Low", "Medium", "High", "Critical"]


def flowset() -> FlowSet:
    flow, problems = lint_text("watch.yaml", FLOW, env=lambda _: None, actions=all_actions())
    assert flow is not None, problems
    return FlowSet(flows={flow.name: flow})


@pytest.mark.parametrize("seed", range(4))
async def test_random_edits_each_change_once(hub_factory: Any, seed: int) -> None:
    rng = random.Random(seed)
    with hub_factory(worker=False) as hub:
        async with hub.store() as store:
            notion = NotionConnector(hub.settings)
            flows = flowset()
            emitted: list[Event] = []
            duplicates = 0

            async def submit(event: Event) -> None:
                nonlocal duplicates
                result = (await store.ingest([(event, flows.matching(event))]))[0]
                duplicates += result.duplicate
                if not result.duplicate:
                    emitted.append(event)

            watcher = NotionWatcher(store=store, flows=flows, connector=notion, submit=submit,
                                    poll_seconds=0.001)
            try:
                old = await notion.create_page(CreatePageInput(database="Feedback", properties={
                    "Name": "before", "Importance": "Low"}), CTX)
                await watcher.tick()  # baseline: existing pages make no events
                assert emitted == []
                now: dict[str, str] = {old["id"]: "Low"}
                seen: dict[str, str | None] = {old["id"]: "Low"}
                for _ in range(40):
                    op = rng.random()
                    if op < 0.2:
                        made = await notion.create_page(CreatePageInput(
                            database="Feedback", properties={"Name": "n", "Importance": "Low"}),
                            CTX)
                        now[made["id"]] = "Low"
                        seen[made["id"]] = None
                    elif op < 0.7:
                        pid = rng.choice(sorted(now))
                        now[pid] = rng.choice(LEVELS)
                        await notion.update_page(UpdatePageInput(
                            page=pid, properties={"Importance": now[pid]}), CTX)
                    else:
                        before = len(emitted)
                        watcher._polled.clear()
                        await watcher.tick()
                        got = {e.data["page_id"]: e for e in emitted[before:]}
                        expected = {p for p in now if seen[p] != now[p]}
                        assert set(got) == expected
                        for pid, event in got.items():
                            assert event.data["created"] is (seen[pid] is None)
                            if seen[pid] is not None:
                                assert event.data["changes"] == {
                                    "Importance": {"old": seen[pid], "new": now[pid]}}
                            assert event.data["page"]["Importance"] == now[pid]
                        seen.update(now)
                # A final poll catches the tail; another finds nothing new.
                watcher._polled.clear()
                await watcher.tick()
                seen.update(now)
                keys = [e.dedupe_key for e in emitted]
                assert len(keys) == len(set(keys))
                watcher._polled.clear()
                before = len(emitted)
                await watcher.tick()
                assert len(emitted) == before
                # A crash between submit and snapshot: the repeat is the same stored event.
                value = next(v for v in LEVELS if v != now[old["id"]])
                await notion.update_page(UpdatePageInput(
                    page=old["id"], properties={"Importance": value}), CTX)
                kept = await store.kv_get(SNAPSHOTS, old["id"])
                watcher._polled.clear()
                await watcher.tick()
                assert len(emitted) == before + 1 and duplicates == 0
                await store.kv_put(SNAPSHOTS, old["id"], kept)  # the snapshot write was lost
                watcher._polled.clear()
                await watcher.tick()
                assert len(emitted) == before + 1 and duplicates == 1
            finally:
                await notion.aclose()
