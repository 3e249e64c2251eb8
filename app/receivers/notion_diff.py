"""A page compared with its last snapshot: the ``notion.page`` event a flow sees.

Pure functions: no store, no HTTP. A snapshot keeps the page's plain property values; the
times Notion changes on every edit (last edited time and by) are left out, so re-reading an
unchanged page is "no change" and the same edit seen twice (webhook and poll, or two polls
over the overlap window) produces no second event.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from app.events import Event
from connectors.notion.properties import from_notion

VOLATILE_TYPES = frozenset({"last_edited_time", "last_edited_by"})


def snapshot(page: dict[str, Any], *, seq: int = 0) -> dict[str, Any]:
    """What we remember of a page: its edit time, its plain non-volatile values, and ``seq``,
    the number of events emitted for it (part of the next event's dedupe key)."""
    props = page.get("properties") or {}
    return {
        "seq": seq,
        "last_edited_time": page.get("last_edited_time"),
        "properties": {name: from_notion(value) for name, value in props.items()
                       if value.get("type") not in VOLATILE_TYPES},
    }


def changes(old: dict[str, Any] | None, new: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """``{property: {"old", "new"}}`` for every property whose plain value differs."""
    before = (old or {}).get("properties") or {}
    after = new.get("properties") or {}
    return {
        name: {"old": before.get(name), "new": after.get(name)}
        for name in sorted(set(before) | set(after))
        if before.get(name) != after.get(name)
    }


def page_event(page: dict[str, Any], *, old: dict[str, Any] | None,
               database_id: str, data_source_id: str, database_title: str,
               bot_user_id: str | None) -> Event | None:
    """The event for a page read now, or None when nothing changed since ``old``."""
    seq = int((old or {}).get("seq", 0)) + 1
    new = snapshot(page, seq=seq)
    diff = changes(old, new)
    created = old is None
    if not created and not diff:
        return None
    editor = str((page.get("last_edited_by") or {}).get("id") or "") or None
    all_props = {name: from_notion(value)
                 for name, value in (page.get("properties") or {}).items()}
    title = next((all_props[n] for n, v in (page.get("properties") or {}).items()
                  if v.get("type") == "title"), "")
    digest = hashlib.sha256(
        json.dumps(new["properties"], sort_keys=True, default=str).encode()
    ).hexdigest()[:16]
    data = {
        "database_id": database_id,
        "data_source_id": data_source_id,
        "database_title": database_title,
        "page_id": page.get("id"),
        "url": page.get("url"),
        "title": title,
        "page": all_props,
        "changes": diff if not created else {},
        "created": created,
        "by_passerelle": bool(bot_user_id and editor == bot_user_id),
        "last_edited_time": page.get("last_edited_time"),
        "last_edited_by": editor,
    }
    return Event(
        source="notion", type="notion.page", data=data, actor=editor,
        # The same change read twice (two pollers, a webhook and a poll, a crash before the
        # snapshot moved on) follows the same snapshot and has the same values: one event.
        # Edit times alone would not do: Notion keeps them to the minute, so A→B→A→B within
        # one minute would repeat a key.
        dedupe_key=f"notion:page:{page.get('id')}:{seq}:{digest}",
    )
