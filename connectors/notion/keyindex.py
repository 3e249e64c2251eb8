"""Which page holds a key, known without asking Notion each time.

The index lives in the hub's store (through the ``DurableState`` port) and is filled by
every create and every lookup. For one data source it answers:

- ``page``: the page this hub created or found for the key (update it directly);
- ``absent``: the key was not in the data source at the last scan, and the scan is recent
  (create the page directly). A scan reads the keys of the pages created since the previous
  scan (the first scan reads them all), at most once a ``REFRESH`` per data source;
- ``unknown``: the index cannot know (a create whose outcome is uncertain, a key property the
  scan does not read): the upsert looks the key up in Notion as before.

Writers of one key are serialised by the upsert's cross-process lock, so two events with one
key never make two pages. A page created by a person with the same key since the last scan
(at most ``REFRESH`` ago) is the one case the index misses; the upsert then creates a second
page, which the next lookup of that key (``unknown`` path) reduces to one again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from connectors.notion.properties import page_to_plain
from connectors.notion.schema import DataSource
from connectors.notion.values import query_pages
from connectors.ports import DurableState

if TYPE_CHECKING:
    from connectors.notion.client import NotionApi

KEYS = "notion-keys"
SCANS = "notion-key-scans"
STEPS = "notion-created"  # page created by a step (run id + step id): resumable creates
REFRESH = 60.0  # seconds between two scans of one data source
_MARGIN = timedelta(minutes=2)  # Notion keeps created times to the minute
_SCANNED_TYPES = ("rich_text", "title")


def _name(ds: DataSource, key_property: str, key: str) -> str:
    # The key property is part of the name: one database may be keyed by two properties.
    return f"{ds.id}/{key_property}/{key}"


@dataclass(frozen=True)
class Known:
    state: str  # "page", "absent" or "unknown"
    page_id: str | None = None


UNKNOWN = Known("unknown")


class KeyIndex:
    """The key → page index of the Notion connector (no-op without a ``DurableState``)."""

    def __init__(self, state: DurableState | None,
                 clock: Callable[[], float] = time.time) -> None:
        self.state = state
        self.clock = clock
        self._scanning: dict[str, asyncio.Lock] = {}

    async def find(self, api: NotionApi, ds: DataSource, key_property: str, key: str) -> Known:
        if self.state is None:
            return UNKNOWN
        entry = await self.state.get(KEYS, _name(ds, key_property, key))
        if isinstance(entry, dict):
            page = entry.get("page")
            return Known("page", str(page)) if page else UNKNOWN  # else: create uncertain
        prop_type = (ds.properties.get(key_property) or {}).get("type")
        if prop_type not in _SCANNED_TYPES:
            return UNKNOWN
        lock = self._scanning.setdefault(ds.id, asyncio.Lock())
        async with lock:  # one scan per data source at a time in this process
            scan = await self.state.get(SCANS, f"{ds.id}/{key_property}")
            last = float(scan["at"]) if isinstance(scan, dict) and "at" in scan else None
            if last is None or self.clock() - last >= REFRESH:
                await self._scan(api, ds, key_property, str(prop_type), last)
        entry = await self.state.get(KEYS, _name(ds, key_property, key))
        if isinstance(entry, dict) and entry.get("page"):
            return Known("page", str(entry["page"]))
        return Known("absent")

    async def _scan(self, api: NotionApi, ds: DataSource, key_property: str, prop_type: str,
                    since: float | None) -> None:
        assert self.state is not None
        started = self.clock()
        parts: list[dict[str, Any]] = [{"property": key_property,
                                        prop_type: {"is_not_empty": True}}]
        if since is not None:
            after = datetime.fromtimestamp(since, UTC) - _MARGIN
            parts.append({"timestamp": "created_time",
                          "created_time": {"on_or_after": after.isoformat()}})
        filter_ = parts[0] if len(parts) == 1 else {"and": parts}
        pages = sorted(await query_pages(api, ds, filter_),
                       key=lambda p: (str(p.get("created_time", "")), str(p.get("id"))))
        found: dict[str, Any] = {}
        for page in pages:
            value = page_to_plain(page)["properties"].get(key_property)
            if value not in (None, ""):
                found.setdefault(_name(ds, key_property, str(value)),
                                 {"page": page["id"]})  # oldest wins
        await self.state.put_many(KEYS, found)
        await self.state.put(SCANS, f"{ds.id}/{key_property}", {"at": started})

    async def creating(self, ds: DataSource, key_property: str, key: str) -> None:
        """Mark a create as under way: if it never reports back, later upserts look it up."""
        if self.state is not None:
            await self.state.put(KEYS, _name(ds, key_property, key), {"page": None})

    async def remember(self, ds: DataSource, key_property: str, key: str,
                       page_id: str | None) -> None:
        if self.state is not None:
            await self.state.put(KEYS, _name(ds, key_property, key),
                                 {"page": page_id} if page_id else None)

    async def step_page(self, step_key: str) -> str | None:
        """The page a creating step made in an earlier attempt of the same run, if any."""
        if self.state is None:
            return None
        found = await self.state.get(STEPS, step_key)
        return str(found) if found else None

    async def remember_step(self, step_key: str, page_id: str) -> None:
        if self.state is not None:
            await self.state.put(STEPS, step_key, page_id)
