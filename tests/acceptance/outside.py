"""Acting as the world outside the hub does: Slack, Notion, Make and CI, over HTTP only.

Requests go to the hub's public routes (signed like Slack signs them, with the bearer secret a
Make scenario holds) and to the stand-ins' own routes (the Slack Web API a person's client
uses, ``GET /sandbox/slack/messages``, the Notion API with the integration's or a person's
token). Nothing here reaches into the hub's objects: what a test asserts is what a person
would see in Slack or Notion, or on the hub's admin API.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable
from typing import Any

import httpx
import notion_client

from tests.conftest import ADMIN_TOKEN
from tests.integration.slack_requests import FORM, command_form, interaction_form, post_signed

INTEGRATION = "secret_acceptance_outside"  # the stand-in takes any secret_… as the integration


def plain(items: list[dict[str, Any]]) -> str:
    return "".join(i.get("plain_text", "") for i in items)


def value(prop: dict[str, Any]) -> Any:
    """A Notion property value as a person reads it."""
    kind = prop["type"]
    body = prop[kind]
    if kind in ("title", "rich_text"):
        return plain(body)
    if kind in ("select", "status"):
        return body["name"] if body else None
    if kind == "multi_select":
        return [o["name"] for o in body]
    if kind == "date":
        return body["start"] if body else None
    if kind == "relation":
        return [r["id"] for r in body]
    return body


class Outside:
    """Slack, Notion and the admin's browser, pointed at one hub."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = httpx.AsyncClient(base_url=url, timeout=30)

    async def __aenter__(self) -> Outside:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.http.aclose()

    def notion(self, token: str = INTEGRATION) -> notion_client.AsyncClient:
        return notion_client.AsyncClient(auth=token, base_url=f"{self.url}/sandbox/notion",
                                         notion_version="2025-09-03")

    # -- Slack, as a workspace sends it -----------------------------------------------------

    def response_url(self) -> str:
        return f"{self.url}/sandbox/slack/response/{secrets.token_urlsafe(9)}"

    async def command(self, command: str, text: str, *, user: str = "U0ADA",
                      channel: str = "C0FEEDBACK") -> tuple[httpx.Response, str]:
        url = self.response_url()
        r = await post_signed(self.http, "/slack/commands",
                              command_form(command, text, response_url=url, user=user,
                                           channel=channel), FORM)
        return r, url

    async def interaction(self, payload: dict[str, Any]) -> httpx.Response:
        return await post_signed(self.http, "/slack/interactions", interaction_form(payload),
                                 FORM)

    async def post_message(self, channel: str, text: str) -> dict[str, Any]:
        """A message in a channel, through the Slack Web API route of the stand-in."""
        r = await self.http.post("/sandbox/slack/api/chat.postMessage",
                                 json={"channel": channel, "text": text},
                                 headers={"Authorization": "Bearer xoxb-person-client"})
        body: dict[str, Any] = r.json()
        assert body["ok"], body
        return body

    async def slack(self, kind: str | None = None) -> list[dict[str, Any]]:
        r = await self.http.get("/sandbox/slack/messages")
        r.raise_for_status()
        return [m for m in r.json() if kind in (None, m["kind"])]

    async def responses_to(self, url: str) -> list[dict[str, Any]]:
        key = url.rsplit("/", 1)[1]
        return [m for m in await self.slack("response") if m.get("response_url_key") == key]

    # -- Notion, as the integration or a person reads it ------------------------------------

    async def data_source(self, title: str) -> str:
        async with self.notion() as n:
            found = await n.search(query=title,
                                   filter={"property": "object", "value": "data_source"})
        [source] = [r for r in found["results"] if plain(r["title"]) == title]
        return str(source["id"])

    async def pages(self, title: str) -> list[dict[str, Any]]:
        """The live pages of a database, each as {"id", **plain property values}."""
        source = await self.data_source(title)
        out: list[dict[str, Any]] = []
        async with self.notion() as n:
            cursor: str | None = None
            while True:
                args: dict[str, Any] = {"page_size": 100}
                if cursor:
                    args["start_cursor"] = cursor
                answer = await n.data_sources.query(source, **args)
                for page in answer["results"]:
                    out.append({"id": page["id"], **{k: value(v) for k, v in
                                                     page["properties"].items()}})
                cursor = answer.get("next_cursor")
                if not answer.get("has_more"):
                    return out

    async def blocks(self, page_id: str) -> list[str]:
        async with self.notion() as n:
            answer = await n.blocks.children.list(page_id, page_size=100)
        return [plain(b[b["type"]].get("rich_text", [])) for b in answer["results"]]

    # -- the admin API ----------------------------------------------------------------------

    async def runs(self, **params: Any) -> list[dict[str, Any]]:
        r = await self.http.get("/api/runs", params={"limit": 500, **params},
                                headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
        r.raise_for_status()
        runs: list[dict[str, Any]] = r.json()["runs"]
        return runs

    async def settled(self, *, timeout: float = 60) -> list[dict[str, Any]]:
        """Every run, once none is queued, running or retrying."""
        async def done() -> list[dict[str, Any]] | None:
            runs = await self.runs()
            busy = [r for r in runs if r["status"] in ("queued", "running", "retrying")]
            return None if busy else runs
        runs: list[dict[str, Any]] = await until(done, timeout=timeout, what="runs to finish")
        return runs

    async def stats(self, **params: Any) -> dict[str, Any]:
        r = await self.http.get("/api/stats", params=params,
                                headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
        r.raise_for_status()
        doc: dict[str, Any] = r.json()
        return doc


async def until(check: Callable[[], Any], *, timeout: float = 30, what: str = "") -> Any:
    """Poll ``check`` until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        await asyncio.sleep(0.1)
