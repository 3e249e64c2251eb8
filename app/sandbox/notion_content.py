"""Rich text and block payloads: Notion's request limits and its read shapes.

Limits enforced as Notion does: 2,000 characters per text object, 1,000 per equation, 100
items per array (rich text, multi-select, relations, people, files, block children).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.sandbox.notion_errors import body_invalid, too_long
from app.sandbox.notion_limits import CODE_LANGUAGES, COLORS, MAX_URL, check_keys, check_length

MAX_TEXT = 2000
MAX_EQUATION = 1000
MAX_ITEMS = 100
ANNOTATIONS: dict[str, Any] = {
    "bold": False,
    "italic": False,
    "strikethrough": False,
    "underline": False,
    "code": False,
    "color": "default",
}
_RICH_KEYS = {"type", "text", "mention", "equation", "annotations", "plain_text", "href"}
# The keys any block type may carry under its type key (Notion checks them per type).
_BLOCK_KEYS = {"rich_text", "color", "children", "checked", "language", "caption",
               "is_toggleable", "icon", "url", "expression", "type", "external", "file", "name",
               "page_id", "database_id", "file_upload"}
_COLOR_EXPECTED = "should be a Notion color (default, gray, …, red, or one with _background)"
TEXT_BLOCKS = {
    "paragraph",
    "heading_1",
    "heading_2",
    "heading_3",
    "bulleted_list_item",
    "numbered_list_item",
    "to_do",
    "toggle",
    "quote",
    "callout",
    "code",
}
OTHER_BLOCKS = {
    "divider",
    "bookmark",
    "embed",
    "equation",
    "image",
    "video",
    "file",
    "pdf",
    "table_of_contents",
    "breadcrumb",
    "link_to_page",
}


def array(value: Any, path: str) -> list[Any]:
    if not isinstance(value, list):
        raise body_invalid(path, "should be an array", value)
    if len(value) > MAX_ITEMS:
        raise too_long(path, MAX_ITEMS, len(value))
    return value


def rich_text(value: Any, path: str) -> list[dict[str, Any]]:
    """Validates rich text as written and returns it in Notion's read shape."""
    return [_rich_item(item, f"{path}[{i}]") for i, item in enumerate(array(value, path))]


def text(content: str) -> list[dict[str, Any]]:
    return rich_text([{"text": {"content": content}}], "text")


def plain(items: list[dict[str, Any]]) -> str:
    return "".join(item.get("plain_text", "") for item in items)


def _rich_item(item: Any, path: str) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise body_invalid(path, "should be an object", item)
    kind = item.get("type") or next((k for k in ("text", "mention", "equation") if k in item), None)
    payload = item.get(kind) if isinstance(kind, str) else None
    if kind not in ("text", "mention", "equation") or not isinstance(payload, dict):
        raise body_invalid(path, 'should have one of "text", "mention" or "equation"', item)
    check_keys(item, _RICH_KEYS, path)
    out: dict[str, Any] = {"type": kind, "annotations": _annotations(item, path), "href": None}
    if kind == "text":
        check_keys(payload, {"content", "link"}, f"{path}.text")
        content = payload.get("content")
        if not isinstance(content, str):
            raise body_invalid(f"{path}.text.content", "should be a string", content)
        check_length(content, f"{path}.text.content", MAX_TEXT)
        link = payload.get("link")
        if link is not None and not (isinstance(link, dict) and isinstance(link.get("url"), str)):
            raise body_invalid(f"{path}.text.link", "should be an object with a url or null", link)
        if link:
            check_keys(link, {"url"}, f"{path}.text.link")
            check_length(link["url"], f"{path}.text.link.url", MAX_URL)
        url = link["url"] if link else None
        out.update(text={"content": content, "link": {"url": url} if url else None}, href=url)
        out["plain_text"] = content
    elif kind == "equation":
        expression = payload.get("expression")
        if not isinstance(expression, str):
            raise body_invalid(f"{path}.equation.expression", "should be a string", expression)
        check_length(expression, f"{path}.equation.expression", MAX_EQUATION)
        out.update(equation={"expression": expression}, plain_text=expression)
    else:
        if not isinstance(payload.get("type"), str):
            raise body_invalid(f"{path}.mention.type", "should be a string", payload.get("type"))
        out.update(mention=payload, plain_text=str(item.get("plain_text", "")))
    return out


def _annotations(item: dict[str, Any], path: str) -> dict[str, Any]:
    given = item.get("annotations") or {}
    if not isinstance(given, dict):
        raise body_invalid(f"{path}.annotations", "should be an object", given)
    for key, value in given.items():
        expected = str if key == "color" else bool
        if key not in ANNOTATIONS or not isinstance(value, expected):
            raise body_invalid(f"{path}.annotations.{key}", "should be not present or valid", value)
        if key == "color" and value not in COLORS:
            raise body_invalid(f"{path}.annotations.color", _COLOR_EXPECTED, value)
    return {**ANNOTATIONS, **given}


@dataclass
class BlockSpec:
    """A validated block to create, with its own children."""

    type: str
    payload: dict[str, Any]
    children: list[BlockSpec] = field(default_factory=list)


def children(value: Any, path: str) -> list[BlockSpec]:
    return [_block(item, f"{path}[{i}]") for i, item in enumerate(array(value, path))]


def _block(item: Any, path: str) -> BlockSpec:
    if not isinstance(item, dict):
        raise body_invalid(path, "should be an object", item)
    kinds = [k for k in item if k in TEXT_BLOCKS | OTHER_BLOCKS]
    kind = item.get("type") or (kinds[0] if len(kinds) == 1 else None)
    if kind not in TEXT_BLOCKS | OTHER_BLOCKS:
        raise body_invalid(f"{path}.type", "should be a supported block type", kind)
    check_keys(item, {"object", "type", kind}, path)
    payload = item.get(kind)
    if not isinstance(payload, dict):
        raise body_invalid(f"{path}.{kind}", "should be an object", payload)
    check_keys(payload, _BLOCK_KEYS, f"{path}.{kind}")
    payload = dict(payload)
    if payload.get("color", "default") not in COLORS:
        raise body_invalid(f"{path}.{kind}.color", _COLOR_EXPECTED, payload.get("color"))
    if kind == "code" and payload.get("language", "plain text") not in CODE_LANGUAGES:
        raise body_invalid(f"{path}.code.language", "should be a language Notion knows",
                           payload.get("language"))
    if isinstance(payload.get("url"), str):
        check_length(payload["url"], f"{path}.{kind}.url", MAX_URL)
    nested = children(payload.pop("children", []), f"{path}.{kind}.children")
    if kind in TEXT_BLOCKS:
        payload["rich_text"] = rich_text(payload.get("rich_text", []), f"{path}.{kind}.rich_text")
        payload.setdefault("color", "default")
    if kind == "to_do":
        payload["checked"] = bool(payload.get("checked", False))
    if kind == "code":
        payload.setdefault("language", "plain text")
        payload["caption"] = rich_text(payload.get("caption", []), f"{path}.code.caption")
    if kind.startswith("heading_"):
        payload.setdefault("is_toggleable", False)
    return BlockSpec(kind, payload, nested)
