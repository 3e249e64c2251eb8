"""The Notion API stand-in used in sandbox mode (no NOTION_TOKEN) and by end-to-end tests.

Modules: `notion_routes` (HTTP, headers, rate limit), `notion_databases` / `notion_pages`
(handlers), `notion_state` (the workspace and object shapes), `notion_schema`,
`notion_values`, `notion_content` and `notion_query` (Notion's rules), `notion_model`
(records) and `notion_errors`.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from copy import deepcopy
from datetime import UTC, datetime
from typing import Any, ClassVar

from fastapi import APIRouter

from app.sandbox.notion_content import plain
from app.sandbox.notion_errors import NotionError
from app.sandbox.notion_faults import Faults
from app.sandbox.notion_model import BOT_USER_ID, parse_id
from app.sandbox.notion_routes import Handler, TokenBucket, build_router
from app.sandbox.notion_snapshot import dump_workspace, load_workspace
from app.sandbox.notion_state import Call, Workspace

READS = frozenset({"search", "get_database", "get_data_source", "query_data_source", "get_page",
                   "get_block", "list_children", "list_users", "get_me", "get_user",
                   "list_comments"})


def _utcnow() -> datetime:
    return datetime.now(UTC)


class NotionSandbox:
    """An in-memory Notion API (version 2025-09-03, with data sources).

    The real `notion_client.AsyncClient` talks to it over HTTP: mount `router()` under
    `/sandbox/notion/v1` and give the client `base_url="<server>/sandbox/notion"`. Requests are
    checked as Notion checks them (headers, property types against the schema, 2,000-character
    text objects, 100-item arrays, a shared token-bucket rate limit answered with 429 and
    `Retry-After`) and what is written is kept, so the methods below can read it back for the
    dashboard and for tests. Nothing ever leaves the process.

    `seed` is the `databases` list of flows/_databases.yaml: one database with one data source
    of the same title per entry, under a page "Passerelle sandbox". `clock` (seconds,
    monotonic) drives the rate limit and `now` (aware datetimes) the timestamps; both exist so
    tests can control time. As in Notion, created/last edited times are kept to the minute.
    """

    bot_user_id: ClassVar[str] = BOT_USER_ID

    def __init__(
        self,
        *,
        seed: list[dict[str, Any]] | None = None,
        rate_limit: float | None = 3.0,
        burst: int = 10,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = _utcnow,
        faults: Faults | None = None,
    ) -> None:
        self.faults = faults or Faults()
        self._seed = deepcopy(seed or [])
        # {database title: [plain text properties]}: pages each fresh workspace starts with
        self._demo: dict[str, list[dict[str, str]]] = {}
        self._rate_limit, self._burst, self._clock, self._now = rate_limit, burst, clock, now
        self._lock = threading.Lock()  # the server thread writes; tests and dashboard read
        self._workspace, self._bucket = self._fresh()
        self.version = 0  # counts changes, so the keeper (persist.py) saves only after one
        # Requests answered, by handler name ("create_page", ...) and "rate_limited" (429s):
        # what the hub asked of Notion, for the request-count tests and benchmarks.
        self.requests: Counter[str] = Counter()
        self.on_change: Callable[[], None] | None = None  # told after each change

    def router(self) -> APIRouter:
        """Routes without prefix; mount with prefix "/sandbox/notion/v1"."""
        return build_router(admit=self._admit, run=self._run, faults=self.faults)

    def seed_demo(self, pages: dict[str, list[dict[str, str]]]) -> None:
        """Add demo pages now, and to every fresh workspace after a reset."""
        with self._lock:
            for title, rows in pages.items():
                add_demo_pages(self._workspace, title, rows)
            self._demo = deepcopy(pages)

    def reset(self) -> None:
        """Back to the seeded state (new ids) with a full rate-limit bucket."""
        fresh = self._fresh()
        with self._lock:
            self._workspace, self._bucket = fresh
            self.version += 1
        self._changed()

    def snapshot(self) -> dict[str, Any]:
        """The workspace as JSON (see app/sandbox/persist.py)."""
        with self._lock:
            return dump_workspace(self._workspace)

    def restore(self, data: dict[str, Any]) -> None:
        workspace = load_workspace(data, now=self._now)
        workspace.query_lag, workspace.clock = self.faults.query_lag_seconds, self._clock
        with self._lock:
            self._workspace = workspace

    def database_by_title(self, title: str) -> dict[str, Any]:
        with self._lock:
            ws = self._workspace
            found = [db for db in ws.databases.values() if plain(db.title) == title]
            if not found:
                raise KeyError(f"no database titled {title!r}")
            return ws.render_database(found[0])

    def data_source_by_title(self, title: str) -> dict[str, Any]:
        with self._lock:
            source = self._workspace.data_source_titled(title)
            if source is None:
                raise KeyError(f"no data source titled {title!r}")
            return self._workspace.render_data_source(source)

    def pages(self, data_source_id: str | None = None) -> list[dict[str, Any]]:
        """Every page (trashed ones included), oldest first; or only those of a data source."""
        with self._lock:
            ws = self._workspace
            wanted = None if data_source_id is None else parse_id(data_source_id, "id")
            if wanted is not None and wanted not in ws.data_sources:
                raise KeyError(f"no data source {data_source_id}")
            return [
                ws.render_page(page)
                for page in ws.pages.values()
                if wanted is None or page.data_source_id == wanted
            ]

    def blocks(self, page_id: str) -> list[dict[str, Any]]:
        """Child blocks of a page or block (child pages/databases as child_page/_database)."""
        with self._lock:
            ws = self._workspace
            return [
                ws.render_child(child) for child in ws.visible_children(parse_id(page_id, "id"))
            ]

    def comments(self, page_id: str) -> list[dict[str, Any]]:
        with self._lock:
            ws, wanted = self._workspace, parse_id(page_id, "id")
            return [ws.render_comment(c) for c in ws.comments.values() if c.page_id == wanted]

    def summary(self) -> list[dict[str, Any]]:
        """`[{"database", "data_source_id", "pages"}]`: pages not in the trash, per data source."""
        with self._lock:
            ws = self._workspace
            return [
                {
                    "database": plain(ws.databases[source.database_id].title),
                    "data_source_id": source.id,
                    "pages": sum(
                        page.data_source_id == source.id and not page.in_trash
                        for page in ws.pages.values()
                    ),
                }
                for source in ws.data_sources.values()
                if source.database_id not in ws.unshared
            ]

    def _fresh(self) -> tuple[Workspace, TokenBucket | None]:
        workspace = Workspace(now=self._now)
        workspace.seed(deepcopy(self._seed))
        workspace.query_lag, workspace.clock = self.faults.query_lag_seconds, self._clock
        for title, rows in self._demo.items():
            add_demo_pages(workspace, title, rows)
        bucket = None
        if self._rate_limit is not None:
            bucket = TokenBucket(rate=self._rate_limit, burst=self._burst, clock=self._clock)
        return workspace, bucket

    def _admit(self) -> None:
        with self._lock:
            if self._bucket is not None:
                try:
                    self._bucket.take()
                except NotionError:
                    self.requests["rate_limited"] += 1
                    raise

    def _run(self, handler: Handler, call: Call) -> dict[str, Any]:
        with self._lock:
            self._workspace.actor = call.actor
            if handler.__name__ not in READS:
                self.version += 1
            self.requests[handler.__name__] += 1
            answer = handler(self._workspace, call)
        if handler.__name__ not in READS:
            self._changed()
        return answer

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()


def add_demo_pages(ws: Workspace, title: str, rows: list[dict[str, str]]) -> None:
    """Create pages in the data source titled ``title`` as the integration would (title,
    rich text and select values given as plain strings)."""
    from app.sandbox.notion_pages import create_page

    source = ws.data_source_titled(title)
    if source is None:
        raise ValueError(f"demo pages: no data source titled {title!r}")
    kinds = {prop.name: prop.type for prop in source.properties.values()}
    for row in rows:
        properties: dict[str, Any] = {}
        for name, value in row.items():
            kind = kinds.get(name)
            if kind in ("title", "rich_text"):
                properties[name] = {kind: [{"type": "text", "text": {"content": value}}]}
            elif kind == "select":
                properties[name] = {"select": {"name": value}}
            else:
                raise ValueError(f"demo pages: {title}.{name} is {kind}, not text or select")
        create_page(ws, Call(body={"parent": {"type": "data_source_id",
                                              "data_source_id": source.id},
                                   "properties": properties}))
