"""The Notion stand-in's page content as markdown, as Notion documents it (API 2025-09-03).

https://developers.notion.com/guides/data-apis/working-with-markdown-content
(``POST /v1/pages`` with ``markdown``, mutually exclusive with ``children``),
https://developers.notion.com/reference/retrieve-page-markdown (``GET …/markdown`` answers a
``page_markdown`` object) and https://developers.notion.com/reference/update-page-markdown
(``PATCH …/markdown`` with ``insert_content`` or ``replace_content``). Driven over HTTP with
the real ``notion_client``.
"""

from __future__ import annotations

from typing import Any

from notion_client import AsyncClient

from app.sandbox.notion import NotionSandbox
from tests.integration import test_notion_sandbox as base
from tests.integration.test_notion_sandbox import ds, fails, plain, title

# The stand-in served over HTTP, and a client of it: the fixtures of the stand-in's own tests.
served, sandbox, notion = base.served, base.sandbox, base.notion

BODY = "# Summary\n\nExport is **slow** on big boards.\n\n- since 2.3\n- [ ] check logs"


async def markdown_of(notion: AsyncClient, page_id: str) -> dict[str, Any]:
    answer: dict[str, Any] = await notion.request(path=f"pages/{page_id}/markdown",
                                                  method="GET")
    return answer


async def test_a_page_and_its_body_in_one_request(notion: AsyncClient,
                                                  sandbox: NotionSandbox) -> None:
    parent = {"type": "data_source_id", "data_source_id": ds(sandbox, "Feedback")}
    page = await notion.pages.create(parent=parent, properties={"Name": title("Slow export")},
                                     markdown=BODY)
    blocks = sandbox.blocks(page["id"])
    assert [b["type"] for b in blocks] == ["heading_1", "paragraph", "bulleted_list_item",
                                           "to_do"]
    assert plain(blocks[1]["paragraph"]["rich_text"]) == "Export is slow on big boards."
    assert blocks[1]["paragraph"]["rich_text"][1]["annotations"]["bold"] is True
    read = await markdown_of(notion, page["id"])
    assert read["object"] == "page_markdown" and read["id"] == page["id"]
    assert read["markdown"].splitlines() == [
        "# Summary", "Export is slow on big boards.", "- since 2.3", "- [ ] check logs"]
    assert read["truncated"] is False and read["unknown_block_ids"] == []


async def test_markdown_and_children_are_exclusive_and_checked(notion: AsyncClient,
                                                               sandbox: NotionSandbox) -> None:
    parent = {"type": "data_source_id", "data_source_id": ds(sandbox, "Feedback")}
    paragraph = {"type": "paragraph", "paragraph": {"rich_text": [{"text": {"content": "x"}}]}}
    await fails(notion.pages.create(parent=parent, properties={"Name": title("x")},
                                    markdown="x", children=[paragraph]),
                "validation_error", "mutually exclusive")
    await fails(notion.pages.create(parent=parent, properties={"Name": title("x")},
                                    markdown=["not", "a", "string"]),
                "validation_error", "body.markdown")
    await fails(notion.pages.create(parent=parent, properties={"Name": title("x")},
                                    markdown="y" * 100_001), "validation_error")
    assert sandbox.pages(ds(sandbox, "Feedback")) == []  # nothing half-made


async def test_insert_and_replace_content(notion: AsyncClient, sandbox: NotionSandbox) -> None:
    parent = {"type": "data_source_id", "data_source_id": ds(sandbox, "Feedback")}
    page = await notion.pages.create(parent=parent, properties={"Name": title("Notes")},
                                     markdown="first")
    path = f"pages/{page['id']}/markdown"
    await notion.request(path=path, method="PATCH", body={
        "type": "insert_content", "insert_content": {"content": "last"}})
    await notion.request(path=path, method="PATCH", body={
        "type": "insert_content",
        "insert_content": {"content": "## top", "position": {"type": "start"}}})
    assert (await markdown_of(notion, page["id"]))["markdown"] == "## top\nfirst\nlast"
    answer = await notion.request(path=path, method="PATCH", body={
        "type": "replace_content", "replace_content": {"new_str": "only this"}})
    assert answer["markdown"] == "only this"
    assert [plain(b["paragraph"]["rich_text"]) for b in sandbox.blocks(page["id"])] == [
        "only this"]
    await fails(notion.request(path=path, method="PATCH", body={"type": "delete_all"}),
                "validation_error", "body.type")
    await fails(notion.request(path=path, method="PATCH", body={
        "type": "insert_content", "insert_content": {"content": 3}}),
        "validation_error", "insert_content.content")
    await notion.pages.update(page_id=page["id"], in_trash=True)
    await fails(notion.request(path=path, method="PATCH", body={
        "type": "insert_content", "insert_content": {"content": "late"}}),
        "validation_error", "archived")
    await fails(markdown_of(notion, "0" * 32), "object_not_found")
