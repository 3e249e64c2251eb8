"""Handlers for search, databases and data sources (Notion-Version 2025-09-03).

Each handler takes the workspace and a `Call` and returns the JSON answer, raising
`NotionError` for anything Notion would refuse; it validates everything before changing
anything, so a refused request leaves no trace.
"""

from __future__ import annotations

from typing import Any

from app.sandbox.notion_content import plain, rich_text
from app.sandbox.notion_errors import body_invalid
from app.sandbox.notion_query import compile_filter, compile_sorts, paginate, sort_rows
from app.sandbox.notion_schema import create_schema, update_schema
from app.sandbox.notion_state import Call, Workspace

SEARCH_OBJECTS = ("page", "data_source")


def search(ws: Workspace, call: Call) -> dict[str, Any]:
    """Pages and data sources (databases show up as their data sources) by title."""
    body = call.body
    query = body.get("query") or ""
    if not isinstance(query, str):
        raise body_invalid("body.query", "should be a string", query)
    wanted = _search_filter(body.get("filter"))
    descending = _search_sort(body.get("sort"))
    found: list[tuple[str, dict[str, Any]]] = []
    if wanted in (None, "data_source"):
        for source in ws.data_sources.values():
            trashed = source.in_trash or ws.databases[source.database_id].in_trash
            if not trashed and ws.shared(source):
                found.append((plain(source.title), ws.render_data_source(source)))
    if wanted in (None, "page"):
        for page in ws.pages.values():
            seen = ws.as_queried(page) if ws.shared(page) else None
            if seen is not None and not seen["in_trash"]:
                found.append((ws.title_of(page), seen))
    needle = query.casefold()
    results = [obj for title, obj in found if needle in title.casefold()]
    results.sort(key=lambda obj: obj["last_edited_time"], reverse=descending)
    cursor, size = body.get("start_cursor"), body.get("page_size")
    return paginate(results, cursor, size, "page_or_data_source", "body")


def create_database(ws: Workspace, call: Call) -> dict[str, Any]:
    body = call.body
    parent = body.get("parent")
    if not isinstance(parent, dict) or "page_id" not in parent:
        raise body_invalid("body.parent", "should be an object with a page_id", parent)
    page = ws.page(parent["page_id"], "body.parent.page_id")
    title = rich_text(body.get("title", []), "body.title")
    initial = body.get("initial_data_source") or {}
    if not isinstance(initial, dict):
        raise body_invalid("body.initial_data_source", "should be an object", initial)
    spec = initial.get("properties", {"Name": {"title": {}}})
    path = "body.initial_data_source.properties"
    schema = create_schema(spec, path, ws.data_sources.get)
    database, source = ws.add_database(page.id, title, schema)
    ws.link_new_relations(source)
    return ws.render_database(database)


def get_database(ws: Workspace, call: Call) -> dict[str, Any]:
    return ws.render_database(ws.database(call.params["id"]))


def update_database(ws: Workspace, call: Call) -> dict[str, Any]:
    database, body = ws.database(call.params["id"]), call.body
    title = rich_text(body["title"], "body.title") if "title" in body else database.title
    description = database.description
    if "description" in body:
        description = rich_text(body["description"], "body.description")
    flags = {key: body[key] for key in ("in_trash", "archived", "is_inline") if key in body}
    for key, value in flags.items():
        if not isinstance(value, bool):
            raise body_invalid(f"body.{key}", "should be a boolean", value)
    database.title, database.description = title, description
    database.in_trash = flags.get("in_trash", flags.get("archived", database.in_trash))
    database.is_inline = flags.get("is_inline", database.is_inline)
    database.edited = ws.now()
    return ws.render_database(database)


def get_data_source(ws: Workspace, call: Call) -> dict[str, Any]:
    return ws.render_data_source(ws.data_source(call.params["id"]))


def update_data_source(ws: Workspace, call: Call) -> dict[str, Any]:
    """Title and properties: add, rename (`{"name": ...}`), retype, or remove (`null`);
    `in_trash` (or its older name `archived`) moves the data source to the trash and back."""
    source, body = ws.data_source(call.params["id"]), call.body
    trash = body.get("in_trash", body.get("archived"))
    if trash is not None and not isinstance(trash, bool):
        raise body_invalid("body.in_trash", "should be a boolean", trash)
    title = rich_text(body["title"], "body.title") if "title" in body else source.title
    schema = source.properties
    if "properties" in body:
        schema = update_schema(schema, body["properties"], "body.properties", ws.data_sources.get)
    source.title, source.properties = title, schema
    source.in_trash = source.in_trash if trash is None else trash
    ws.link_new_relations(source)
    source.edited = ws.now()
    return ws.render_data_source(source)


def query_data_source(ws: Workspace, call: Call) -> dict[str, Any]:
    """Pages of the data source (not in the trash), filtered and sorted as Notion does.

    Without sorts, the newest page comes first.
    """
    source, body = ws.data_source(call.params["id"]), call.body
    test = compile_filter(body.get("filter"), source.properties)
    sorts = compile_sorts(body.get("sorts"), source.properties)
    pages = [p for p in ws.pages.values() if p.data_source_id == source.id]
    seen = [ws.as_queried(page) for page in reversed(pages)]
    rows = [row for row in seen if row is not None and not row["in_trash"]]
    rows = sort_rows([row for row in rows if test(row)], sorts)
    answer = paginate(
        rows, body.get("start_cursor"), body.get("page_size"), "page_or_data_source", "body"
    )
    only = call.query.get("filter_properties")
    if only:
        for row in answer["results"]:
            row["properties"] = {k: v for k, v in row["properties"].items() if v["id"] in only}
    return answer


def _search_filter(spec: Any) -> str | None:
    if spec is None:
        return None
    value = spec.get("value") if isinstance(spec, dict) else None
    if not isinstance(spec, dict) or spec.get("property") != "object":
        raise body_invalid("body.filter.property", 'should be "object"', spec)
    if value not in SEARCH_OBJECTS:
        raise body_invalid("body.filter.value", 'should be "page" or "data_source"', value)
    return str(value)


def _search_sort(spec: Any) -> bool:
    if spec is None:
        return True
    if not isinstance(spec, dict) or spec.get("timestamp") != "last_edited_time":
        raise body_invalid("body.sort.timestamp", 'should be "last_edited_time"', spec)
    direction = spec.get("direction")
    if direction not in ("ascending", "descending"):
        raise body_invalid(
            "body.sort.direction", 'should be "ascending" or "descending"', direction
        )
    return bool(direction == "descending")
