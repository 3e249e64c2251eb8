"""The Notion stand-in's workspace as JSON and back, for keeping it in the hub's store."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from app.sandbox.jsonable import plain, revive
from app.sandbox.notion_model import Block, Comment, Database, DataSource, Page, Prop
from app.sandbox.notion_state import Workspace

SHAPE = 1  # bump when the records change shape; older snapshots are then not restored


def dump_workspace(ws: Workspace) -> dict[str, Any]:
    return {
        "shape": SHAPE,
        "root": ws.root.id,
        "databases": plain(ws.databases),
        "data_sources": plain(ws.data_sources),
        "pages": plain(ws.pages),
        "blocks": plain(ws.blocks),
        "comments": plain(ws.comments),
        "children": plain(ws.children),
        "unshared": sorted(ws.unshared),
    }


def load_workspace(data: dict[str, Any], *, now: Callable[[], datetime]) -> Workspace:
    if data.get("shape") != SHAPE:
        raise ValueError(f"snapshot shape {data.get('shape')!r}, expected {SHAPE}")
    data = revive(data)
    ws = Workspace(now=now)
    ws.databases = {k: Database(**v) for k, v in data["databases"].items()}
    ws.data_sources = {
        k: DataSource(**{**v, "properties": {pid: Prop(**p) for pid, p in
                                             v["properties"].items()}})
        for k, v in data["data_sources"].items()
    }
    ws.pages = {k: Page(**v) for k, v in data["pages"].items()}
    ws.blocks = {k: Block(**v) for k, v in data["blocks"].items()}
    ws.comments = {k: Comment(**v) for k, v in data["comments"].items()}
    ws.children = {k: list(v) for k, v in data["children"].items()}
    ws.root = ws.pages[data["root"]]
    ws.unshared = set(data["unshared"])
    return ws
