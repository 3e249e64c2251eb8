"""Upsert by an external key: never two pages for one key, even under concurrency.

Two defences, because either alone is not enough:

- upserts of the same key are serialised by a lock: within the process an asyncio lock, and
  across the hub's processes (API servers, workers) a lock row in the store, so the second
  upsert finds the page the first one created;
- a key written at the same moment by someone outside the hub (or by a process whose store
  lock expired) cannot be stopped by a lock, so after creating a page the upsert queries the
  key again. If there are several pages, everybody keeps the same one — the oldest (created
  time, then id) — and moves the others to the trash. Later upserts that still find several
  (Notion's search can lag a little) do the same, so the database converges to one page per
  key. Notion keeps created times to the minute, so when two writers raced, the page one of
  them already returned can be the one trashed: an update that meets a trashed page looks the
  key up again.

Notion has no unique constraint, so this is the strongest guarantee its API allows.

The key index (``keyindex.py``) spares the lookups: a key the index knows is updated by page
id (one request), a key it knows to be new is created with its content (one request); only
where the index cannot know does the upsert query the key as described above. Because it
remembers every page the hub created, a query that lags a create (Notion's queries are
eventually consistent) does not make a second page (tests/integration/test_notion_faults.py).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from app.errors import ConnectorError, PermanentError
from connectors.notion.properties import ConversionError, to_notion
from connectors.notion.schema import DataSource, equality_filter
from connectors.notion.values import conversion_failed, query_pages

if TYPE_CHECKING:
    from connectors.notion.connector import NotionConnector

_LOOKUPS = 3  # rounds of query-then-write when the page found went to the trash meanwhile
_WRITABLE_KEY_TYPES = ("rich_text", "title", "number", "email", "url", "phone_number", "select")


@dataclass
class Upserted:
    page: dict[str, Any]
    created: bool
    archived: int = 0
    blocks: int = 0  # blocks of content the create wrote


def _oldest_first(pages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(pages, key=lambda p: (str(p.get("created_time", "")), str(p.get("id"))))


@contextlib.asynccontextmanager
async def held(conn: NotionConnector, name: str) -> AsyncIterator[None]:
    """Hold ``name`` against this process's other runs (an asyncio lock) and, through the
    store, against the hub's other processes (upserts of one key, counts of one page)."""
    locks = conn.key_locks
    lock = locks.setdefault(name, asyncio.Lock())
    try:
        async with lock:  # this process's holders queue here, not on the store
            if conn.state is None:
                yield
            else:
                async with conn.state.lock(name):
                    yield
    finally:
        # Drop the lock when nobody waits for it, so the table does not grow with every key.
        if not lock.locked() and locks.get(name) is lock and not getattr(lock, "_waiters", None):
            locks.pop(name, None)


async def upsert(conn: NotionConnector, ds: DataSource, *, key: str, key_property: str,
                 props: dict[str, Any], on_create: dict[str, Any] | None = None,
                 content: str | None = None) -> Upserted:
    """The page of ``key`` updated with ``props``, or created with ``on_create`` and ``props``
    (and ``content`` as its body, when given; ``Upserted.blocks`` says how many blocks the
    create wrote)."""
    schema = ds.properties.get(key_property)
    if schema is None:
        known = ", ".join(f'"{n}"' for n in sorted(ds.properties))
        raise PermanentError(
            f'notion.upsert_page: database {ds.title!r} has no key property "{key_property}" '
            f"(add a text property named so, or set key_property to one of: {known})")
    if schema.get("type") not in _WRITABLE_KEY_TYPES:
        raise PermanentError(
            f'notion.upsert_page: key property "{key_property}" is a {schema.get("type")} '
            f"property; use a text, title, number, email, URL, phone or select property")
    if not key.strip():
        raise PermanentError("notion.upsert_page: the key is empty")
    try:
        key_value = to_notion(key_property, schema, key)
        wanted = equality_filter(key_property, schema, key)
    except ConversionError as error:
        raise conversion_failed(error) from None
    async with held(conn, f"notion-upsert\0{ds.id}\0{key}"):
        found_in_index = await conn.keys.find(conn.api, ds, key_property, key)
        if found_in_index.page_id is not None:
            try:
                page = await _update(conn, {"id": found_in_index.page_id}, props, fetch=True)
            except PermanentError as error:
                if not (_trashed_meanwhile(error) or "not_found" in str(error)
                        or "Could not find" in str(error)):
                    raise
                await conn.keys.remember(ds, key_property, key, None)  # gone: look it up below
            else:
                return Upserted(page, created=False)
        elif found_in_index.state == "absent":
            await conn.keys.creating(ds, key_property, key)
            try:
                page, blocks = await conn.create_with_content(
                    ds, {**(on_create or {}), **props, key_property: key_value}, content,
                    safe_to_repeat=True)
            except ConnectorError as error:
                if isinstance(error, PermanentError) or "rate limited" in str(error):
                    await conn.keys.remember(ds, key_property, key, None)  # surely not created
                raise
            await conn.keys.remember(ds, key_property, key, page["id"])
            if blocks is None:  # after the page is known: a failed append is resumed
                blocks = await conn.write_content(page["id"], content or "")
            return Upserted(page, created=True, blocks=blocks)
        lookups = 1
        while True:
            try:
                done = await _upsert_once(conn, ds, key_property, key_value, wanted, props,
                                          on_create or {}, content)
                await conn.keys.remember(ds, key_property, key, done.page["id"])
                return done
            except PermanentError as error:
                if lookups == _LOOKUPS or not _trashed_meanwhile(error):
                    raise
                lookups += 1


def _trashed_meanwhile(error: PermanentError) -> bool:
    # Notion: "Can't edit block that is archived." A concurrent writer trashed the page.
    return "archived" in str(error)


async def _upsert_once(conn: NotionConnector, ds: DataSource, key_property: str,
                       key_value: Any, wanted: dict[str, Any], props: dict[str, Any],
                       on_create: dict[str, Any], content: str | None) -> Upserted:
    api = conn.api
    found = _oldest_first(await query_pages(api, ds, wanted, limit=20))
    if found:
        archived = await _trash(conn, found[1:])
        page = await _update(conn, found[0], props)
        return Upserted(page, created=False, archived=archived)
    # Repeating this create is safe: the next attempt finds the page by its key.
    mine, blocks = await conn.create_with_content(
        ds, {**on_create, **props, key_property: key_value}, content, safe_to_repeat=True)
    if blocks is None:  # a failed append: the retry finds the page by its key, then appends
        blocks = await conn.write_content(mine["id"], content or "")
    after = _oldest_first(await query_pages(api, ds, wanted, limit=20))
    if len(after) <= 1 or after[0]["id"] == mine["id"]:
        archived = await _trash(conn, [p for p in after if p["id"] != mine["id"]])
        return Upserted(mine, created=True, archived=archived, blocks=blocks)
    # Someone else created the same key first: theirs wins, ours goes to the trash.
    archived = await _trash(conn, after[1:])
    return Upserted(await _update(conn, after[0], props), created=False, archived=archived)


async def _update(conn: NotionConnector, page: dict[str, Any],
                  props: dict[str, Any], *, fetch: bool = False) -> dict[str, Any]:
    api = conn.api
    if not props:
        return await conn.fetch_page(page["id"]) if fetch else page
    updated: dict[str, Any] = await api.call(
        f"notion: update page {page['id']}", api.sdk.pages.update,
        page_id=page["id"], properties=props)
    return updated


async def _trash(conn: NotionConnector, pages: list[dict[str, Any]]) -> int:
    trashed = 0
    for page in pages:
        try:
            await conn.api.call(f"notion: trash duplicate page {page['id']}",
                                conn.api.sdk.pages.update, page_id=page["id"], in_trash=True)
        except PermanentError as error:
            if not _trashed_meanwhile(error):  # else another writer trashed it already
                raise
        else:
            trashed += 1
    return trashed
