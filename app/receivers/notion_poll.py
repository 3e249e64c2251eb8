"""Turning Notion changes into ``notion.page`` events: polling, and webhook signals.

For each data source a ``notion.page`` trigger names, the watcher keeps a cursor (the newest
``last_edited_time`` it has processed) and a snapshot of every page. A poll queries pages
edited on or after ``cursor - OVERLAP`` — Notion keeps edit times to the minute and its
query index can lag, so the window looks back further than the cursor — and emits an event
only for pages whose values differ from their snapshot. Nothing is missed (every edit moves
``last_edited_time`` to at least the cursor's minute) and nothing is emitted twice (an
unchanged page matches its snapshot; an event repeated by a crash between submit and snapshot
has the same dedupe key and is stored once).

The first time a data source is watched, its pages are snapshotted without events, so
deploying a flow does not replay a database's history.

Webhook deliveries only mark a data source as signalled (see ``receivers/notion.py``); the
watcher then polls it at once, so both paths share this one diff.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from app.engine.loader import FlowSet
from app.engine.triggers import NotionPageTrigger
from app.errors import ConnectorError
from app.events import Event
from app.receivers.notion_diff import page_event, snapshot
from app.store import Store
from connectors.notion.connector import NotionConnector
from connectors.notion.schema import DataSource
from connectors.notion.values import query_pages

log = logging.getLogger("passerelle.notion")

OVERLAP = timedelta(minutes=2)
CURSORS = "notion-cursor"
SNAPSHOTS = "notion-page"
SIGNALS = "notion-signal"
EPOCH = "2000-01-01T00:00:00+00:00"
ALL = "*"  # a signal whose data source is unknown: poll every watched one


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


class NotionWatcher:
    """Polls watched data sources; registered as a worker periodic job."""

    def __init__(self, *, store: Store, flows: FlowSet, connector: NotionConnector,
                 submit: Callable[[Event], Awaitable[object]], poll_seconds: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.store = store
        self.flows = flows
        self.connector = connector
        self.submit = submit
        self.poll_seconds = poll_seconds  # 0: only when signalled by a webhook
        self.clock = clock
        self._polled: dict[str, float] = {}

    def refs(self) -> list[str]:
        """Database references named by enabled ``notion.page`` triggers."""
        return sorted({flow.trigger.database for flow in self.flows.flows.values()
                       if flow.enabled and isinstance(flow.trigger, NotionPageTrigger)})

    async def sources(self) -> list[DataSource]:
        found: dict[str, DataSource] = {}
        for ref in self.refs():
            try:
                ds = await self.connector.schemas.resolve(ref)
            except ConnectorError as exc:
                log.warning("notion trigger database unavailable",
                            extra={"database": ref, "error": exc.message})
                continue
            found[ds.id] = ds
        return list(found.values())

    async def tick(self) -> None:
        """The periodic job: poll what is due or signalled."""
        await self.run(signalled_only=False)

    async def process_signals(self) -> None:
        await self.run(signalled_only=True)

    async def run(self, *, signalled_only: bool) -> int:
        emitted = 0
        sources = await self.sources()
        wildcard = await self.store.kv_get(SIGNALS, ALL)
        for ds in sources:
            mark = None
            for key in (ds.id, ds.database_id, ALL):
                mark = mark or await self.store.kv_get(SIGNALS, key)
            last = self._polled.get(ds.id)
            due = self.poll_seconds > 0 and (last is None or
                                             self.clock() - last >= self.poll_seconds)
            if not mark and (signalled_only or not due):
                continue
            emitted += await self.poll(ds)
            self._polled[ds.id] = self.clock()
            for key in (ds.id, ds.database_id):
                await self._clear(key, await self.store.kv_get(SIGNALS, key))
        await self._clear(ALL, wildcard)
        return emitted

    async def _clear(self, key: str, seen: Any) -> None:
        # Only clear the mark we handled: a delivery that arrived during the poll set a newer one.
        if seen and await self.store.kv_get(SIGNALS, key) == seen:
            await self.store.kv_put(SIGNALS, key, None)

    async def poll(self, ds: DataSource) -> int:
        """Emit events for the pages of ``ds`` that changed since their snapshot."""
        cursor = await self.store.kv_get(CURSORS, ds.id)
        if cursor is None:
            await self._baseline(ds)
            return 0
        since = (_parse(cursor) - OVERLAP).isoformat()
        pages = await query_pages(
            self.connector.api, ds,
            {"timestamp": "last_edited_time", "last_edited_time": {"on_or_after": since}},
            sorts=[{"timestamp": "last_edited_time", "direction": "ascending"}])
        bot = await self.connector.api.bot_user_id()
        newest, emitted = cursor, 0
        for page in pages:
            old = await self.store.kv_get(SNAPSHOTS, page["id"])
            event = page_event(page, old=old, database_id=ds.database_id,
                               data_source_id=ds.id, database_title=ds.title, bot_user_id=bot)
            if event is not None:
                await self.submit(event)  # committed before the snapshot moves on
                seq = int((old or {}).get("seq", 0)) + 1
                await self.store.kv_put(SNAPSHOTS, page["id"], snapshot(page, seq=seq))
                emitted += 1
            if _parse(page["last_edited_time"]) > _parse(newest):
                newest = page["last_edited_time"]
        if newest != cursor:
            await self.store.kv_put(CURSORS, ds.id, newest)
        return emitted

    async def _baseline(self, ds: DataSource) -> None:
        # The cursor comes from Notion's clock only, never ours: no skew between the two.
        newest = EPOCH
        for page in await query_pages(self.connector.api, ds, None):
            await self.store.kv_setdefault(SNAPSHOTS, page["id"], snapshot(page))
            if _parse(page["last_edited_time"]) > _parse(newest):
                newest = page["last_edited_time"]
        await self.store.kv_setdefault(CURSORS, ds.id, newest)
        log.info("notion data source watched", extra={"database": ds.title, "id": ds.id})


def attach_watcher(*, worker: Any, flows: FlowSet, connectors: Any, store: Store,
                   submit: Callable[[Event], Awaitable[object]], poll_seconds: float,
                   sandbox: bool) -> NotionWatcher | None:
    """Register the watcher on ``worker`` when a flow has a ``notion.page`` trigger.

    Polling interval: ``PASSERELLE_NOTION_POLL_SECONDS`` when set; in sandbox mode (which
    sends no webhooks) every worker tick; otherwise webhook signals only.
    """
    if not any(f.trigger.kind == "notion.page" for f in flows.flows.values()):
        return None
    interval = poll_seconds if poll_seconds > 0 else (worker.tick_interval if sandbox else 0.0)
    watcher = NotionWatcher(store=store, flows=flows, connector=connectors.get("notion"),
                            submit=submit, poll_seconds=interval)
    worker.periodic.append(watcher.tick)
    return watcher
