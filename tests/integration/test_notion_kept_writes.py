"""Writes that keep what was set: on_create, skip_empty, count_items and set_once.

The notion connector with the real notion-client against the stand-in over HTTP, with the
stand-in's rate limits on (about 3 requests a second, 429 with Retry-After beyond).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from app.errors import PermanentError
from connectors.base import ActionContext
from connectors.notion.connector import (
    AppendInput,
    CountItemsInput,
    NotionConnector,
    SetOnceInput,
    UpsertPageInput,
)
from tests.acceptance.outside import until

CTX = ActionContext(run_id="run-1", flow="test", step_id="page")


@pytest.fixture
def hub(hub_factory: Any) -> Iterator[Any]:
    with hub_factory() as hub:
        yield hub


@pytest.fixture
async def notion(hub: Any) -> AsyncIterator[NotionConnector]:
    conn = NotionConnector(hub.settings)
    try:
        yield conn
    finally:
        await conn.aclose()


async def retried(call: Any) -> Any:
    """The runner's part: a step answered 429 runs again after Retry-After."""
    from app.errors import RetryableError

    while True:
        try:
            return await call()
        except RetryableError as exc:
            await asyncio.sleep(exc.retry_after or 0.5)


async def test_on_create_and_skip_empty_keep_what_was_set(notion: NotionConnector) -> None:
    def release(**kw: Any) -> UpsertPageInput:
        return UpsertPageInput(database="Releases", key="9.9", key_property="Version",
                               skip_empty=True, on_create={"Status": "In progress",
                                                           "Date": "2026-12-01"}, **kw)

    first = await notion.upsert_page(release(properties={
        "Version": "9.9", "Link": "https://example.com/9.9", "Date": "2026-11-30"}), CTX)
    # On create, properties win over on_create for the same name.
    assert first["created"] is True
    assert first["properties"]["Status"] == "In progress"
    assert first["properties"]["Date"] == "2026-11-30"
    await notion.upsert_page(UpsertPageInput(database="Releases", key="9.9",
                                             key_property="Version",
                                             properties={"Status": "Released"}), CTX)
    # A re-send carrying nothing but the version: nothing else is written.
    again = await notion.upsert_page(release(properties={
        "Version": "9.9", "Link": "", "Status": "  ", "Notes": None, "Date": ""}), CTX)
    assert again["deduplicated"] is True
    props = again["properties"]
    assert (props["Status"], props["Link"], props["Date"]) == (
        "Released", "https://example.com/9.9", "2026-11-30")
    # Without skip_empty an empty value clears, as before.
    cleared = await notion.upsert_page(UpsertPageInput(
        database="Releases", key="9.9", key_property="Version", properties={"Link": ""}), CTX)
    assert cleared["properties"]["Link"] is None


async def test_count_items_counts_what_the_page_holds_under_concurrency(
        notion: NotionConnector) -> None:
    page = await notion.upsert_page(UpsertPageInput(
        database="Retros", key="Sprint 2026-W49", key_property="Sprint",
        properties={"Name": "Retro"}), CTX)

    async def note(i: int) -> dict[str, Any]:
        await retried(lambda: notion.append(AppendInput(page=page["id"],
                                                        text=f"- note {i}"), CTX))
        out: dict[str, Any] = await retried(lambda: notion.count_items(
            CountItemsInput(page=page["id"], property="Notes"), CTX))
        return out

    counts = await asyncio.gather(*(note(i) for i in range(6)))
    assert max(c["count"] for c in counts) == 6
    stored = await notion.fetch_page(page["id"])
    assert stored["properties"]["Notes"]["number"] == 6
    with pytest.raises(PermanentError, match='no number property "Sprint"'):
        await notion.count_items(CountItemsInput(page=page["id"], property="Sprint"), CTX)


async def test_set_once_is_claimed_by_exactly_one(notion: NotionConnector) -> None:
    page = await notion.upsert_page(UpsertPageInput(
        database="Releases", key="8.0", key_property="Version", properties={}), CTX)
    claims = await asyncio.gather(*(retried(lambda: notion.set_once(
        SetOnceInput(page=page["id"], property="Announced"), CTX)) for _ in range(5)))
    assert sorted(c["claimed"] for c in claims) == [False, False, False, False, True]

    async def ticked() -> bool:
        return bool((await notion.fetch_page(page["id"]))["properties"]["Announced"]["checkbox"])

    await until(ticked, what="Announced ticked")
    with pytest.raises(PermanentError, match='no checkbox property "Version"'):
        await notion.set_once(SetOnceInput(page=page["id"], property="Version"), CTX)
