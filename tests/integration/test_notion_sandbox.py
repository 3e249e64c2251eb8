"""The Notion stand-in driven over real HTTP by the real notion-client AsyncClient."""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from fastapi import FastAPI
from notion_client import APIResponseError, AsyncClient

from app.sandbox.notion import NotionSandbox
from tests.conftest import serve_app

ROOT = Path(__file__).resolve().parents[2]
SEED = yaml.safe_load((ROOT / "flows" / "_databases.yaml").read_text())["databases"]
STAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
ADA = "ada@example.com"


class FakeClock:
    """Monotonic seconds for the rate limiter."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeNow:
    """Wall-clock time for created/last edited timestamps."""

    def __init__(self) -> None:
        self.now = datetime(2025, 3, 1, 10, 0, 20, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@contextmanager
def serve(sandbox: NotionSandbox) -> Iterator[str]:
    """Serves the sandbox router alone on a free local port; yields the client's base_url."""
    app = FastAPI()
    app.include_router(sandbox.router(), prefix="/sandbox/notion/v1")
    with serve_app(app) as url:
        yield f"{url}/sandbox/notion"


def make_client(base_url: str) -> AsyncClient:
    # retry=False: the client must show us every 429 instead of sleeping through it.
    return AsyncClient(auth="secret_x", base_url=base_url, retry=False, log_level=logging.ERROR)


@dataclass
class Served:
    base_url: str
    sandbox: NotionSandbox
    now: FakeNow


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    now = FakeNow()
    sandbox = NotionSandbox(seed=SEED, rate_limit=None, now=now)
    with serve(sandbox) as base_url:
        yield Served(base_url, sandbox, now)


@pytest.fixture
def sandbox(served: Served) -> NotionSandbox:
    served.sandbox.reset()
    return served.sandbox


@pytest.fixture
async def notion(served: Served, sandbox: NotionSandbox) -> AsyncIterator[AsyncClient]:
    client = make_client(served.base_url)
    yield client
    await client.aclose()


def ds(sandbox: NotionSandbox, title: str) -> str:
    return str(sandbox.data_source_by_title(title)["id"])


def title(text: str) -> dict[str, Any]:
    return {"title": [{"text": {"content": text}}]}


def rich(text: str) -> dict[str, Any]:
    return {"rich_text": [{"text": {"content": text}}]}


def plain(value: list[dict[str, Any]]) -> str:
    return "".join(item["plain_text"] for item in value)


async def add(notion: AsyncClient, source: str, **properties: Any) -> dict[str, Any]:
    parent = {"type": "data_source_id", "data_source_id": source}
    page: dict[str, Any] = await notion.pages.create(parent=parent, properties=properties)
    return page


async def fails(awaitable: Any, code: str, *fragments: str) -> APIResponseError:
    with pytest.raises(APIResponseError) as caught:
        await awaitable
    assert caught.value.code == code, str(caught.value)
    for fragment in fragments:
        assert fragment in str(caught.value)
    return caught.value


async def query_ids(notion: AsyncClient, source: str, **kwargs: Any) -> list[str]:
    answer = await notion.data_sources.query(source, **kwargs)
    return [page["id"] for page in answer["results"]]


# --- discovery -----------------------------------------------------------------------------


async def test_search_finds_the_seeded_data_sources(notion: AsyncClient) -> None:
    found = await notion.search(filter={"property": "object", "value": "data_source"})
    assert found["object"] == "list" and found["type"] == "page_or_data_source"
    assert {plain(r["title"]) for r in found["results"]} == {"Feedback", "Retros", "Releases"}
    assert {r["object"] for r in found["results"]} == {"data_source"}

    feedback = await notion.search(
        query="feed", filter={"property": "object", "value": "data_source"}
    )
    assert [plain(r["title"]) for r in feedback["results"]] == ["Feedback"]

    pages = await notion.search(filter={"property": "object", "value": "page"})
    assert [r["properties"]["title"]["title"][0]["plain_text"] for r in pages["results"]] == [
        "Passerelle sandbox"
    ]
    await fails(
        notion.search(filter={"property": "object", "value": "database"}),
        "validation_error",
        "body.filter.value",
    )


async def test_database_and_data_source_shapes(notion: AsyncClient, sandbox: NotionSandbox) -> None:
    database = await notion.databases.retrieve(sandbox.database_by_title("Feedback")["id"])
    assert database["object"] == "database"
    source_id = ds(sandbox, "Feedback")
    assert database["data_sources"] == [{"id": source_id, "name": "Feedback"}]

    source = await notion.data_sources.retrieve(source_id)
    props = source["properties"]
    assert source["parent"] == {"type": "database_id", "database_id": database["id"]}
    assert props["Name"]["id"] == "title" and props["Name"]["type"] == "title"
    assert [o["name"] for o in props["Status"]["status"]["options"]] == [
        "New", "Triaged", "Planned", "Shipped"
    ]  # fmt: skip
    releases = await notion.data_sources.retrieve(ds(sandbox, "Releases"))
    relation = props["Release"]["relation"]
    assert relation["data_source_id"] == releases["id"]
    assert relation["type"] == "dual_property"
    assert relation["dual_property"] == {
        "synced_property_name": "Feedback",
        "synced_property_id": releases["properties"]["Feedback"]["id"],
    }
    back = releases["properties"]["Feedback"]["relation"]["dual_property"]
    assert back == {"synced_property_name": "Release", "synced_property_id": props["Release"]["id"]}

    renamed = await notion.databases.update(database["id"], title=[{"text": {"content": "Ideas"}}])
    assert plain(renamed["title"]) == "Ideas"
    assert sandbox.database_by_title("Ideas")["id"] == database["id"]


async def test_users(notion: AsyncClient) -> None:
    users = await notion.users.list()
    assert users["type"] == "user"
    emails = {u["person"]["email"] for u in users["results"] if u["type"] == "person"}
    assert {"ada@example.com", "grace@example.com"} <= emails
    me = await notion.users.me()
    assert me["id"] == NotionSandbox.bot_user_id and me["type"] == "bot"
    assert NotionSandbox.bot_user_id in {u["id"] for u in users["results"]}
    ada = next(u for u in users["results"] if u.get("person", {}).get("email") == ADA)
    assert (await notion.users.retrieve(ada["id"]))["name"] == "Ada Lovelace"
    await fails(notion.users.retrieve(str(uuid.uuid4())), "object_not_found", "Could not find user")


# --- protocol ------------------------------------------------------------------------------


async def test_headers_urls_and_bodies_are_checked_like_notion(
    served: Served, sandbox: NotionSandbox
) -> None:
    headers = {"Authorization": "Bearer ntn_anything", "Notion-Version": "2025-09-03"}
    async with httpx.AsyncClient(base_url=f"{served.base_url}/v1") as http:
        no_auth = await http.get("/users/me", headers={"Notion-Version": "2025-09-03"})
        assert (no_auth.status_code, no_auth.json()["code"]) == (401, "unauthorized")
        no_version = await http.get("/users/me", headers={"Authorization": "Bearer x"})
        assert (no_version.status_code, no_version.json()["code"]) == (400, "missing_version")
        assert (await http.get("/users/me", headers=headers)).status_code == 200

        unknown = await http.get("/nothing/here", headers=headers)
        assert (unknown.status_code, unknown.json()["code"]) == (400, "invalid_request_url")
        page_id = sandbox.database_by_title("Feedback")["parent"]["page_id"]
        wrong_method = await http.delete(f"/pages/{page_id}", headers=headers)
        assert wrong_method.json()["code"] == "invalid_request_url"

        broken = await http.post("/search", content=b"{not json", headers=headers)
        error = broken.json()
        assert (broken.status_code, error["code"], error["object"]) == (
            400, "invalid_json", "error"
        )  # fmt: skip
        assert error["status"] == 400 and error["request_id"]


async def test_unknown_and_malformed_ids(notion: AsyncClient) -> None:
    missing = str(uuid.uuid4())
    error = await fails(notion.pages.retrieve(missing), "object_not_found")
    assert str(error) == (
        f"Could not find page with ID: {missing}. "
        "Make sure the relevant pages and databases are shared with your integration."
    )
    assert error.status == 404
    await fails(notion.data_sources.retrieve(missing), "object_not_found", missing)
    await fails(notion.pages.retrieve("not-an-id"), "validation_error", "should be a valid uuid")


async def test_rate_limit_answers_429_with_retry_after() -> None:
    clock = FakeClock()
    sandbox = NotionSandbox(seed=SEED, rate_limit=0.5, burst=2, clock=clock)
    with serve(sandbox) as base_url:
        client = make_client(base_url)
        try:
            await client.users.me()
            await client.search()  # the bucket is shared across endpoints
            error = await fails(client.users.list(), "rate_limited")
            assert error.status == 429
            assert error.headers["retry-after"] == "2"  # one token at 0.5/s
            clock.now += 1.0
            await fails(client.users.me(), "rate_limited")
            clock.now += 1.0
            assert (await client.users.me())["type"] == "bot"
        finally:
            await client.aclose()


async def test_default_rate_limit_retry_after_is_at_least_one_second() -> None:
    clock = FakeClock()
    sandbox = NotionSandbox(seed=SEED, clock=clock)  # 3 requests/s, bursts of 10
    with serve(sandbox) as base_url:
        client = make_client(base_url)
        try:
            for _ in range(10):
                await client.users.me()
            error = await fails(client.users.me(), "rate_limited")
            assert error.headers["retry-after"] == "1"
        finally:
            await client.aclose()


# --- pages and properties ------------------------------------------------------------------

EVERYTHING = {
    "Name": {"title": {}},
    "Text": {"rich_text": {}},
    "Count": {"number": {"format": "number"}},
    "Kind": {"select": {"options": [{"name": "Bug", "color": "red"}]}},
    "Labels": {"multi_select": {"options": [{"name": "ui"}]}},
    "State": {"status": {"options": [{"name": "Todo"}, {"name": "Doing"}, {"name": "Done"}]}},
    "When": {"date": {}},
    "Owner": {"people": {}},
    "Attachments": {"files": {}},
    "Done": {"checkbox": {}},
    "Site": {"url": {}},
    "Mail": {"email": {}},
    "Phone": {"phone_number": {}},
    "Echo": {"formula": {"expression": 'prop("Name")'}},
    "Created": {"created_time": {}},
    "Edited": {"last_edited_time": {}},
    "Author": {"created_by": {}},
    "Editor": {"last_edited_by": {}},
    "Ref": {"unique_id": {"prefix": "EV"}},
}


async def everything_source(notion: AsyncClient, sandbox: NotionSandbox) -> dict[str, Any]:
    """A database with every property type, related two-way to Releases."""
    releases = ds(sandbox, "Releases")
    spec = {
        **EVERYTHING,
        "Release": {"relation": {"data_source_id": releases, "dual_property": {}}},
        "Versions": {
            "rollup": {
                "relation_property_name": "Release",
                "rollup_property_name": "Version",
                "function": "show_original",
            }
        },
    }
    database = await notion.databases.create(
        parent={
            "type": "page_id",
            "page_id": sandbox.database_by_title("Feedback")["parent"]["page_id"],
        },
        title=[{"text": {"content": "Everything"}}],
        initial_data_source={"properties": spec},
    )
    source: dict[str, Any] = await notion.data_sources.retrieve(database["data_sources"][0]["id"])
    return source


async def test_create_page_with_every_writable_type_and_read_it_back(
    notion: AsyncClient, sandbox: NotionSandbox
) -> None:
    source = await everything_source(notion, sandbox)
    release = await add(notion, ds(sandbox, "Releases"), Version=title("1.2.0"))
    ada = next(
        u for u in (await notion.users.list())["results"] if u.get("person", {}).get("email") == ADA
    )
    written = await add(
        notion,
        source["id"],
        Name=title("Hello, world!"),
        Text={
            "rich_text": [
                {"text": {"content": "see ", "link": None}},
                {
                    "text": {"content": "docs", "link": {"url": "https://example.com"}},
                    "annotations": {"bold": True},
                },
            ]
        },
        Count={"number": 3.5},
        Kind={"select": {"name": "Bug"}},
        Labels={"multi_select": [{"name": "ui"}, {"name": "brand-new"}]},
        State={"status": {"name": "Doing"}},
        When={"date": {"start": "2025-01-31T09:30:00Z", "end": "2025-02-01"}},
        Owner={"people": [{"object": "user", "id": ada["id"]}]},
        Attachments={"files": [{"name": "spec", "external": {"url": "https://example.com/a.pdf"}}]},
        Done={"checkbox": True},
        Site={"url": "https://example.com"},
        Mail={"email": "ada@example.com"},
        Phone={"phone_number": "+33 1 23 45 67 89"},
        Release={"relation": [{"id": release["id"]}]},
    )
    page = await notion.pages.retrieve(written["id"])
    # Each answer has its own request_id (https://developers.notion.com/reference/status-codes)
    assert page.pop("request_id") != written.pop("request_id")
    assert page == written
    props = page["properties"]
    assert set(props) == set(source["properties"])
    assert all(props[name]["id"] == source["properties"][name]["id"] for name in props)
    assert plain(props["Name"]["title"]) == "Hello, world!"
    text = props["Text"]["rich_text"]
    assert text[1]["href"] == "https://example.com" and text[1]["annotations"]["bold"] is True
    assert text[0]["annotations"] == {
        "bold": False, "italic": False, "strikethrough": False, "underline": False,
        "code": False, "color": "default",
    }  # fmt: skip
    assert props["Count"] == {"id": props["Count"]["id"], "type": "number", "number": 3.5}
    assert props["Kind"]["select"]["name"] == "Bug" and props["Kind"]["select"]["color"] == "red"
    assert [o["name"] for o in props["Labels"]["multi_select"]] == ["ui", "brand-new"]
    assert props["State"]["status"]["name"] == "Doing"
    assert props["When"]["date"] == {
        "start": "2025-01-31T09:30:00.000+00:00", "end": "2025-02-01", "time_zone": None
    }  # fmt: skip
    assert props["Owner"]["people"][0]["person"]["email"] == ADA
    assert props["Attachments"]["files"][0]["external"]["url"] == "https://example.com/a.pdf"
    assert props["Done"]["checkbox"] is True
    assert props["Site"]["url"] == "https://example.com"
    assert props["Mail"]["email"] == ADA and props["Phone"]["phone_number"].startswith("+33")
    assert props["Release"]["relation"] == [{"id": release["id"]}]
    assert props["Release"]["has_more"] is False
    assert props["Echo"]["formula"] == {"type": "string", "string": "Hello, world!"}
    assert props["Versions"]["rollup"]["array"][0]["title"][0]["plain_text"] == "1.2.0"
    assert props["Ref"]["unique_id"] == {"prefix": "EV", "number": 1}
    assert props["Created"]["created_time"] == page["created_time"]
    assert props["Edited"]["last_edited_time"] == page["last_edited_time"]
    assert props["Author"]["created_by"]["id"] == NotionSandbox.bot_user_id
    assert page["created_by"] == {"object": "user", "id": NotionSandbox.bot_user_id}
    assert STAMP.match(page["created_time"]) and STAMP.match(page["last_edited_time"])
    assert page["url"] == f"https://www.notion.so/Hello-world-{page['id'].replace('-', '')}"
    assert page["parent"] == {
        "type": "data_source_id",
        "data_source_id": source["id"],
        "database_id": source["parent"]["database_id"],
    }
    # New select options are created on the fly, like Notion does.
    schema = await notion.data_sources.retrieve(source["id"])
    assert "brand-new" in [
        o["name"] for o in schema["properties"]["Labels"]["multi_select"]["options"]
    ]
    # The dual relation created its synced side on Releases.
    related = await notion.pages.retrieve(release["id"])
    assert related["properties"]["Related to Everything (Release)"]["relation"] == [
        {"id": page["id"]}
    ]


@pytest.mark.parametrize(
    ("prop", "value", "message"),
    [
        ("Created", {"created_time": "2025-01-01T00:00:00.000Z"}, "Created is a created_time"),
        (
            "Edited",
            {"last_edited_time": "2025-01-01T00:00:00.000Z"},
            "Edited is a last_edited_time",
        ),
        ("Author", {"created_by": {"id": NotionSandbox.bot_user_id}}, "Author is a created_by"),
        (
            "Editor",
            {"last_edited_by": {"id": NotionSandbox.bot_user_id}},
            "Editor is a last_edited_by",
        ),
        ("Echo", {"formula": {"string": "x"}}, "Echo is a formula"),
        ("Versions", {"rollup": {"array": []}}, "Versions is a rollup"),
        ("Ref", {"unique_id": {"number": 7}}, "Ref is a unique_id"),
    ],
)
async def test_read_only_types_cannot_be_written(
    notion: AsyncClient, sandbox: NotionSandbox, prop: str, value: dict[str, Any], message: str
) -> None:
    source = await everything_source(notion, sandbox)
    await fails(
        add(notion, source["id"], Name=title("x"), **{prop: value}), "validation_error", message
    )
    assert sandbox.pages(source["id"]) == []


@pytest.mark.parametrize(
    ("source", "properties", "message"),
    [
        pytest.param(
            "Feedback", {"Nme": title("x")}, "Nme is not a property that exists.", id="unknown"
        ),
        pytest.param(
            "Feedback",
            {"Tags": {"select": {"name": "x"}}},
            "Tags is expected to be multi_select.",
            id="shape",
        ),
        pytest.param(
            "Feedback",
            {"Details": "plain string"},
            "Details is expected to be rich_text.",
            id="bare",
        ),
        pytest.param(
            "Feedback",
            {"Details": rich("x" * 2001)},
            "body.properties.Details.rich_text[0].text.content.length should be ≤ 2000, "
            "instead was 2001.",
            id="text-2001",
        ),
        pytest.param(
            "Feedback",
            {"Name": {"title": [{"text": {"content": "x" * 2001}}]}},
            "body.properties.Name.title[0].text.content.length should be ≤ 2000",
            id="title-2001",
        ),
        pytest.param(
            "Feedback",
            {"Details": {"rich_text": [{"text": {"content": "x"}}] * 101}},
            "body.properties.Details.rich_text.length should be ≤ 100, instead was 101.",
            id="rich-text-101",
        ),
        pytest.param(
            "Feedback",
            {"Tags": {"multi_select": [{"name": f"t{i}"} for i in range(101)]}},
            "body.properties.Tags.multi_select.length should be ≤ 100, instead was 101.",
            id="multi-select-101",
        ),
        pytest.param(
            "Feedback",
            {"Status": {"status": {"name": "Someday"}}},
            'Status option "Someday" does not exist for Status',
            id="status-option",
        ),
        pytest.param(
            "Feedback",
            {"Source": {"select": {"name": "a,b"}}},
            "Source, commas not allowed",
            id="comma",
        ),
        pytest.param(
            "Retros",
            {"Date": {"date": {"start": "tomorrow"}}},
            "body.properties.Date.date.start should be a valid ISO 8601 date string, "
            'instead was "tomorrow".',
            id="date",
        ),
        pytest.param(
            "Retros",
            {"Date": {"date": {"start": "2025-02-30"}}},
            "body.properties.Date.date.start",
            id="day",
        ),
        pytest.param(
            "Retros",
            {"Notes": {"number": "3"}},
            "body.properties.Notes.number should be a number",
            id="number",
        ),
        pytest.param(
            "Releases",
            {"Announced": {"checkbox": "yes"}},
            "body.properties.Announced.checkbox",
            id="checkbox",
        ),
        pytest.param(
            "Releases",
            {"Feedback": {"relation": [{"id": str(uuid.uuid4())}]}},
            "Feedback contains page",
            id="relation-unknown",
        ),
    ],
)
async def test_property_validation(
    notion: AsyncClient,
    sandbox: NotionSandbox,
    source: str,
    properties: dict[str, Any],
    message: str,
) -> None:
    source_id = ds(sandbox, source)
    before = await notion.data_sources.retrieve(source_id)
    await fails(add(notion, source_id, **properties), "validation_error", message)
    assert sandbox.pages(source_id) == []
    assert (await notion.data_sources.retrieve(source_id))["properties"] == before["properties"]


async def test_limits_are_inclusive(notion: AsyncClient, sandbox: NotionSandbox) -> None:
    page = await add(
        notion,
        ds(sandbox, "Feedback"),
        Name=title("x" * 2000),
        Details={"rich_text": [{"text": {"content": "y"}}] * 100},
        Tags={"multi_select": [{"name": f"t{i}"} for i in range(100)]},
    )
    assert len(plain(page["properties"]["Name"]["title"])) == 2000
    assert len(page["properties"]["Tags"]["multi_select"]) == 100


async def test_relation_must_point_into_the_related_data_source(
    notion: AsyncClient, sandbox: NotionSandbox
) -> None:
    retro = await add(notion, ds(sandbox, "Retros"), Name=title("Sprint 1"))
    await fails(
        add(notion, ds(sandbox, "Feedback"), Release={"relation": [{"id": retro["id"]}]}),
        "validation_error",
        f"Release contains page {retro['id']}",
    )
    stranger = {"people": [{"id": str(uuid.uuid4())}]}
    await notion.data_sources.update(ds(sandbox, "Feedback"), properties={"Owner": {"people": {}}})
    await fails(
        add(notion, ds(sandbox, "Feedback"), Owner=stranger),
        "validation_error",
        "Owner contains user",
    )


async def test_update_page_partially_and_trash_it(
    notion: AsyncClient, sandbox: NotionSandbox
) -> None:
    source = ds(sandbox, "Feedback")
    page = await add(notion, source, Name=title("Old"), Customer=rich("ACME"))
    assert page["properties"]["Status"]["status"]["name"] == "New"  # Notion's default status
    updated = await notion.pages.update(page["id"], properties={"Name": title("New")})
    assert plain(updated["properties"]["Name"]["title"]) == "New"
    assert plain(updated["properties"]["Customer"]["rich_text"]) == "ACME"

    trashed = await notion.pages.update(page["id"], in_trash=True)
    assert trashed["in_trash"] is True and trashed["archived"] is True
    assert await query_ids(notion, source) == []
    assert sandbox.summary()[0] == {"database": "Feedback", "data_source_id": source, "pages": 0}
    await fails(
        notion.pages.update(page["id"], properties={"Name": title("Again")}),
        "validation_error",
        "archived",
    )
    restored = await notion.pages.update(page["id"], archived=False)
    assert restored["in_trash"] is False
    assert await query_ids(notion, source) == [page["id"]]


async def test_pages_under_pages_and_database_parents(
    notion: AsyncClient, sandbox: NotionSandbox
) -> None:
    root = sandbox.database_by_title("Feedback")["parent"]["page_id"]
    child = await notion.pages.create(
        parent={"page_id": root},
        properties={"title": [{"text": {"content": "Retro notes"}}]},
        children=[{"object": "block", "type": "paragraph", "paragraph": rich("Went well")}],
    )
    assert child["parent"] == {"type": "page_id", "page_id": root}
    assert list(child["properties"]) == ["title"]
    titles = [b.get("child_page", {}).get("title") for b in sandbox.blocks(root)]
    assert "Retro notes" in titles
    assert plain(sandbox.blocks(child["id"])[0]["paragraph"]["rich_text"]) == "Went well"
    await fails(
        notion.pages.create(parent={"page_id": root}, properties={"Name": title("x")}),
        "validation_error",
        "Name is not a property that exists.",
    )
    by_database = await notion.pages.create(
        parent={"database_id": sandbox.database_by_title("Retros")["id"]},
        properties={"Name": title("Sprint 9")},
    )
    assert by_database["parent"]["data_source_id"] == ds(sandbox, "Retros")


async def test_two_way_relations_stay_in_sync(notion: AsyncClient, sandbox: NotionSandbox) -> None:
    r1 = await add(notion, ds(sandbox, "Releases"), Version=title("1.0"))
    r2 = await add(notion, ds(sandbox, "Releases"), Version=title("2.0"))
    feedback = await add(
        notion, ds(sandbox, "Feedback"), Name=title("Bug"), Release={"relation": [{"id": r1["id"]}]}
    )

    async def linked(release: dict[str, Any]) -> list[dict[str, str]]:
        page = await notion.pages.retrieve(release["id"])
        relation: list[dict[str, str]] = page["properties"]["Feedback"]["relation"]
        return relation

    assert await linked(r1) == [{"id": feedback["id"]}]
    await notion.pages.update(
        feedback["id"], properties={"Release": {"relation": [{"id": r2["id"]}]}}
    )
    assert await linked(r1) == []
    assert await linked(r2) == [{"id": feedback["id"]}]
    # And from the other side.
    await notion.pages.update(
        r1["id"], properties={"Feedback": {"relation": [{"id": feedback["id"]}]}}
    )
    page = await notion.pages.retrieve(feedback["id"])
    assert {r["id"] for r in page["properties"]["Release"]["relation"]} == {r1["id"], r2["id"]}


async def test_data_source_update_adds_and_renames_properties(
    notion: AsyncClient, sandbox: NotionSandbox
) -> None:
    source = ds(sandbox, "Feedback")
    before = await notion.data_sources.retrieve(source)
    updated = await notion.data_sources.update(
        source, properties={"Reporter": {"name": "Reported by"}, "Votes": {"number": {}}}
    )
    props = updated["properties"]
    assert "Reporter" not in props
    assert props["Reported by"]["id"] == before["properties"]["Reporter"]["id"]
    assert props["Votes"]["type"] == "number"
    page = await add(notion, source, **{"Votes": {"number": 4}, "Reported by": rich("Grace")})
    assert page["properties"]["Votes"]["number"] == 4
    await fails(
        notion.data_sources.update(source, properties={"Nope": {"name": "x"}}),
        "validation_error",
        "Nope is not a property that exists.",
    )


# --- queries -------------------------------------------------------------------------------


async def test_query_filters(notion: AsyncClient, sandbox: NotionSandbox) -> None:
    feedback, releases = ds(sandbox, "Feedback"), ds(sandbox, "Releases")
    await notion.data_sources.update(feedback, properties={"Owner": {"people": {}}})
    grace = next(u for u in (await notion.users.list())["results"] if u["name"] == "Grace Hopper")
    r1 = await add(notion, releases, Version=title("1.0"), Announced={"checkbox": True})
    r2 = await add(notion, releases, Version=title("2.0"))
    p1 = await add(
        notion, feedback, Name=title("Login is slow"), Source={"select": {"name": "Slack"}},
        Tags={"multi_select": [{"name": "perf"}, {"name": "auth"}]},
        Importance={"select": {"name": "High"}}, Link={"url": "https://a.example"},
        Release={"relation": [{"id": r1["id"]}]}, Owner={"people": [{"id": grace["id"]}]},
    )  # fmt: skip
    p2 = await add(
        notion, feedback, Name=title("Export CSV"), Details=rich("From support"),
        Source={"select": {"name": "Support"}}, Tags={"multi_select": [{"name": "export"}]},
        Importance={"select": {"name": "Low"}},
    )  # fmt: skip
    p3 = await add(
        notion, feedback, Name=title("Slow dashboard"), Source={"select": {"name": "Slack"}},
        Tags={"multi_select": [{"name": "perf"}]}, Release={"relation": [{"id": r2["id"]}]},
    )  # fmt: skip

    async def ids(flt: dict[str, Any]) -> set[str]:
        return set(await query_ids(notion, feedback, filter=flt))

    a, b, c = p1["id"], p2["id"], p3["id"]
    assert await ids({"property": "Name", "title": {"contains": "SLOW"}}) == {a, c}
    assert await ids({"property": "Name", "rich_text": {"equals": "Export CSV"}}) == {b}
    assert await ids({"property": "Details", "rich_text": {"is_empty": True}}) == {a, c}
    assert await ids({"property": "Details", "rich_text": {"contains": "support"}}) == {b}
    assert await ids({"property": "Source", "select": {"equals": "Slack"}}) == {a, c}
    assert await ids({"property": "Status", "status": {"equals": "New"}}) == {a, b, c}
    assert await ids({"property": "Tags", "multi_select": {"contains": "auth"}}) == {a}
    assert await ids({"property": "Link", "url": {"equals": "https://a.example"}}) == {a}
    assert await ids({"property": "Release", "relation": {"contains": r2["id"]}}) == {c}
    assert await ids({"property": "Owner", "people": {"contains": grace["id"]}}) == {a}
    assert await ids(
        {"and": [
            {"property": "Source", "select": {"equals": "Slack"}},
            {"property": "Tags", "multi_select": {"contains": "auth"}},
        ]}
    ) == {a}  # fmt: skip
    assert await ids(
        {"or": [
            {"property": "Importance", "select": {"equals": "Low"}},
            {"property": "Tags", "multi_select": {"contains": "auth"}},
        ]}
    ) == {a, b}  # fmt: skip
    announced = {"property": "Announced", "checkbox": {"equals": True}}
    assert await query_ids(notion, releases, filter=announced) == [r1["id"]]

    await fails(
        notion.data_sources.query(feedback, filter={"property": "Nope", "select": {"equals": "x"}}),
        "validation_error",
        "Could not find property with name or id: Nope",
    )
    await fails(
        notion.data_sources.query(feedback, filter={"property": "Tags", "select": {"equals": "x"}}),
        "validation_error",
        "Tags is a multi_select property",
    )


async def test_number_and_date_filters_and_sorts(
    notion: AsyncClient, sandbox: NotionSandbox
) -> None:
    retros = ds(sandbox, "Retros")
    s1 = await add(
        notion,
        retros,
        Name=title("Sprint 1"),
        Notes={"number": 1},
        Date={"date": {"start": "2025-01-10"}},
    )
    s2 = await add(
        notion,
        retros,
        Name=title("sprint 2"),
        Notes={"number": 5},
        Date={"date": {"start": "2025-02-10T15:00:00+01:00"}},
    )
    s3 = await add(notion, retros, Name=title("Sprint 3"), Date={"date": {"start": "2025-03-10"}})

    async def ids(flt: dict[str, Any]) -> list[str]:
        return await query_ids(
            notion, retros, filter=flt, sorts=[{"property": "Name", "direction": "ascending"}]
        )

    a, b, c = s1["id"], s2["id"], s3["id"]
    assert await ids({"property": "Notes", "number": {"greater_than": 2}}) == [b]
    assert await ids({"property": "Notes", "number": {"less_than": 2}}) == [a]
    assert await ids({"property": "Notes", "number": {"equals": 5}}) == [b]
    assert await ids({"property": "Notes", "number": {"is_empty": True}}) == [c]
    assert await ids({"property": "Date", "date": {"after": "2025-02-10"}}) == [c]
    assert await ids({"property": "Date", "date": {"on_or_after": "2025-02-10"}}) == [b, c]
    assert await ids({"property": "Date", "date": {"before": "2025-02-10"}}) == [a]
    assert await ids({"property": "Date", "date": {"equals": "2025-02-10"}}) == [b]
    assert await ids({"property": "Date", "date": {"after": "2025-02-10T14:30:00Z"}}) == [c]
    assert await ids({"property": "Date", "date": {"on_or_before": "2025-02-10T14:00:00Z"}}) == [
        a,
        b,
    ]
    await fails(
        notion.data_sources.query(retros, filter={"property": "Date", "date": {"after": "soon"}}),
        "validation_error",
        "body.filter.date.after should be a valid ISO 8601 date string",
    )
    by_notes = await query_ids(
        notion, retros, sorts=[{"property": "Notes", "direction": "descending"}]
    )
    assert by_notes == [b, a, c]  # empty values last
    by_name = await query_ids(
        notion, retros, sorts=[{"property": "Name", "direction": "descending"}]
    )
    assert by_name == [c, b, a]  # case-insensitive


async def test_last_edited_time_filter_and_timestamp_sorts(
    notion: AsyncClient, sandbox: NotionSandbox, served: Served
) -> None:
    served.now.now = datetime(2025, 3, 1, 10, 0, 20, tzinfo=UTC)
    source = ds(sandbox, "Feedback")
    a = await add(notion, source, Name=title("A"))
    assert a["last_edited_time"] == "2025-03-01T10:00:00.000Z"  # Notion keeps minutes only
    served.now.advance(minutes=5)
    b = await add(notion, source, Name=title("B"))

    def since(moment: str) -> dict[str, Any]:
        return {"timestamp": "last_edited_time", "last_edited_time": {"on_or_after": moment}}

    assert await query_ids(notion, source, filter=since("2025-03-01T10:02:00Z")) == [b["id"]]
    assert await query_ids(notion, source, filter=since("2025-03-01T10:05:10Z")) == []
    served.now.advance(minutes=5)
    await notion.pages.update(a["id"], properties={"Details": rich("edited")})
    newest_edit_first = [{"timestamp": "last_edited_time", "direction": "descending"}]
    found = await query_ids(
        notion, source, filter=since("2025-03-01T10:02:00Z"), sorts=newest_edit_first
    )
    assert found == [a["id"], b["id"]]
    created = {"timestamp": "created_time", "created_time": {"before": "2025-03-01T10:05:00Z"}}
    assert await query_ids(notion, source, filter=created) == [a["id"]]
    oldest_first = [{"timestamp": "created_time", "direction": "ascending"}]
    assert await query_ids(notion, source, sorts=oldest_first) == [a["id"], b["id"]]


async def test_query_pagination(notion: AsyncClient, sandbox: NotionSandbox) -> None:
    source = ds(sandbox, "Retros")
    made = [(await add(notion, source, Name=title(f"Sprint {i}")))["id"] for i in range(7)]
    seen, cursor, sizes = [], None, []
    while True:
        answer = await notion.data_sources.query(source, page_size=3, start_cursor=cursor)
        sizes.append(len(answer["results"]))
        seen += [page["id"] for page in answer["results"]]
        if not answer["has_more"]:
            assert answer["next_cursor"] is None
            break
        cursor = answer["next_cursor"]
    assert sizes == [3, 3, 1]
    assert seen == list(reversed(made))  # newest first without sorts
    await fails(notion.data_sources.query(source, page_size=101), "validation_error", "page_size")
    await fails(
        notion.data_sources.query(source, start_cursor=str(uuid.uuid4())),
        "validation_error",
        "start_cursor",
    )


# --- blocks and comments -------------------------------------------------------------------


def paragraph(text: str) -> dict[str, Any]:
    return {"object": "block", "type": "paragraph", "paragraph": rich(text)}


async def test_block_children_append_100_ok_101_rejected(
    notion: AsyncClient, sandbox: NotionSandbox
) -> None:
    page = await add(notion, ds(sandbox, "Feedback"), Name=title("Long"))
    appended = await notion.blocks.children.append(
        page["id"], children=[paragraph(f"p{i}") for i in range(100)]
    )
    assert len(appended["results"]) == 100 and appended["type"] == "block"
    listed = await notion.blocks.children.list(page["id"], page_size=100)
    assert len(listed["results"]) == 100 and listed["has_more"] is False
    await fails(
        notion.blocks.children.append(page["id"], children=[paragraph("x")] * 101),
        "validation_error",
        "body.children.length should be ≤ 100, instead was 101.",
    )
    await fails(
        notion.blocks.children.append(page["id"], children=[paragraph("x" * 2001)]),
        "validation_error",
        "body.children[0].paragraph.rich_text[0].text.content.length should be ≤ 2000",
    )
    assert len(sandbox.blocks(page["id"])) == 100

    first = listed["results"][0]["id"]
    await notion.blocks.children.append(page["id"], children=[paragraph("inserted")], after=first)
    texts = [plain(b["paragraph"]["rich_text"]) for b in sandbox.blocks(page["id"])]
    assert texts[:3] == ["p0", "inserted", "p1"] and len(texts) == 101
    second_page = await notion.blocks.children.list(page["id"], page_size=100, start_cursor=None)
    rest = await notion.blocks.children.list(page["id"], start_cursor=second_page["next_cursor"])
    assert [plain(b["paragraph"]["rich_text"]) for b in rest["results"]] == ["p99"]

    block = await notion.blocks.retrieve(first)
    assert block["type"] == "paragraph" and block["parent"] == {
        "type": "page_id",
        "page_id": page["id"],
    }


async def test_nested_children(notion: AsyncClient, sandbox: NotionSandbox) -> None:
    page = await add(notion, ds(sandbox, "Feedback"), Name=title("Nested"))
    toggle = {"type": "toggle", "toggle": {**rich("More"), "children": [paragraph("inside")]}}
    [made] = (await notion.blocks.children.append(page["id"], children=[toggle]))["results"]
    assert made["has_children"] is True
    inner = await notion.blocks.children.list(made["id"])
    assert plain(inner["results"][0]["paragraph"]["rich_text"]) == "inside"
    assert inner["results"][0]["parent"] == {"type": "block_id", "block_id": made["id"]}


async def test_comments(notion: AsyncClient, sandbox: NotionSandbox) -> None:
    page = await add(notion, ds(sandbox, "Feedback"), Name=title("Discuss me"))
    first = await notion.comments.create(
        parent={"page_id": page["id"]}, rich_text=[{"text": {"content": "Why?"}}]
    )
    assert first["object"] == "comment" and first["created_by"]["id"] == NotionSandbox.bot_user_id
    reply = await notion.comments.create(
        discussion_id=first["discussion_id"], rich_text=[{"text": {"content": "Because."}}]
    )
    assert reply["parent"] == {"type": "page_id", "page_id": page["id"]}
    listed = await notion.comments.list(block_id=page["id"])
    assert [plain(c["rich_text"]) for c in listed["results"]] == ["Why?", "Because."]
    assert listed["type"] == "comment"
    assert [c["id"] for c in sandbox.comments(page["id"])] == [first["id"], reply["id"]]
    await fails(
        notion.comments.create(
            parent={"page_id": str(uuid.uuid4())}, rich_text=[{"text": {"content": "?"}}]
        ),
        "object_not_found",
    )
    await fails(
        notion.comments.create(
            parent={"page_id": page["id"]}, rich_text=[{"text": {"content": "x" * 2001}}]
        ),
        "validation_error",
        "body.rich_text[0].text.content.length should be ≤ 2000",
    )


# --- read-back helpers ---------------------------------------------------------------------


async def test_summary_pages_and_reset(notion: AsyncClient, sandbox: NotionSandbox) -> None:
    source = ds(sandbox, "Feedback")
    for name in ("one", "two"):
        await add(notion, source, Name=title(name))
    counts = {row["database"]: row["pages"] for row in sandbox.summary()}
    assert counts == {"Feedback": 2, "Retros": 0, "Releases": 0}
    assert [plain(p["properties"]["Name"]["title"]) for p in sandbox.pages(source)] == [
        "one",
        "two",
    ]
    sandbox.reset()
    assert ds(sandbox, "Feedback") != source
    assert {row["pages"] for row in sandbox.summary()} == {0}
    assert [plain(p["properties"]["title"]["title"]) for p in sandbox.pages()] == [
        "Passerelle sandbox"
    ]
