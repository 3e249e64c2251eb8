"""The notion connector with the real notion-client against the stand-in, over HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import notion_client
import pytest

from app.errors import PermanentError
from app.store.durable import StoreState
from connectors.base import ActionContext
from connectors.notion.connector import (
    AppendInput,
    CommentInput,
    CreatePageInput,
    FindPagesInput,
    GetPageInput,
    NotionConnector,
    UpdatePageInput,
    UpsertPageInput,
)

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


def sandbox(hub: Any) -> Any:
    return hub.app.state.notion_sandbox


def live_pages(hub: Any, title: str) -> list[dict[str, Any]]:
    source = sandbox(hub).data_source_by_title(title)["id"]
    return [p for p in sandbox(hub).pages(source) if not p["in_trash"]]


async def test_create_page_converts_every_type(hub: Any, notion: NotionConnector) -> None:
    release = await notion.create_page(CreatePageInput(database="Releases", properties={
        "Version": "2.4", "Status": "Planned", "Date": "2026-11-21", "Announced": "yes",
        "Link": "https://example.com/r/2.4"}), CTX)
    out = await notion.create_page(CreatePageInput(database="Feedback", properties={
        "Name": "Export is slow", "Details": "x" * 4500, "Source": "Slack",
        "Tags": "perf, export", "Importance": "High", "Status": "New",
        "Link": "https://example.com/t/1", "External ID": "fb-1",
        "Release": [release["id"]],
    }), CTX)
    assert out["created"] is True and out["title"] == "Export is slow"
    props = out["properties"]
    assert props["Details"] == "x" * 4500  # three 2,000-character text objects, joined back
    assert props["Tags"] == ["perf", "export"] and props["Source"] == "Slack"
    assert props["Release"] == [release["id"]]
    stored = next(p for p in sandbox(hub).pages() if p["id"] == out["id"])
    assert [len(t["text"]["content"]) for t in stored["properties"]["Details"]["rich_text"]] \
        == [2000, 2000, 500]
    assert release["properties"] == {**release["properties"], "Announced": True,
                                     "Date": "2026-11-21", "Status": "Planned"}


async def test_people_by_email_and_relation_by_key(notion: NotionConnector) -> None:
    await notion.upsert_page(UpsertPageInput(database="Feedback", key="fb-9",
                                             properties={"Name": "Dark mode"}), CTX)
    # Releases has no External ID: the key is looked up in the related database's key property.
    rel = await notion.create_page(CreatePageInput(database="Releases", properties={
        "Version": "3.0", "Feedback": {"key": "fb-9"}}), CTX)
    found = await notion.find_pages(FindPagesInput(database="Feedback",
                                                   where={"External ID": "fb-9"}), CTX)
    assert rel["properties"]["Feedback"] == [found["first"]["id"]]
    with pytest.raises(PermanentError, match=r'no page of .Feedback. has "External ID"'):
        await notion.create_page(CreatePageInput(database="Releases", properties={
            "Version": "3.1", "Feedback": {"key": "nope"}}), CTX)


async def test_conversion_error_names_property_type_and_value(notion: NotionConnector) -> None:
    with pytest.raises(PermanentError) as err:
        await notion.create_page(CreatePageInput(database="Feedback", properties={
            "Name": "x", "Status": "Someday"}), CTX)
    assert 'Property "Status" (status)' in err.value.message and "'Someday'" in err.value.message
    with pytest.raises(PermanentError, match='did you mean "Importance"'):
        await notion.create_page(CreatePageInput(database="Feedback", properties={
            "Importanse": "High"}), CTX)
    with pytest.raises(PermanentError, match="cannot be written"):
        await notion.create_page(CreatePageInput(database="Feedback", properties={
            "Created": "2026-01-01"}), CTX)


async def test_unknown_database_and_page_have_helpful_messages(notion: NotionConnector) -> None:
    with pytest.raises(PermanentError, match=r"no database titled 'Roadmap'.*Connections"):
        await notion.find_pages(FindPagesInput(database="Roadmap"), CTX)
    with pytest.raises(PermanentError, match="Connections"):
        await notion.get_page(GetPageInput(page="0" * 32), CTX)


async def test_database_by_url_and_id(hub: Any, notion: NotionConnector) -> None:
    db = sandbox(hub).database_by_title("Retros")
    url = f"https://www.notion.so/acme/Retros-{db['id'].replace('-', '')}?v=123"
    out = await notion.create_page(CreatePageInput(database=url, properties={
        "Name": "Sprint 12", "Notes": 3}), CTX)
    by_id = await notion.find_pages(FindPagesInput(database=db["id"], where={"Notes": 3}), CTX)
    assert by_id["count"] == 1 and by_id["first"]["id"] == out["id"]


async def test_upsert_twice_is_one_page_and_deduplicated(hub: Any,
                                                         notion: NotionConnector) -> None:
    first = await notion.upsert_page(UpsertPageInput(
        database="Feedback", key="slack:T1:42", properties={"Name": "v1"}), CTX)
    second = await notion.upsert_page(UpsertPageInput(
        database="Feedback", key="slack:T1:42", properties={"Name": "v2", "Importance": "Low"}),
        CTX)
    assert first["deduplicated"] is False and first["created"] is True
    assert second["deduplicated"] is True and second["id"] == first["id"]
    assert second["properties"]["Name"] == "v2"
    live = live_pages(hub, "Feedback")
    assert len(live) == 1


async def test_concurrent_upserts_same_key_leave_one_page(
        hub: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # Two processes of one hub: each its own connector (its own in-process locks) and its
    # own connection pool to the hub's store, where they lock the key.
    from connectors.notion import upsert as upsert_module

    real = upsert_module.query_pages

    async def slow(*args: Any, **kwargs: Any) -> Any:  # a wide window between query and create
        found = await real(*args, **kwargs)
        await asyncio.sleep(0.03)
        return found

    monkeypatch.setattr(upsert_module, "query_pages", slow)
    async with hub.store() as store_a, hub.store() as store_b:
        one = NotionConnector(hub.settings, state=StoreState(store_a))
        other = NotionConnector(hub.settings, state=StoreState(store_b))
        try:
            jobs = [c.upsert_page(UpsertPageInput(database="Feedback", key=f"k-{n % 2}",
                                                  properties={"Name": f"n{n}"}), CTX)
                    for n, c in enumerate([one, one, other, other] * 3)]  # both write both
            outs = await asyncio.gather(*jobs)
        finally:
            await one.aclose()
            await other.aclose()
    live = {p["id"] for p in live_pages(hub, "Feedback")}
    kept = [{o["id"] for o in outs[k::2]} for k in (0, 1)]  # what the upserts of k-0, k-1 gave
    assert all(len(ids) == 1 for ids in kept) and set.union(*kept) == live and len(live) == 2
    source = sandbox(hub).data_source_by_title("Feedback")["id"]
    assert len(sandbox(hub).pages(source)) == 2  # no page was made and then trashed


async def test_upsert_that_meets_a_page_trashed_meanwhile_looks_again(
        hub: Any, notion: NotionConnector, monkeypatch: pytest.MonkeyPatch) -> None:
    from connectors.notion import upsert as upsert_module

    theirs = await notion.create_page(CreatePageInput(database="Feedback", properties={
        "Name": "theirs", "External ID": "k-9"}), CTX)
    real, later = upsert_module.query_pages, []

    async def then_someone_else_writes(*args: Any, **kwargs: Any) -> Any:
        found = await real(*args, **kwargs)
        if not later:  # right after this upsert's first query, a writer outside the hub
            later.append(await notion.create_page(CreatePageInput(  # makes another page
                database="Feedback", properties={"Name": "kept", "External ID": "k-9"}), CTX))
            await notion.api.sdk.pages.update(page_id=theirs["id"], in_trash=True)
        return found

    monkeypatch.setattr(upsert_module, "query_pages", then_someone_else_writes)
    out = await notion.upsert_page(UpsertPageInput(database="Feedback", key="k-9",
                                                   properties={"Name": "new"}), CTX)
    assert out["id"] == later[0]["id"] and out["properties"]["Name"] == "new"
    assert [p["id"] for p in live_pages(hub, "Feedback")] == [later[0]["id"]]


async def test_update_is_partial_and_get_page_reads_back(notion: NotionConnector) -> None:
    made = await notion.create_page(CreatePageInput(database="Feedback", properties={
        "Name": "A", "Importance": "High", "Customer": "Acme"}), CTX)
    await notion.update_page(UpdatePageInput(page=made["url"] or made["id"],
                                             properties={"Importance": "Low"}), CTX)
    got = await notion.get_page(GetPageInput(page=made["id"]), CTX)
    assert got["properties"]["Importance"] == "Low" and got["properties"]["Customer"] == "Acme"
    assert got["data_source_id"] == made["data_source_id"]


async def test_append_batches_blocks_and_upsert_content(hub: Any,
                                                        notion: NotionConnector) -> None:
    made = await notion.create_page(CreatePageInput(database="Retros", properties={
        "Name": "Retro"}, content="# Notes\n- one\n- [x] done"), CTX)
    assert made["blocks"] == 3
    text = "\n".join(f"- item {i}" for i in range(250))
    out = await notion.append(AppendInput(page=made["id"], text=text), CTX)
    assert out["blocks"] == 250
    blocks = sandbox(hub).blocks(made["id"])
    assert len(blocks) == 253
    assert blocks[-1]["type"] == "bulleted_list_item" and "item 249" in str(blocks[-1])
    up = await notion.upsert_page(UpsertPageInput(database="Feedback", key="c-1",
                                                  content="body"), CTX)
    again = await notion.upsert_page(UpsertPageInput(database="Feedback", key="c-1",
                                                     content="body"), CTX)
    assert up["blocks"] == 1 and again["blocks"] == 0
    assert len(sandbox(hub).blocks(up["id"])) == 1


async def test_find_pages_equality_and_comment(hub: Any, notion: NotionConnector) -> None:
    for name, tags in (("a", "x, y"), ("b", "y"), ("c", "z")):
        await notion.create_page(CreatePageInput(database="Feedback", properties={
            "Name": name, "Tags": tags}), CTX)
    found = await notion.find_pages(FindPagesInput(database="Feedback", where={"Tags": "y"},
                                                   sort="Name"), CTX)
    assert [p["title"] for p in found["pages"]] == ["a", "b"]
    exact = await notion.find_pages(FindPagesInput(database="Feedback", where={"Name": "c"}),
                                    CTX)
    assert exact["count"] == 1
    note = await notion.comment(CommentInput(page=exact["first"]["id"], text="Triaged"), CTX)
    assert note["page_id"] == exact["first"]["id"]
    assert sandbox(hub).comments(exact["first"]["id"])[0]["rich_text"][0]["plain_text"] \
        == "Triaged"


async def test_the_hub_gives_notion_its_store_for_key_locks(hub: Any) -> None:
    # Through narrow ports (key locks and index, shared quota), not the Store itself.
    runtime = hub.app.state.runtime
    notion = runtime.connectors.get("notion")
    assert notion.state.store is runtime.store and notion.quota.store is runtime.store


async def test_the_key_index_rescans_what_was_created_since(hub: Any) -> None:
    """A key the index has not seen is created directly only while the last scan is recent;
    after ``REFRESH`` the index reads the pages created since its last scan first."""
    from connectors.notion.keyindex import REFRESH

    now = [1_000_000.0]
    async with hub.store() as store:
        conn = NotionConnector(hub.settings, state=StoreState(store))
        conn.keys.clock = lambda: now[0]
        try:
            await conn.upsert_page(UpsertPageInput(database="Feedback", key="k-1",
                                                   properties={"Name": "one"}), CTX)
            before = dict(sandbox(hub).requests)
            # Someone else files k-2 in Notion (another tool, a person) after that scan.
            source = sandbox(hub).data_source_by_title("Feedback")["id"]
            async with notion_client.AsyncClient(
                    auth="secret_other", base_url=f"{hub.url}/sandbox/notion") as other:
                theirs = await other.pages.create(
                    parent={"type": "data_source_id", "data_source_id": source},
                    properties={"Name": {"title": [{"text": {"content": "theirs"}}]},
                                "External ID": {"rich_text": [{"text": {"content": "k-2"}}]}})
            now[0] += REFRESH + 1
            out = await conn.upsert_page(UpsertPageInput(database="Feedback", key="k-2",
                                                         properties={"Name": "two"}), CTX)
        finally:
            await conn.aclose()
    assert out["id"] == theirs["id"] and out["created"] is False  # found by the rescan
    after = dict(sandbox(hub).requests)
    assert after["query_data_source"] - before.get("query_data_source", 0) == 1
    assert after.get("create_page", 0) - before.get("create_page", 0) == 1  # theirs only
    assert [p["id"] for p in live_pages(hub, "Feedback") if p["id"] == theirs["id"]]
