"""Naming databases (id, URL or title) and knowing their schema.

Since Notion API 2025-09-03 a database holds one or more data sources, and pages, schemas and
queries belong to a data source. A flow names a database as people see it; ``Schemas``
resolves that to the database's first data source and caches its schema for a few minutes.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from dataclasses import dataclass
from typing import Any

from app.errors import PermanentError
from connectors.notion.client import NotionApi
from connectors.notion.properties import _iso, to_notion

_HEX_ID = re.compile(r"([0-9a-fA-F]{32})|([0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12})")
TTL = 300.0  # seconds a schema is trusted before it is fetched again


def notion_id(ref: str) -> str | None:
    """The object id in an id or a Notion URL (the last 32-hex run), dashed; else None."""
    text = ref.strip()
    path = text.split("?", 1)[0].split("#", 1)[0]
    found = _HEX_ID.findall(path)
    if not found:
        return None
    compact = "".join(found[-1]).replace("-", "")
    return str(uuid.UUID(compact))


@dataclass(frozen=True)
class DataSource:
    id: str
    database_id: str
    title: str
    properties: dict[str, dict[str, Any]]  # name -> property schema (with "type")

    def title_property(self) -> str:
        return next(n for n, p in self.properties.items() if p.get("type") == "title")


def _title(obj: dict[str, Any]) -> str:
    return "".join(str(t.get("plain_text", t.get("text", {}).get("content", "")))
                   for t in obj.get("title") or [])


class Schemas:
    """Resolves database references to data sources, with a time-limited cache."""

    def __init__(self, api: NotionApi) -> None:
        self.api = api
        self._by_ref: dict[str, tuple[float, DataSource]] = {}
        self._resolving: dict[str, asyncio.Lock] = {}

    def forget(self, ref: str) -> None:
        self._by_ref.pop(ref, None)

    async def resolve(self, ref: str) -> DataSource:
        cached = self._by_ref.get(ref)
        if cached and time.monotonic() - cached[0] < TTL:
            return cached[1]
        # Concurrent runs that need the same schema wait for one lookup (Notion's quota).
        lock = self._resolving.setdefault(ref, asyncio.Lock())
        async with lock:
            cached = self._by_ref.get(ref)
            if cached and time.monotonic() - cached[0] < TTL:
                return cached[1]
            found = await self._resolve(ref)
            self._by_ref[ref] = (time.monotonic(), found)
            self._by_ref.setdefault(found.id, (time.monotonic(), found))
        return found

    async def data_source(self, data_source_id: str) -> DataSource:
        return await self.resolve(data_source_id)

    async def _resolve(self, ref: str) -> DataSource:
        sdk = self.api.sdk
        object_id = notion_id(ref)
        if object_id is None:
            return await self._by_title(ref)
        try:
            database = await self.api.call(f"notion: database {ref}", sdk.databases.retrieve,
                                           database_id=object_id)
        except PermanentError:
            # Not a database id: maybe the id of a data source itself.
            source = await self.api.call(
                f"notion: database or data source {ref}", sdk.data_sources.retrieve,
                data_source_id=object_id)
            return self._from_source(source)
        sources = database.get("data_sources") or []
        if not sources:
            raise PermanentError(f"notion: database {ref} has no data source")
        source = await self.api.call(f"notion: data source of {ref}", sdk.data_sources.retrieve,
                                     data_source_id=sources[0]["id"])
        return self._from_source(source)

    async def _by_title(self, title: str) -> DataSource:
        exact = []
        async for item in self.api.paginate(
            f"notion: search {title!r}", self.api.sdk.search, query=title,
            filter={"property": "object", "value": "data_source"},
        ):
            if _title(item).strip().casefold() == title.strip().casefold():
                exact.append(item)
        if not exact:
            raise PermanentError(
                f"notion: no database titled {title!r} is shared with the integration (name it "
                f"by id or URL, or share it: ••• → Connections → add your integration)")
        if len(exact) > 1:
            ids = ", ".join(i["id"] for i in exact)
            raise PermanentError(
                f"notion: {len(exact)} databases are titled {title!r} ({ids}); name it by id")
        return self._from_source(exact[0])

    @staticmethod
    def _from_source(source: dict[str, Any]) -> DataSource:
        parent = source.get("parent") or {}
        return DataSource(
            id=str(source["id"]), database_id=str(parent.get("database_id") or source["id"]),
            title=_title(source), properties=dict(source.get("properties") or {}),
        )


def equality_filter(name: str, schema: dict[str, Any], value: object) -> dict[str, Any]:
    """A query filter meaning "property ``name`` equals ``value``" for the property's type.

    Text types compare the whole text; lists (multi-select, people, relation) must contain
    every given item; an empty value means the property is empty.
    """
    kind = str(schema.get("type"))
    converted = to_notion(name, schema, value)[kind] if kind not in _FILTER_ONLY else None
    if value is None or value == "" or converted in ([], None):
        return {"property": name, kind: {"is_empty": True}}
    if kind in ("title", "rich_text"):
        text = "".join(part["text"]["content"] for part in converted)
        return {"property": name, kind: {"equals": text}}
    if kind in ("select", "status"):
        return {"property": name, kind: {"equals": converted["name"]}}
    if kind == "multi_select":
        parts = [{"property": name, kind: {"contains": o["name"]}} for o in converted]
        return parts[0] if len(parts) == 1 else {"and": parts}
    if kind in ("people", "relation"):
        parts = [{"property": name, kind: {"contains": item["id"]}} for item in converted]
        return parts[0] if len(parts) == 1 else {"and": parts}
    if kind == "date":
        return {"property": name, kind: {"equals": converted["start"]}}
    if kind in ("created_time", "last_edited_time"):
        return {"timestamp": kind, kind: {"equals": _iso(value)}}
    if kind in ("number", "checkbox", "email", "url", "phone_number"):
        return {"property": name, kind: {"equals": converted}}
    raise PermanentError(f'notion: cannot filter on property "{name}" of type {kind}')


_FILTER_ONLY = frozenset({"created_time", "last_edited_time"})
