"""Page content as markdown, as Notion documents it (API version 2025-09-03).

- ``POST /v1/pages`` takes ``markdown`` instead of ``children``: the page and its body in one
  request. The two (and ``content``) are mutually exclusive.
- ``GET /v1/pages/{id}/markdown`` answers the body as markdown.
- ``PATCH /v1/pages/{id}/markdown`` with ``type`` ``insert_content`` (appended at the end, or
  at the start with ``position: {"type": "start"}``) or ``replace_content`` (``new_str``).

https://developers.notion.com/guides/data-apis/working-with-markdown-content
https://developers.notion.com/reference/update-page-markdown

Notion converts the markdown itself; the stand-in converts it with the connector's own
markdown reader (``connectors/notion/blocks.py``) and validates the blocks as ``children``.
"""

from __future__ import annotations

from typing import Any

from app.sandbox.notion_content import BlockSpec, children, plain
from app.sandbox.notion_errors import body_invalid, validation
from app.sandbox.notion_state import Call, Workspace

MAX_MARKDOWN = 100_000  # characters in one request; the stand-in bounds what it converts
_PREFIX = {"heading_1": "# ", "heading_2": "## ", "heading_3": "### ", "quote": "> ",
           "bulleted_list_item": "- ", "numbered_list_item": "1. "}


def blocks_of(body: dict[str, Any]) -> list[BlockSpec]:
    """The blocks a create request gives, from ``children`` or ``markdown`` (not both)."""
    given = [key for key in ("children", "content", "markdown") if key in body]
    if "markdown" in body and len(given) > 1:
        raise validation("body.markdown is mutually exclusive with body.children and "
                         "body.content.")
    if "markdown" in body:
        return convert(body["markdown"], "body.markdown")
    return children(body["children"], "body.children") if "children" in body else []


def convert(value: Any, path: str) -> list[BlockSpec]:
    from connectors.notion.blocks import markdown_to_blocks

    if not isinstance(value, str):
        raise body_invalid(path, "should be a string", value)
    if len(value) > MAX_MARKDOWN:
        raise validation(f"{path}.length should be ≤ {MAX_MARKDOWN}, instead was {len(value)}.")
    return children(markdown_to_blocks(value), path)


def get_markdown(ws: Workspace, call: Call) -> dict[str, Any]:
    page = ws.page(call.params["id"])
    return _answer(ws, page.id)


def patch_markdown(ws: Workspace, call: Call) -> dict[str, Any]:
    page, body = ws.page(call.params["id"]), call.body
    if page.in_trash:
        from app.sandbox.notion_pages import ARCHIVED

        raise validation(ARCHIVED)
    kind = body.get("type")
    if kind not in ("insert_content", "replace_content"):
        raise body_invalid("body.type", 'should be "insert_content" or "replace_content"', kind)
    spec = body.get(kind)
    if not isinstance(spec, dict):
        raise body_invalid(f"body.{kind}", "should be an object", spec)
    field = "content" if kind == "insert_content" else "new_str"
    blocks = convert(spec.get(field), f"body.{kind}.{field}")
    existing = ws.visible_children(page.id)
    if kind == "replace_content":
        for child in existing:
            if child in ws.blocks:
                ws.blocks[child].in_trash = True
        ws.add_blocks(page.id, blocks)
    else:
        position = spec.get("position") or {"type": "end"}
        if not isinstance(position, dict) or position.get("type") not in ("start", "end"):
            raise body_invalid(f"body.{kind}.position", 'should be {"type": "start"|"end"}',
                               position)
        at_start = position["type"] == "start" and existing
        made = ws.add_blocks(page.id, blocks)
        if at_start:  # move the new blocks in front of the existing ones
            siblings = ws.children[page.id]
            new_ids = [b.id for b in made]
            ws.children[page.id] = new_ids + [c for c in siblings if c not in new_ids]
    page.edited, page.editor = ws.now(), call.actor
    return _answer(ws, page.id)


def _answer(ws: Workspace, page_id: str) -> dict[str, Any]:
    lines = []
    for child in ws.visible_children(page_id):
        block = ws.render_child(child)
        kind = block["type"]
        payload = block.get(kind, {})
        text = plain(payload.get("rich_text", [])) if "rich_text" in payload else ""
        if kind == "to_do":
            lines.append(f"- [{'x' if payload.get('checked') else ' '}] {text}")
        elif kind == "code":
            lines.append(f"```{payload.get('language', '')}\n{text}\n```")
        elif kind == "divider":
            lines.append("---")
        elif kind in ("child_page", "child_database"):
            lines.append(f"<page>{payload.get('title', '')}</page>")
        else:
            lines.append(_PREFIX.get(kind, "") + text)
    return {"object": "page_markdown", "id": page_id, "markdown": "\n".join(lines),
            "truncated": False, "unknown_block_ids": []}
