"""Plain property values to a request body, with the look-ups conversion needs.

``properties.py`` converts values without I/O; here the two conversions that need Notion are
done first: people named by email (through the cached users list) and relations named by a
key looked up in the related database (``{"key": "FB-12"}``, optionally with
``"property": "<key property>"``, default "External ID", else the title).
"""

from __future__ import annotations

from typing import Any

from app.errors import PermanentError
from connectors.notion.client import NotionApi
from connectors.notion.properties import ConversionError, _parts, _uuid, to_notion_properties
from connectors.notion.schema import DataSource, Schemas, equality_filter

DEFAULT_KEY_PROPERTY = "External ID"


def conversion_failed(error: ConversionError) -> PermanentError:
    return PermanentError(f"notion: {error}")


async def query_pages(api: NotionApi, ds: DataSource, filter_: dict[str, Any] | None, *,
                      limit: int | None = None,
                      sorts: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    kwargs: dict[str, Any] = {"data_source_id": ds.id}
    if filter_:
        kwargs["filter"] = filter_
    if sorts:
        kwargs["sorts"] = sorts
    return [p async for p in api.paginate(f"notion: query {ds.title!r}",
                                          api.sdk.data_sources.query, limit=limit, **kwargs)]


def where_filter(ds: DataSource, where: dict[str, Any]) -> dict[str, Any] | None:
    """Equality on every named property (``and``); unknown names fail with the known ones."""
    parts = []
    for name, value in where.items():
        schema = ds.properties.get(name)
        if schema is None:
            known = ", ".join(f'"{n}"' for n in sorted(ds.properties))
            raise PermanentError(f'notion: database {ds.title!r} has no property "{name}" '
                                 f"(known: {known})")
        try:
            parts.append(equality_filter(name, schema, value))
        except ConversionError as error:
            raise conversion_failed(error) from None
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else {"and": parts}


class ValueResolver:
    """Turns plain values into Notion property values for one data source."""

    def __init__(self, api: NotionApi, schemas: Schemas) -> None:
        self.api = api
        self.schemas = schemas

    async def convert(self, ds: DataSource, values: dict[str, Any]) -> dict[str, Any]:
        ready = {name: await self._lookups(ds, name, value) for name, value in values.items()}
        try:
            return to_notion_properties(ds.properties, ready, resolve_user=lambda _email: None)
        except ConversionError as error:
            raise conversion_failed(error) from None

    async def resolve_where(self, ds: DataSource, where: dict[str, Any]) -> dict[str, Any]:
        return {name: await self._lookups(ds, name, value) for name, value in where.items()}

    async def _lookups(self, ds: DataSource, name: str, value: Any) -> Any:
        kind = (ds.properties.get(name) or {}).get("type")
        if kind == "people" and value is not None:
            return [await self._person(p) for p in _parts(value)]
        if kind == "relation" and value is not None:
            items = value if isinstance(value, list) else [value] if isinstance(value, dict) \
                else _parts(value)
            return [await self._related(ds, name, item) for item in items]
        return value

    async def _person(self, part: Any) -> Any:
        if isinstance(part, str) and _uuid(part) is None and part.strip().count("@") == 1:
            found = await self.api.user_by_email(part.strip())
            return found or part  # left as is: conversion then names the unknown email
        return part

    async def _related(self, ds: DataSource, name: str, item: Any) -> Any:
        if not isinstance(item, dict):
            return item
        if set(item) - {"key", "property"} or "key" not in item:
            raise conversion_failed(ConversionError(
                name, "relation", item, 'a lookup is {"key": ..., "property": <optional>}'))
        target_id = (ds.properties[name].get("relation") or {}).get("data_source_id")
        if not target_id:
            raise PermanentError(f'notion: relation "{name}" does not say its data source')
        target = await self.schemas.data_source(str(target_id))
        key_prop = item.get("property") or (
            DEFAULT_KEY_PROPERTY if DEFAULT_KEY_PROPERTY in target.properties
            else target.title_property())
        pages = await query_pages(self.api, target, where_filter(target, {key_prop: item["key"]}),
                                  limit=2)
        if not pages:
            raise conversion_failed(ConversionError(
                name, "relation", item,
                f'no page of {target.title!r} has "{key_prop}" = {item["key"]!r}'))
        return str(pages[0]["id"])
