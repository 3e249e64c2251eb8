"""Per-page read-and-write that runs must not interleave: counts, and once-only flags.

A count kept in a property (a retro page's ``Notes``) must not be read-modify-write across
runs: five notes sent together would all read the same number and write the same result.
``count_into`` counts the blocks that are on the page *now* and writes that number, and
counts-and-writes of one page are serialised (an asyncio lock in this process, a lock row in
the store across processes). Each run counts after its own append, so whichever run writes
last counts every block appended before it: the property ends equal to what the page holds.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any

from app.errors import PermanentError
from connectors.notion.upsert import held

if TYPE_CHECKING:
    from connectors.notion.connector import NotionConnector

MAX_BLOCKS = 10_000  # a bound on one count; a retro page holds a few dozen


def page_lock(conn: NotionConnector, page: str) -> AbstractAsyncContextManager[None]:
    """Hold ``page`` against every other count of it, in this process and across the hub's."""
    return held(conn, f"notion-count\0{page}")


async def count_blocks(conn: NotionConnector, page: str, block_type: str | None) -> int:
    """The number of top-level blocks of ``page`` (of ``block_type`` when given)."""
    count = 0
    seen = 0
    async for block in conn.api.paginate(f"notion: content of {page}",
                                         conn.api.sdk.blocks.children.list, block_id=page,
                                         limit=MAX_BLOCKS):
        seen += 1
        if block_type is None or block.get("type") == block_type:
            count += 1
    if seen >= MAX_BLOCKS:
        raise PermanentError(f"notion.count_items: page {page} holds more than {MAX_BLOCKS} "
                             f"blocks; not counted")
    return count


async def count_into(conn: NotionConnector, *, page: str, prop: str,
                     block_type: str | None) -> dict[str, Any]:
    """Count ``page``'s blocks and write the number to its number property ``prop``."""
    async with page_lock(conn, page):
        current = await conn.fetch_page(page)
        kind = (current.get("properties", {}).get(prop) or {}).get("type")
        if kind != "number":
            raise PermanentError(f'notion.count_items: the page has no number property "{prop}"'
                                 f" (found: {kind or 'none'})")
        count = await count_blocks(conn, current["id"], block_type)
        await conn.api.call(f"notion: update page {page}", conn.api.sdk.pages.update,
                            page_id=current["id"], properties={prop: {"number": count}})
    return {"page_id": current["id"], "property": prop, "count": count}


async def set_once(conn: NotionConnector, *, page: str, prop: str) -> dict[str, Any]:
    """Tick the checkbox ``prop`` of ``page`` if it is not ticked yet; say who ticked it.

    Read and write happen under the page's lock, so of two runs that want to do something once
    per page (announce a release sent twice at the same moment), exactly one gets
    ``claimed: true``.
    """
    async with page_lock(conn, page):
        current = await conn.fetch_page(page)
        value = current.get("properties", {}).get(prop) or {}
        if value.get("type") != "checkbox":
            raise PermanentError(f'notion.set_once: the page has no checkbox property "{prop}"'
                                 f" (found: {value.get('type') or 'none'})")
        if value.get("checkbox"):
            return {"page_id": current["id"], "property": prop, "claimed": False}
        await conn.api.call(f"notion: update page {page}", conn.api.sdk.pages.update,
                            page_id=current["id"], properties={prop: {"checkbox": True}})
    return {"page_id": current["id"], "property": prop, "claimed": True}
