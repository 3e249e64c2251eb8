"""Notion's request-wide limits: body size, block count and depth, known keys, enums.

From https://developers.notion.com/reference/request-limits: a payload holds at most 1,000
block elements and 500 KB; rich text content and URLs are measured in UTF-16 code units (as
JavaScript's `String.length` does, so one emoji outside the BMP counts 2); a request creates at
most two levels of nested children. Keys a route does not know are refused with a
`validation_error` ("should be not present"), in the body and in the query string.
"""

from __future__ import annotations

from typing import Any

from app.sandbox.notion_errors import NotionError, body_invalid, show, validation

MAX_PAYLOAD_BYTES = 500 * 1000
MAX_BLOCKS = 1000
MAX_DEPTH = 2  # top-level children (1) and their children (2)
MAX_URL = 2000
MAX_EMAIL = 200
MAX_PHONE = 200

BASE_COLORS = ("default", "gray", "brown", "orange", "yellow", "green", "blue", "purple",
               "pink", "red")
COLORS = frozenset(BASE_COLORS) | {f"{c}_background" for c in BASE_COLORS[1:]}
# https://developers.notion.com/reference/block#code
CODE_LANGUAGES = frozenset({
    "abap", "abc", "agda", "arduino", "ascii art", "assembly", "bash", "basic", "bnf", "c", "c#",
    "c++", "clojure", "coffeescript", "coq", "css", "dart", "dhall", "diff", "docker", "ebnf",
    "elixir", "elm", "erlang", "f#", "flow", "fortran", "gherkin", "glsl", "go", "graphql",
    "groovy", "haskell", "hcl", "html", "idris", "java", "javascript", "json", "julia",
    "kotlin", "latex", "less", "lisp", "livescript", "llvm ir", "lua", "makefile", "markdown",
    "markup", "matlab", "mathematica", "mermaid", "nix", "notion formula", "objective-c",
    "ocaml", "pascal", "perl", "php", "plain text", "powershell", "prolog", "protobuf",
    "purescript", "python", "r", "racket", "reason", "ruby", "rust", "sass", "scala", "scheme",
    "scss", "shell", "smalltalk", "solidity", "sql", "swift", "toml", "typescript", "vb.net",
    "verilog", "vhdl", "visual basic", "webassembly", "xml", "yaml", "java/c/c++/c#",
})

# Body keys and query-string keys each route accepts (Notion-Version 2025-09-03), by handler.
_ICON = ("icon", "cover")
BODY_KEYS: dict[str, frozenset[str]] = {
    "search": frozenset({"query", "filter", "sort", "start_cursor", "page_size"}),
    "create_database": frozenset({"parent", "title", "description", "initial_data_source",
                                  "is_inline", *_ICON}),
    "update_database": frozenset({"title", "description", "in_trash", "archived", "is_inline",
                                  "is_locked", "parent", *_ICON}),
    "update_data_source": frozenset({"title", "properties", "in_trash", "archived", "parent",
                                      *_ICON}),
    "query_data_source": frozenset({"filter", "sorts", "start_cursor", "page_size",
                                    "in_trash", "result_type"}),
    "create_page": frozenset({"parent", "properties", "children", "markdown", "template",
                              "position", *_ICON}),
    "update_page": frozenset({"properties", "in_trash", "archived", "is_locked", "template",
                              "erase_content", *_ICON}),
    "append_children": frozenset({"children", "after", "position"}),
    # PATCH /v1/pages/{id}/markdown (notion_markdown.py); its command's own keys are checked
    # there ("update_content" is not implemented, so it is refused as unknown).
    "patch_markdown": frozenset({"type", "insert_content", "replace_content"}),
    "create_comment": frozenset({"parent", "discussion_id", "rich_text", "attachments",
                                 "display_name"}),
}
_PAGING = frozenset({"start_cursor", "page_size"})
QUERY_KEYS: dict[str, frozenset[str]] = {
    "get_page": frozenset({"filter_properties"}),
    "query_data_source": frozenset({"filter_properties"}),
    "list_children": _PAGING,
    "list_users": _PAGING,
    "list_comments": _PAGING | {"block_id"},
}


def utf16_len(value: str) -> int:
    """Length as Notion (JavaScript) counts it: characters outside the BMP count twice."""
    return len(value) + sum(1 for ch in value if ord(ch) > 0xFFFF)


def check_payload(raw: bytes) -> None:
    if len(raw) > MAX_PAYLOAD_BYTES:
        raise validation(
            f"Request body too large: the payload is {len(raw)} bytes, the limit is "
            f"{MAX_PAYLOAD_BYTES} bytes (500KB)."
        )


def check_route(handler: str, body: dict[str, Any], query: dict[str, list[str]]) -> None:
    """Unknown body and query keys, then the block count and depth of `children`."""
    allowed = BODY_KEYS.get(handler, frozenset())
    for key, value in body.items():
        if key not in allowed:
            raise body_invalid(f"body.{key}", "should be not present", value)
    known = QUERY_KEYS.get(handler, frozenset())
    for key, values in query.items():
        if key not in known:
            raise NotionError(
                400, "validation_error",
                f"query failed validation: query.{key} should be not present, instead was "
                f"{show(values[0] if len(values) == 1 else values)}.",
            )
    if isinstance(body.get("children"), list):
        count = _count_blocks(body["children"], "body.children", 1)
        if count > MAX_BLOCKS:
            raise validation(
                f"body failed validation: the request has {count} block elements, the limit "
                f"is {MAX_BLOCKS}."
            )


def _count_blocks(items: list[Any], path: str, depth: int) -> int:
    count = 0
    for i, item in enumerate(items):
        count += 1
        if not isinstance(item, dict):
            continue
        kind = item.get("type") or next((k for k in item if k not in ("object", "type")), None)
        payload = item.get(kind) if isinstance(kind, str) else None
        nested = payload.get("children") if isinstance(payload, dict) else None
        if nested is None:
            continue
        where = f"{path}[{i}].{kind}.children"
        if depth >= MAX_DEPTH:
            raise body_invalid(where, "should be not present", nested)
        if isinstance(nested, list):
            count += _count_blocks(nested, where, depth + 1)
    return count


def check_length(value: str, path: str, limit: int) -> None:
    size = utf16_len(value)
    if size > limit:
        raise validation(
            f"body failed validation: {path}.length should be ≤ {limit}, instead was {size}."
        )


def check_keys(value: dict[str, Any], allowed: frozenset[str] | set[str], path: str) -> None:
    for key, item in value.items():
        if key not in allowed:
            raise body_invalid(f"{path}.{key}", "should be not present", item)
