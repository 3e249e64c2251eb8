"""The in-memory workspace behind the Notion stand-in: records, look-ups and object shapes.

Every method is synchronous, so a request handler that calls them never yields to another
request halfway through a change.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from copy import deepcopy
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from app.sandbox.notion_content import BlockSpec, plain, text
from app.sandbox.notion_errors import not_found
from app.sandbox.notion_model import (
    BOT_USER_ID,
    PAGE_SCHEMA,
    ROOT_TITLE,
    UNSHARED_TITLE,
    USERS,
    Block,
    Comment,
    Database,
    DataSource,
    Page,
    Schema,
    new_id,
    parse_id,
    stamp,
    to_minute,
    user_ref,
)
from app.sandbox.notion_schema import link, seed_schema
from app.sandbox.notion_values import render


@dataclass
class Call:
    """A request as the handlers see it: path parameters, query string and JSON body."""

    params: dict[str, str] = field(default_factory=dict)
    query: dict[str, list[str]] = field(default_factory=dict)
    body: dict[str, Any] = field(default_factory=dict)
    actor: str = BOT_USER_ID  # the user the request acts as (see notion_model.actor_of)

    def arg(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None


class Workspace:
    """Users, databases, data sources, pages, blocks and comments, kept in plain dicts."""

    def __init__(self, *, now: Callable[[], datetime]) -> None:
        self._now = now
        self.users = {user["id"]: deepcopy(user) for user in USERS}
        self.databases: dict[str, Database] = {}
        self.data_sources: dict[str, DataSource] = {}
        self.pages: dict[str, Page] = {}
        self.blocks: dict[str, Block] = {}
        self.comments: dict[str, Comment] = {}
        self.children: dict[str, list[str]] = {}  # page or block id -> child ids, in order
        # Databases the integration was not given access to ("Add connections" in Notion):
        # for the integration's token they do not exist (404 object_not_found), for a person
        # they do. `actor` is who the current request acts as (set per call by the sandbox).
        self.unshared: set[str] = set()
        self.actor = BOT_USER_ID
        # Eventual consistency of search and queries (notion_faults.py): page id -> (monotonic
        # time until which queries see the old state, that old rendering or None if new).
        self.query_lag = 0.0
        self.clock: Callable[[], float] = time.monotonic
        self.lagged: dict[str, tuple[float, dict[str, Any] | None]] = {}
        self.root = self.add_page(
            {"type": "workspace", "workspace": True}, {"title": text(ROOT_TITLE)}
        )

    def now(self) -> datetime:
        return to_minute(self._now())

    def seed(self, entries: list[dict[str, Any]]) -> None:
        """One database (with one data source of the same title) per entry of our seed file."""
        pending = []
        for entry in entries:
            title = entry["title"]
            schema, relations = seed_schema(
                entry.get("properties") or {"Name": {"title": {}}}, title
            )
            _, source = self.add_database(self.root.id, text(title), schema)
            pending += [(source, prop, spec) for prop, spec in relations]
        for source, prop, spec in pending:
            target = self.data_source_titled(spec["to"])
            if target is None:
                raise ValueError(f"seed: {prop.name} relates to unknown database {spec['to']!r}")
            link(source, prop, target, spec.get("synced_property"))
        # A teamspace database nobody shared with the integration, so that the "share it with
        # the integration" path can be walked (its id comes from search as a person, or the
        # dashboard).
        database, _ = self.add_database(self.root.id, text(UNSHARED_TITLE), seed_schema(
            {"Name": {"title": {}}, "Notes": {"rich_text": {}}}, UNSHARED_TITLE)[0])
        self.children[self.root.id].remove(database.id)
        database.parent = {"type": "workspace", "workspace": True}
        self.unshared.add(database.id)

    def lag(self, page: Page, *, new: bool) -> None:
        """Called before a page changes: queries keep seeing the former state for a while."""
        if self.query_lag <= 0:
            return
        now = self.clock()
        if page.id in self.lagged and self.lagged[page.id][0] > now:
            return  # already stale since an earlier write: the oldest view stays
        self.lagged[page.id] = (now + self.query_lag, None if new else self.render_page(page))

    def as_queried(self, page: Page) -> dict[str, Any] | None:
        """The page as search and queries see it now (None: not visible to them yet)."""
        seen = self.lagged.get(page.id)
        if seen is not None:
            if seen[0] > self.clock():
                return seen[1]
            del self.lagged[page.id]
        return self.render_page(page)

    def shared(self, record: Page | Database | DataSource) -> bool:
        """Whether the current actor may see `record` (people see all, the bot what is shared)."""
        if self.actor != BOT_USER_ID or not self.unshared:
            return True
        if isinstance(record, Page):
            source = self.data_sources.get(record.data_source_id or "")
            return source is None or source.database_id not in self.unshared
        if isinstance(record, DataSource):
            return record.database_id not in self.unshared
        return record.id not in self.unshared

    # --- look-ups -------------------------------------------------------------------------

    def page(self, raw_id: Any, path: str = "path.page_id") -> Page:
        page_id = parse_id(raw_id, path)
        if page_id not in self.pages or not self.shared(self.pages[page_id]):
            raise not_found("page", page_id)
        return self.pages[page_id]

    def database(self, raw_id: Any, path: str = "path.database_id") -> Database:
        database_id = parse_id(raw_id, path)
        if database_id not in self.databases or not self.shared(self.databases[database_id]):
            raise not_found("database", database_id)
        return self.databases[database_id]

    def data_source(self, raw_id: Any, path: str = "path.data_source_id") -> DataSource:
        source_id = parse_id(raw_id, path)
        if source_id not in self.data_sources or not self.shared(self.data_sources[source_id]):
            raise not_found("data source", source_id)
        return self.data_sources[source_id]

    def container(self, raw_id: Any, path: str = "path.block_id") -> str:
        """The id of a page or block, which can both hold children and comments."""
        block_id = parse_id(raw_id, path)
        if block_id not in self.pages and block_id not in self.blocks:
            raise not_found("block", block_id)
        return block_id

    def data_source_titled(self, title: str) -> DataSource | None:
        return next((ds for ds in self.data_sources.values() if plain(ds.title) == title), None)

    def schema_of(self, page: Page) -> Schema:
        source = page.data_source_id
        return self.data_sources[source].properties if source else PAGE_SCHEMA

    def title_of(self, page: Page) -> str:
        title = next(p for p in self.schema_of(page).values() if p.type == "title")
        return plain(page.values.get(title.id, []))

    # Lookup protocol of notion_values
    def page_source(self, page_id: str) -> str | None:
        page = self.pages.get(page_id)
        return None if page is None else page.data_source_id or ""

    def user(self, user_id: str) -> dict[str, Any] | None:
        return deepcopy(self.users[user_id]) if user_id in self.users else None

    def page_and_schema(self, page_id: str) -> tuple[Page, Schema] | None:
        page = self.pages.get(page_id)
        return None if page is None else (page, self.schema_of(page))

    # --- changes --------------------------------------------------------------------------

    def add_page(
        self, parent: dict[str, Any], values: dict[str, Any], source: DataSource | None = None,
        *, actor: str = BOT_USER_ID,
    ) -> Page:
        now = self.now()
        page = Page(new_id(), parent, values, now, now, creator=actor, editor=actor)
        if source is not None:
            page.number, source.next_number = source.next_number, source.next_number + 1
        self.pages[page.id] = page
        if parent["type"] == "page_id":
            self.children.setdefault(parent["page_id"], []).append(page.id)
        return page

    def add_database(
        self, parent_id: str, title: list[dict[str, Any]], schema: Schema
    ) -> tuple[Database, DataSource]:
        now = self.now()
        database = Database(
            new_id(), title, {"type": "page_id", "page_id": parent_id}, [], now, now
        )
        source = DataSource(new_id(), database.id, deepcopy(title), schema, now, now)
        database.data_source_ids.append(source.id)
        self.databases[database.id] = database
        self.data_sources[source.id] = source
        self.children.setdefault(parent_id, []).append(database.id)
        return database, source

    def link_new_relations(self, source: DataSource) -> None:
        """Gives each new two-way relation its synced property on the other side, like Notion."""
        for prop in list(source.properties.values()):
            config = prop.config
            if config.get("type") == "dual_property" and not config["dual_property"]:
                synced = f"Related to {plain(source.title) or 'Untitled'} ({prop.name})"
                link(source, prop, self.data_sources[config["data_source_id"]], synced)

    def add_blocks(
        self, parent_id: str, specs: list[BlockSpec], after: str | None = None
    ) -> list[Block]:
        kind = "page_id" if parent_id in self.pages else "block_id"
        now = self.now()
        made = [
            Block(new_id(), {"type": kind, kind: parent_id}, s.type, s.payload, now, now)
            for s in specs
        ]
        siblings = self.children.setdefault(parent_id, [])
        at = siblings.index(after) + 1 if after else len(siblings)
        siblings[at:at] = [block.id for block in made]
        for block, spec in zip(made, specs, strict=True):
            self.blocks[block.id] = block
            self.add_blocks(block.id, spec.children)
        return made

    def visible_children(self, parent_id: str) -> list[str]:
        return [c for c in self.children.get(parent_id, []) if not self._record(c).in_trash]

    def _record(self, record_id: str) -> Page | Database | Block:
        return self.pages.get(record_id) or self.databases.get(record_id) or self.blocks[record_id]

    # --- API shapes -----------------------------------------------------------------------

    def render_page(self, page: Page, only: list[str] | None = None) -> dict[str, Any]:
        properties = render(self.schema_of(page), page, self)
        if only:
            properties = {k: v for k, v in properties.items() if v["id"] in only}
        slug = re.sub(r"\W+", "-", self.title_of(page)).strip("-")
        return {
            "object": "page",
            "id": page.id,
            **self._stamps(page.created, page.edited, page.creator, page.editor),
            "cover": deepcopy(page.cover),
            "icon": deepcopy(page.icon),
            "parent": deepcopy(page.parent),
            "archived": page.in_trash,
            "in_trash": page.in_trash,
            "is_locked": False,
            "properties": properties,
            "url": f"https://www.notion.so/{slug + '-' if slug else ''}{page.id.replace('-', '')}",
            "public_url": None,
        }

    def render_database(self, database: Database) -> dict[str, Any]:
        return {
            "object": "database",
            "id": database.id,
            "title": deepcopy(database.title),
            "description": deepcopy(database.description),
            "parent": deepcopy(database.parent),
            "is_inline": database.is_inline,
            "in_trash": database.in_trash,
            "archived": database.in_trash,
            "is_locked": False,
            **self._stamps(database.created, database.edited),
            "data_sources": [
                {"id": ds_id, "name": plain(self.data_sources[ds_id].title)}
                for ds_id in database.data_source_ids
            ],
            "icon": None,
            "cover": None,
            "url": f"https://www.notion.so/{database.id.replace('-', '')}",
            "public_url": None,
        }

    def render_data_source(self, source: DataSource) -> dict[str, Any]:
        database = self.databases[source.database_id]
        return {
            "object": "data_source",
            "id": source.id,
            **self._stamps(source.created, source.edited),
            "title": deepcopy(source.title),
            "description": [],
            "icon": None,
            "cover": None,
            "properties": {prop.name: prop.schema() for prop in source.properties.values()},
            "parent": {"type": "database_id", "database_id": database.id},
            "database_parent": deepcopy(database.parent),
            "is_inline": database.is_inline,
            "archived": database.in_trash or source.in_trash,
            "in_trash": database.in_trash or source.in_trash,
            "url": f"https://www.notion.so/{source.id.replace('-', '')}",
            "public_url": None,
        }

    def render_child(self, child_id: str) -> dict[str, Any]:
        """A block; pages and databases inside a page show as child_page / child_database."""
        if child_id in self.pages:
            page = self.pages[child_id]
            return self._block(page, "child_page", {"title": self.title_of(page)})
        if child_id in self.databases:
            database = self.databases[child_id]
            return self._block(database, "child_database", {"title": plain(database.title)})
        block = self.blocks[child_id]
        return self._block(block, block.type, block.payload)

    def render_comment(self, comment: Comment) -> dict[str, Any]:
        kind = "page_id" if comment.page_id in self.pages else "block_id"
        return {
            "object": "comment",
            "id": comment.id,
            "parent": {"type": kind, kind: comment.page_id},
            "discussion_id": comment.discussion_id,
            "created_time": stamp(comment.created),
            "last_edited_time": stamp(comment.created),
            "created_by": user_ref(),
            "rich_text": deepcopy(comment.rich_text),
            "display_name": {"type": "integration", "resolved_name": "Passerelle"},
        }

    def _block(
        self, record: Page | Database | Block, kind: str, payload: dict[str, Any]
    ) -> dict[str, Any]:
        return {
            "object": "block",
            "id": record.id,
            "parent": deepcopy(record.parent),
            **self._stamps(record.created, record.edited),
            "has_children": bool(self.visible_children(record.id)),
            "archived": record.in_trash,
            "in_trash": record.in_trash,
            "type": kind,
            kind: deepcopy(payload),
        }

    @staticmethod
    def _stamps(created: datetime, edited: datetime, creator: str = BOT_USER_ID,
                editor: str = BOT_USER_ID) -> dict[str, Any]:
        return {
            "created_time": stamp(created),
            "last_edited_time": stamp(edited),
            "created_by": user_ref(creator),
            "last_edited_by": user_ref(editor),
        }
