"""Acting as a person in Notion: edit a page's properties through the Notion stand-in's public
API with a person's token (`person:<user id>`), as someone would in Notion's UI.

The hub's Notion watcher sees the edit (last edited by a person, not the integration) and fires
the `notion.page` triggers, as it does for a person's edit in Notion. Used by
`passerelle notion edit` and by the dashboard's Sandbox page.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from app.errors import PasserelleError
from app.sandbox.notion_model import USERS
from app.sandbox.notion_routes import NOTION_VERSION

PEOPLE = {user["id"]: user for user in USERS if user["type"] == "person"}


class EditError(PasserelleError):
    """The edit could not be made (unknown person, page or property, a value Notion refuses)."""


def person(user: str) -> str:
    """A seeded person's id from an id, a name, a first name or an email."""
    wanted = user.casefold()
    for user_id, found in PEOPLE.items():
        names = {user_id, found["name"].casefold(), found["name"].split()[0].casefold(),
                 found["person"]["email"]}
        if wanted in names:
            return str(user_id)
    known = ", ".join(f"{u['name']} ({u['person']['email']})" for u in PEOPLE.values())
    raise EditError(f"unknown person {user!r}: the sandbox's people are {known}")


def parse_sets(items: list[str]) -> dict[str, str]:
    sets: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise EditError(f"--set {item!r}: write Property=value")
        sets[name.strip()] = value
    return sets


def property_value(kind: str, raw: str) -> dict[str, Any]:
    """The request value of a property of type `kind` from what a person typed."""
    if kind in ("title", "rich_text"):
        return {kind: [{"type": "text", "text": {"content": raw}}] if raw else []}
    if kind in ("select", "status"):
        return {kind: {"name": raw} if raw else None}
    if kind == "multi_select":
        return {kind: [{"name": n.strip()} for n in raw.split(",") if n.strip()]}
    if kind == "number":
        try:
            return {kind: float(raw) if "." in raw else int(raw)} if raw else {kind: None}
        except ValueError:
            raise EditError(f"{raw!r} is not a number") from None
    if kind == "checkbox":
        if raw.lower() not in ("true", "false", "yes", "no", "1", "0"):
            raise EditError(f"{raw!r} is not a checkbox value (true or false)")
        return {kind: raw.lower() in ("true", "yes", "1")}
    if kind in ("url", "email", "phone_number"):
        return {kind: raw or None}
    if kind == "date":
        return {kind: {"start": raw} if raw else None}
    if kind == "people":
        return {kind: [{"id": person(n.strip())} for n in raw.split(",") if n.strip()]}
    if kind == "relation":
        return {kind: [{"id": n.strip()} for n in raw.split(",") if n.strip()]}
    raise EditError(f"a {kind} property cannot be set by hand")


async def edit(client: httpx.AsyncClient, base_url: str, page_id: str, sets: dict[str, str],
               *, user: str) -> dict[str, Any]:
    """Sets the properties `sets` (name -> typed value) of `page_id` as `user`; returns the page."""
    user_id = person(user)
    api = f"{base_url.rstrip('/')}/sandbox/notion/v1"
    headers = {"Authorization": f"Bearer person:{user_id}", "Notion-Version": NOTION_VERSION}
    page = await _call(lambda: client.get(f"{api}/pages/{page_id}", headers=headers))
    known = page.get("properties", {})
    properties = {}
    for name, raw in sets.items():
        if name not in known:
            raise EditError(f"the page has no property {name!r} (it has: "
                            + ", ".join(sorted(known)) + ")")
        properties[name] = property_value(str(known[name]["type"]), raw)
    return await _call(lambda: client.patch(f"{api}/pages/{page_id}", headers=headers,
                                             json={"properties": properties}))


# A 429 from the stand-in (its quota is shared with the hub's own requests) is waited out as
# Notion's Retry-After says, a few times, as a client of the real API would.
RATE_LIMIT_TRIES = 5


async def _call(request: Callable[[], Awaitable[httpx.Response]]) -> dict[str, Any]:
    for attempt in range(1, RATE_LIMIT_TRIES + 1):
        try:
            answer = await request()
        except httpx.HTTPError as exc:
            raise EditError(f"cannot reach the hub: {exc}") from None
        if answer.status_code != 429 or attempt == RATE_LIMIT_TRIES:
            break
        await asyncio.sleep(min(float(answer.headers.get("retry-after") or 1), 10.0))
    if answer.status_code == 404 and "object" not in answer.text:
        raise EditError("no Notion stand-in at this hub: acting as a person needs a hub in "
                        "sandbox mode (no NOTION_TOKEN)")
    data = answer.json()
    if answer.status_code != 200:
        raise EditError(f"Notion stand-in: {data.get('code')}: {data.get('message')}")
    return dict(data)
