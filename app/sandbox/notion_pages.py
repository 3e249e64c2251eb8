"""Handlers for pages, block children, comments and users.

Like the database handlers, each one validates the whole request before changing anything.
Two-way relations are kept in sync here: writing page A's relation to B adds A to B's synced
relation, and removing it removes A.
"""

from __future__ import annotations

from copy import deepcopy
from typing import Any

from app.sandbox.notion_content import children, rich_text
from app.sandbox.notion_errors import body_invalid, not_found, validation
from app.sandbox.notion_markdown import blocks_of
from app.sandbox.notion_model import (
    BOT_USER_ID,
    PAGE_SCHEMA,
    Comment,
    DataSource,
    Page,
    new_id,
    parse_id,
)
from app.sandbox.notion_query import paginate
from app.sandbox.notion_state import Call, Workspace
from app.sandbox.notion_values import Writer, initial_values

ARCHIVED = "Can't edit block that is archived. You must unarchive the block before editing."


def create_page(ws: Workspace, call: Call) -> dict[str, Any]:
    body = call.body
    parent, source = _parent(ws, body.get("parent"))
    schema = source.properties if source else PAGE_SCHEMA
    writer = Writer(schema, ws)
    values = {**initial_values(schema), **writer.values(body.get("properties", {}))}
    blocks = blocks_of(body)
    decor = _decor(body)
    writer.commit()
    page = ws.add_page(parent, values, source, actor=call.actor)
    ws.lag(page, new=True)
    page.icon, page.cover = decor.get("icon"), decor.get("cover")
    _sync_relations(ws, page, {})
    ws.add_blocks(page.id, blocks)
    return ws.render_page(page)


def get_page(ws: Workspace, call: Call) -> dict[str, Any]:
    return ws.render_page(ws.page(call.params["id"]), call.query.get("filter_properties"))


def update_page(ws: Workspace, call: Call) -> dict[str, Any]:
    """Partial property update, icon/cover, and `in_trash` (or its old name `archived`)."""
    page, body = ws.page(call.params["id"]), call.body
    trash = body.get("in_trash", body.get("archived"))
    if trash is not None and not isinstance(trash, bool):
        raise body_invalid("body.in_trash", "should be a boolean", trash)
    if page.in_trash and trash is not False and "properties" in body:
        raise validation(ARCHIVED)
    writer = Writer(ws.schema_of(page), ws)
    values = writer.values(body.get("properties", {}))
    decor = _decor(body)
    writer.commit()
    ws.lag(page, new=False)
    before = dict(page.values)
    page.values.update(values)
    page.in_trash = page.in_trash if trash is None else trash
    page.icon, page.cover = decor.get("icon", page.icon), decor.get("cover", page.cover)
    page.edited, page.editor = ws.now(), call.actor
    _sync_relations(ws, page, before)
    return ws.render_page(page)


def get_block(ws: Workspace, call: Call) -> dict[str, Any]:
    return ws.render_child(ws.container(call.params["id"]))


def list_children(ws: Workspace, call: Call) -> dict[str, Any]:
    parent_id = ws.container(call.params["id"])
    items = [ws.render_child(child) for child in ws.visible_children(parent_id)]
    return paginate(items, call.arg("start_cursor"), call.arg("page_size"), "block", "query")


def append_children(ws: Workspace, call: Call) -> dict[str, Any]:
    """Appends up to 100 blocks (at the end, or `after` a given child); returns the new ones."""
    parent_id, body = ws.container(call.params["id"]), call.body
    if "children" not in body:
        raise body_invalid("body.children", "should be defined", None)
    blocks = children(body["children"], "body.children")
    after = parse_id(body["after"], "body.after") if body.get("after") is not None else None
    if after is not None and after not in ws.children.get(parent_id, []):
        raise body_invalid("body.after", f"should be a child block of {parent_id}", after)
    page = ws.pages.get(parent_id)
    if page is not None and page.in_trash:
        raise validation(ARCHIVED)
    made = ws.add_blocks(parent_id, blocks, after)
    if page is not None:
        page.edited, page.editor = ws.now(), call.actor
    results = [ws.render_child(block.id) for block in made]
    return paginate(results, None, 100, "block", "body")


def create_comment(ws: Workspace, call: Call) -> dict[str, Any]:
    """A new discussion on a page (`parent.page_id`), or a reply (`discussion_id`)."""
    body = call.body
    if "rich_text" not in body:
        raise body_invalid("body.rich_text", "should be defined", None)
    text = rich_text(body["rich_text"], "body.rich_text")
    if body.get("discussion_id") is not None:
        discussion = str(body["discussion_id"])
        thread = next((c for c in ws.comments.values() if c.discussion_id == discussion), None)
        if thread is None:
            raise not_found("discussion", discussion)
        page_id = thread.page_id
    else:
        parent = body.get("parent")
        if not isinstance(parent, dict) or "page_id" not in parent:
            raise body_invalid("body.parent", "should be an object with a page_id", parent)
        page_id, discussion = ws.page(parent["page_id"], "body.parent.page_id").id, new_id()
    comment = Comment(new_id(), page_id, discussion, text, ws.now())
    ws.comments[comment.id] = comment
    return ws.render_comment(comment)


def list_comments(ws: Workspace, call: Call) -> dict[str, Any]:
    if call.arg("block_id") is None:
        raise body_invalid("query.block_id", "should be defined", None)
    block_id = ws.container(call.arg("block_id"), "query.block_id")
    items = [ws.render_comment(c) for c in ws.comments.values() if c.page_id == block_id]
    return paginate(items, call.arg("start_cursor"), call.arg("page_size"), "comment", "query")


def list_users(ws: Workspace, call: Call) -> dict[str, Any]:
    users = [deepcopy(user) for user in ws.users.values()]
    return paginate(users, call.arg("start_cursor"), call.arg("page_size"), "user", "query")


def get_user(ws: Workspace, call: Call) -> dict[str, Any]:
    user_id = parse_id(call.params["id"], "path.user_id")
    user = ws.user(user_id)
    if user is None:
        raise not_found("user", user_id)
    return user


def get_me(ws: Workspace, call: Call) -> dict[str, Any]:
    return ws.user(BOT_USER_ID) or {}


def _parent(ws: Workspace, raw: Any) -> tuple[dict[str, Any], DataSource | None]:
    if not isinstance(raw, dict):
        raise body_invalid("body.parent", "should be an object", raw)
    if "page_id" in raw:
        page = ws.page(raw["page_id"], "body.parent.page_id")
        return {"type": "page_id", "page_id": page.id}, None
    if "data_source_id" in raw:
        source = ws.data_source(raw["data_source_id"], "body.parent.data_source_id")
    elif "database_id" in raw:
        database = ws.database(raw["database_id"], "body.parent.database_id")
        if len(database.data_source_ids) != 1:
            raise validation("The database has several data sources: use parent.data_source_id.")
        source = ws.data_sources[database.data_source_ids[0]]
    else:
        raise body_invalid(
            "body.parent", "should have a page_id, database_id or data_source_id", raw
        )
    ref = {"type": "data_source_id", "data_source_id": source.id, "database_id": source.database_id}
    return ref, source


def _decor(body: dict[str, Any]) -> dict[str, Any]:
    for key in ("icon", "cover"):
        if key in body and body[key] is not None and not isinstance(body[key], dict):
            raise body_invalid(f"body.{key}", "should be an object or null", body[key])
    return {key: body[key] for key in ("icon", "cover") if key in body}


def _sync_relations(ws: Workspace, page: Page, before: dict[str, Any]) -> None:
    for prop in ws.schema_of(page).values():
        synced = prop.config.get("dual_property") if prop.type == "relation" else None
        if not synced:
            continue
        old, new = before.get(prop.id, []), page.values.get(prop.id, [])
        for other_id in [i for i in new if i not in old]:
            _relink(ws, other_id, synced["synced_property_id"], page.id, add=True)
        for other_id in [i for i in old if i not in new]:
            _relink(ws, other_id, synced["synced_property_id"], page.id, add=False)


def _relink(ws: Workspace, other_id: str, prop_id: str, page_id: str, *, add: bool) -> None:
    other = ws.pages.get(other_id)
    if other is None or (page_id in other.values.get(prop_id, [])) == add:
        return
    ids = [i for i in other.values.get(prop_id, []) if i != page_id]
    other.values[prop_id] = [*ids, page_id] if add else ids
    other.edited = ws.now()
