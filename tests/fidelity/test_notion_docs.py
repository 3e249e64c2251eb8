"""The Notion stand-in replayed against request/response pairs written from Notion's docs.

Each case names the page it comes from. Requests go over real HTTP to the stand-in alone, with
its rate limit on (its clock moves one second per reading, so single requests are never
throttled; pacing itself is tested in tests/integration/test_notion_sandbox.py).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.sandbox.notion import NotionSandbox
from app.sandbox.notion_model import UNSHARED_TITLE
from tests.conftest import serve_app

LIMITS = "https://developers.notion.com/reference/request-limits"
STATUS = "https://developers.notion.com/reference/status-codes"
VERSIONING = "https://developers.notion.com/reference/versioning"
AUTH = "https://developers.notion.com/reference/authentication"
PAGE = "https://developers.notion.com/reference/page"
BLOCK = "https://developers.notion.com/reference/block"
RICH = "https://developers.notion.com/reference/rich-text"
PROPS = "https://developers.notion.com/reference/page-property-values"
UPDATE_DS = "https://developers.notion.com/reference/update-a-data-source"
SHARE = "https://developers.notion.com/docs/create-a-notion-integration#give-your-integration-page-permissions"
ADA = "3f1e6a4c-8b52-4d0e-a7c1-2b9d5e8f0a11"
SEED = [{"title": "Feedback", "properties": {
    "Name": {"title": {}}, "Link": {"url": {}}, "Mail": {"email": {}},
    "Phone": {"phone_number": {}}, "Source": {"select": {"options": [{"name": "Slack"}]}},
    "When": {"date": {}}}}]


def _text(content: str, **extra: Any) -> dict[str, Any]:
    return {"type": "text", "text": {"content": content, **extra}}


def _para(content: str = "x", **payload: Any) -> dict[str, Any]:
    return {"type": "paragraph", "paragraph": {"rich_text": [_text(content)], **payload}}


@pytest.fixture(scope="module")
def notion() -> Iterator[tuple[httpx.Client, NotionSandbox]]:
    ticks = itertools.count(start=1000.0, step=1.0)
    sandbox = NotionSandbox(seed=SEED, clock=lambda: next(ticks))
    app = FastAPI()
    app.include_router(sandbox.router(), prefix="/v1")
    headers = {"Authorization": "Bearer ntn_fidelity", "Notion-Version": "2025-09-03"}
    with serve_app(app) as url, httpx.Client(base_url=f"{url}/v1", headers=headers,
                                             timeout=30) as client:
        yield client, sandbox


def _feedback(sandbox: NotionSandbox) -> str:
    return str(sandbox.data_source_by_title("Feedback")["id"])


def _new_page(sandbox: NotionSandbox, **properties: Any) -> dict[str, Any]:
    props = {"Name": {"title": [_text("Case")]}, **properties}
    return {"parent": {"data_source_id": _feedback(sandbox)}, "properties": props}


def _refused(answer: httpx.Response, status: int, code: str, message: str = "") -> None:
    body = answer.json()
    assert (answer.status_code, body["object"], body["code"]) == (status, "error", code), body
    assert body["status"] == status and isinstance(body["request_id"], str)
    assert message in body["message"], body["message"]


# (doc page, name, body builder, expected message fragment) — each POST /v1/pages refused 400.
REFUSED_PAGES: list[tuple[str, str, Any, str]] = [
    # 1,001 emoji are 2,002 UTF-16 code units, over the 2,000 of a text object.
    (LIMITS, "emoji", lambda s: _new_page(s, Name={"title": [_text("😀" * 1001)]}),
     "title[0].text.content.length should be ≤ 2000, instead was 2002"),
    (LIMITS, "link url", lambda s: _new_page(
        s, Name={"title": [_text("a", link={"url": "https://x.io/" + "a" * 2000})]}),
     "text.link.url.length should be ≤ 2000"),
    (LIMITS, "url property", lambda s: _new_page(s, Link={"url": "https://x.io/" + "a" * 1990}),
     "Link.url.length should be ≤ 2000"),
    (LIMITS, "email", lambda s: _new_page(s, Mail={"email": "a" * 190 + "@example.com"}),
     "Mail.email.length should be ≤ 200"),
    (LIMITS, "phone", lambda s: _new_page(s, Phone={"phone_number": "1" * 201}),
     "Phone.phone_number.length should be ≤ 200"),
    (LIMITS, "101 children", lambda s: {**_new_page(s), "children": [_para()] * 101},
     "body.children.length should be ≤ 100"),
    (LIMITS, "three levels", lambda s: {**_new_page(s), "children": [
        {"type": "toggle", "toggle": {"rich_text": [], "children": [
            {"type": "toggle", "toggle": {"rich_text": [], "children": [_para()]}}]}}]},
     "body.children[0].toggle.children[0].toggle.children should be not present"),
    (LIMITS, "1,100 blocks", lambda s: {**_new_page(s), "children": [
        {"type": "toggle", "toggle": {"rich_text": [], "children": [_para()] * 10}}] * 100},
     "1100 block elements"),
    (LIMITS, "600 KB", lambda s: {**_new_page(s), "children": [
        {"type": "paragraph", "paragraph": {"rich_text": [_text("a" * 2000)] * 3}}] * 100},
     "Request body too large"),
    (BLOCK, "code language", lambda s: {**_new_page(s), "children": [{"type": "code", "code": {
        "rich_text": [_text("x")], "language": "klingon"}}]}, "code.language"),
    (BLOCK, "block colour", lambda s: {**_new_page(s), "children": [_para(color="neon")]},
     "paragraph.color"),
    (RICH, "annotation colour", lambda s: _new_page(s, Name={"title": [
        {**_text("x"), "annotations": {"color": "neon"}}]}), "annotations.color"),
    (STATUS, "unknown body key", lambda s: {**_new_page(s), "colour": "red"},
     "body.colour should be not present"),
    (RICH, "unknown nested key", lambda s: _new_page(s, Name={"title": [
        {"type": "text", "text": {"content": "x", "bold": True}}]}),
     "title[0].text.bold should be not present"),
    (PROPS, "unknown select key", lambda s: _new_page(
        s, Source={"select": {"name": "Slack", "colour": "red"}}),
     "Source.select.colour should be not present"),
    (PROPS, "unknown date key", lambda s: _new_page(
        s, When={"date": {"start": "2026-01-01", "stop": "2026-01-02"}}),
     "When.date.stop should be not present"),
    (PROPS, "unknown value key", lambda s: _new_page(
        s, Source={"select": {"name": "Slack"}, "multi": True}),
     "Source.multi should be not present"),
    (BLOCK, "unknown block key", lambda s: {**_new_page(s), "children": [
        {"type": "paragraph", "paragraph": {"rich_text": [], "size": 3}}]},
     "paragraph.size should be not present"),
]


@pytest.mark.parametrize(("doc", "name", "build", "message"), REFUSED_PAGES,
                         ids=[case[1] for case in REFUSED_PAGES])
def test_notion_refuses_what_its_docs_refuse(
    notion: tuple[httpx.Client, NotionSandbox], doc: str, name: str, build: Any, message: str
) -> None:
    client, sandbox = notion
    before = len(sandbox.pages())
    _refused(client.post("/pages", json=build(sandbox)), 400, "validation_error", message)
    assert len(sandbox.pages()) == before  # a refused request leaves no trace


def test_limits_are_inclusive(notion: tuple[httpx.Client, NotionSandbox]) -> None:
    # LIMITS: 2,000 code units, 100 children, two levels and 1,000 blocks are allowed.
    client, sandbox = notion
    body = {**_new_page(sandbox, Name={"title": [_text("😀" * 1000)]}), "children": [
        {"type": "toggle", "toggle": {"rich_text": [], "children": [_para()] * 9}}] * 100}
    answer = client.post("/pages", json=body)
    assert answer.status_code == 200, answer.text
    assert isinstance(answer.json()["request_id"], str)
    page = answer.json()["id"]
    assert len(sandbox.blocks(page)) == 100


def test_unknown_query_string_is_refused(notion: tuple[httpx.Client, NotionSandbox]) -> None:
    client, _ = notion  # STATUS: validation_error for a request that does not match the schema
    _refused(client.get("/users", params={"page_size": "5", "colour": "red"}), 400,
             "validation_error", "query.colour should be not present")
    assert client.get("/users", params={"page_size": "5"}).status_code == 200


@pytest.mark.parametrize(("token", "status"), [
    ("ntn_abc", 200), ("secret_abc", 200), (f"person:{ADA}", 200),  # AUTH
    ("abc", 401), ("ntn_", 401), ("person:nobody", 401), ("Basic", 401),
])
def test_tokens(notion: tuple[httpx.Client, NotionSandbox], token: str, status: int) -> None:
    client, _ = notion
    auth = token if token == "Basic" else f"Bearer {token}"
    answer = client.get("/users/me", headers={"Authorization": auth})
    if status == 401:
        _refused(answer, 401, "unauthorized", "API token is invalid.")  # STATUS
    else:
        assert answer.status_code == 200 and "request_id" in answer.json()


def test_version_json_and_url_errors(notion: tuple[httpx.Client, NotionSandbox]) -> None:
    client, _ = notion
    _refused(client.get("/users/me", headers={"Notion-Version": ""}), 400, "validation_error")
    bare = httpx.get(f"{client.base_url}users/me", headers={"Authorization": "Bearer ntn_x"})
    _refused(bare, 400, "missing_version", "Notion-Version header should be defined")  # VERSIONING
    _refused(client.post("/search", content=b"{nope", headers={"Content-Type":
             "application/json"}), 400, "invalid_json", "Error parsing JSON body.")  # STATUS
    _refused(client.get("/nowhere"), 400, "invalid_request_url")  # STATUS


def test_unshared_data_source_is_not_found(notion: tuple[httpx.Client, NotionSandbox]) -> None:
    # SHARE / STATUS: 404 object_not_found when the resource is not shared with the token.
    client, _ = notion
    person = {"Authorization": f"Bearer person:{ADA}"}
    found = client.post("/search", json={"query": UNSHARED_TITLE}, headers=person).json()
    [source] = [r for r in found["results"] if r["object"] == "data_source"]
    assert client.get(f"/data_sources/{source['id']}", headers=person).status_code == 200
    _refused(client.get(f"/data_sources/{source['id']}"), 404, "object_not_found",
             "shared with your integration")
    mine = client.post("/search", json={"query": UNSHARED_TITLE}).json()
    assert mine["results"] == []


def test_patch_data_source_archived_trashes_it(notion: tuple[httpx.Client, NotionSandbox]) -> None:
    # UPDATE_DS: in_trash (formerly archived) moves the data source to the trash.
    client, _ = notion
    person = {"Authorization": f"Bearer person:{ADA}"}
    found = client.post("/search", json={"query": UNSHARED_TITLE}, headers=person).json()
    source = next(r["id"] for r in found["results"] if r["object"] == "data_source")
    trashed = client.patch(f"/data_sources/{source}", json={"archived": True}, headers=person)
    assert trashed.status_code == 200 and trashed.json()["in_trash"] is True
    again = client.post("/search", json={"query": UNSHARED_TITLE}, headers=person).json()
    assert again["results"] == []
    back = client.patch(f"/data_sources/{source}", json={"in_trash": False}, headers=person)
    assert back.json()["in_trash"] is False


def test_page_object_shape(notion: tuple[httpx.Client, NotionSandbox]) -> None:
    # PAGE: the keys of a page object, with icon, parent and the trash flags.
    client, sandbox = notion
    body = {**_new_page(sandbox), "icon": {"type": "emoji", "emoji": "🐞"}}
    page = client.post("/pages", json=body).json()
    for key in ("object", "id", "created_time", "last_edited_time", "created_by",
                "last_edited_by", "cover", "icon", "parent", "archived", "in_trash",
                "is_locked", "properties", "url", "public_url", "request_id"):
        assert key in page, key
    assert page["parent"] == {"type": "data_source_id", "data_source_id": _feedback(sandbox),
                              "database_id": page["parent"]["database_id"]}
    assert page["icon"] == {"type": "emoji", "emoji": "🐞"}
    assert json.dumps(page["properties"]["Name"]["title"][0]["annotations"]) == json.dumps({
        "bold": False, "italic": False, "strikethrough": False, "underline": False,
        "code": False, "color": "default"})
