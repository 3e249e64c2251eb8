"""The three journeys end to end, as a Slack workspace and a Make scenario would drive them.

The shipped flows run on a real server in sandbox mode: signed Slack requests and webhooks
come in over HTTP, the worker drains, and the Notion and Slack stand-ins' state is checked.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import notion_client
import pytest

from app.receivers.notion import signature
from app.receivers.notion_poll import CURSORS, SNAPSHOTS
from app.sandbox.notion_model import USERS
from tests.integration.slack_requests import (
    FORM,
    command_form,
    event_envelope,
    interaction_form,
    message_shortcut,
    post_signed,
)

FLOWS_DIR = Path(__file__).resolve().parents[2] / "flows"
SHIPPED = {p.name: p.read_text(encoding="utf-8") for p in FLOWS_DIR.glob("*.yaml")}
NOTION_WEBHOOK_TOKEN = "acceptance-notion-webhook-token"
ADA = next(u["id"] for u in USERS if u.get("person", {}).get("email") == "ada@example.com")


@pytest.fixture
def secrets_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PASSERELLE_WEBHOOK_SECRET_FEEDBACK", "feedback-hook-secret")
    monkeypatch.setenv("PASSERELLE_WEBHOOK_SECRET_RELEASES", "releases-hook-secret")


async def until(check: Callable[[], Any], *, timeout: float = 30, what: str = "") -> Any:
    """Poll ``check`` until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        await asyncio.sleep(0.1)


async def drained(hub: Any) -> list[dict[str, Any]]:
    """Wait until no run is queued, running or retrying; return all runs."""
    async with hub.client(headers=hub.admin) as c:
        async def settled() -> list[dict[str, Any]] | None:
            runs = (await c.get("/api/runs", params={"limit": 500})).json()["runs"]
            busy = [r for r in runs if r["status"] in ("queued", "running", "retrying")]
            return None if busy else runs
        runs: list[dict[str, Any]] = await until(settled, what="runs to finish")
    failed = [r for r in runs if r["status"] == "failed"]
    assert not failed, [(r["flow"], r["error"]) for r in failed]
    return runs


def props(page: dict[str, Any]) -> dict[str, Any]:
    from connectors.notion.properties import page_to_plain

    return dict(page_to_plain(page)["properties"])


def pages_of(hub: Any, title: str) -> list[dict[str, Any]]:
    sandbox = hub.app.state.notion_sandbox
    ds = sandbox.data_source_by_title(title)["id"]
    return [p for p in sandbox.pages(ds) if not p.get("in_trash")]


def block_texts(hub: Any, page_id: str) -> list[str]:
    out = []
    for block in hub.app.state.notion_sandbox.blocks(page_id):
        body = block[block["type"]]
        out.append("".join(t["plain_text"] for t in body.get("rich_text", [])))
    return out


def slack_messages(hub: Any, kind: str | None = None) -> list[dict[str, Any]]:
    return [m for m in hub.app.state.slack_sandbox.messages() if kind in (None, m["kind"])]


async def slash(hub: Any, c: httpx.AsyncClient, command: str, text: str,
                user: str = "U0ADA") -> None:
    url = hub.url + hub.app.state.slack_sandbox.response_url()
    r = await post_signed(c, "/slack/commands",
                          command_form(command, text, response_url=url, user=user), FORM)
    assert r.status_code == 200, r.text


async def notion_signal(hub: Any, c: httpx.AsyncClient, event_id: str, page_id: str,
                        data_source_id: str, kind: str) -> None:
    """Deliver a signed Notion webhook event about one page, as Notion sends it."""
    body = json.dumps({
        "id": event_id, "timestamp": "2026-11-21T10:00:00.000Z", "type": kind,
        "entity": {"id": page_id, "type": "page"},
        "data": {"parent": {"id": data_source_id, "type": "data_source",
                            "data_source_id": data_source_id}},
    }).encode()
    r = await c.post("/notion/webhooks", content=body, headers={
        "content-type": "application/json",
        "x-notion-signature": signature(NOTION_WEBHOOK_TOKEN, body)})
    assert r.status_code == 200, r.text


async def test_feedback_journey(hub_factory, secrets_env) -> None:
    with hub_factory(SHIPPED) as hub:
        async with hub.client() as c:
            # 1. /feedback with text: a page, tags from hashtags, a private confirmation.
            await slash(hub, c, "/feedback", "Export to CSV is slow for big workspaces #reporting")
            await drained(hub)
            [page] = pages_of(hub, "Feedback")
            p = props(page)
            assert p["Name"] == "Export to CSV is slow for big workspaces"
            assert p["Tags"] == ["reporting"] and p["Source"] == "Slack"
            assert p["Reporter Slack ID"] == "U0ADA" and p["Status"] == "New"
            [confirm] = slack_messages(hub, "response")
            assert confirm["text"].startswith("Saved to Notion: <https://www.notion.so/")

            # 2. The same Slack message saved twice by shortcut: one page, one update.
            # Grace's message, as she posted it in #product-feedback.
            text = "Acme wants SSO on the Team plan #security"
            posted = hub.app.state.slack_sandbox.call(  # as Grace, with her user token
                "chat.postMessage", {"channel": "C0FEEDBACK", "text": text},
                token="xoxp-sandbox-U0GRACE")
            message = {"type": "message", "ts": posted["ts"], "user": "U0GRACE", "text": text}
            for _ in range(2):
                shortcut = message_shortcut("save_feedback", message=message,
                                            response_url=hub.url + "/sandbox/slack/response/sc")
                r = await post_signed(c, "/slack/interactions", interaction_form(shortcut), FORM)
                assert r.status_code == 200, r.text
                await drained(hub)
            sso = [x for x in pages_of(hub, "Feedback") if "SSO" in props(x)["Name"]]
            assert len(sso) == 1
            assert props(sso[0])["Link"] == (
                f"https://slack.com/archives/C0FEEDBACK/p{posted['ts'].replace('.', '')}")
            # Ada reacts to the same message with 📝: still one page for it.
            reaction = {"type": "reaction_added", "user": "U0ADA", "reaction": "memo",
                        "item_user": "U0GRACE", "event_ts": f"{time.time():.6f}",
                        "item": {"type": "message", "channel": "C0FEEDBACK", "ts": posted["ts"]}}
            r = await post_signed(c, "/slack/events",
                                  event_envelope(reaction, event_id="Ev0REACT1"),
                                  "application/json")
            assert r.status_code == 200, r.text
            runs = await drained(hub)
            assert "feedback-reaction" in {x["flow"] for x in runs}
            sso = [x for x in pages_of(hub, "Feedback") if "SSO" in props(x)["Name"]]
            assert len(sso) == 1
            # The reaction updates the same page but keeps what the first save set: Grace
            # saved it, so Grace hears when it ships (issue 16).
            assert props(sso[0])["Reporter Slack ID"] == "U0GRACE"
            reactions = [m for m in slack_messages(hub, "reaction") if m["ts"] == posted["ts"]]
            assert {m["name"] for m in reactions} == {"white_check_mark"}

            # 3. A support ticket from Make, sent twice with its id: one page.
            ticket = {"id": "T-981", "origin": "zendesk", "title": "Cannot export invoices",
                      "text": "Customer cannot export invoices to PDF #billing",
                      "customer": "Globex", "channel": "Support"}
            for key in ("delivery-1", "delivery-2"):
                r = await c.post("/hooks/feedback", json=ticket, headers={
                    "Authorization": "Bearer feedback-hook-secret", "Idempotency-Key": key})
                assert r.status_code == 202
            await drained(hub)
        names = sorted(props(x)["Name"] for x in pages_of(hub, "Feedback"))
        assert names == ["Acme wants SSO on the Team plan", "Cannot export invoices",
                         "Export to CSV is slow for big workspaces"]
        async with hub.client(headers=hub.admin) as c:
            stats = (await c.get("/api/stats", params={"weeks": 1})).json()
        # Saved again by shortcut, reacted to once saved, the ticket's second delivery.
        assert stats["totals"]["total"]["duplicates_prevented"] == 3


async def test_retro_journey(hub_factory, secrets_env) -> None:
    with hub_factory(SHIPPED) as hub:
        async with hub.client() as c:
            await slash(hub, c, "/retro", "went well the release train left on time")
            await drained(hub)
            await slash(hub, c, "/retro", "to improve: fewer meetings on Mondays", user="U0GRACE")
            await drained(hub)
        [page] = pages_of(hub, "Retros")
        p = props(page)
        assert p["Sprint"].startswith("Sprint ") and p["Notes"] == 2
        assert p["Status"] == "Collecting"
        texts = block_texts(hub, page["id"])
        assert texts == ["Went well: the release train left on time — ada",
                         "To improve: fewer meetings on Mondays — ada"]
        assert [m["text"].split(":")[0] for m in slack_messages(hub, "response")] == [
            f"Added to the retro of {p['Sprint']} (went well)",
            f"Added to the retro of {p['Sprint']} (to improve)"]


async def test_release_journey_closes_the_loop(hub_factory, secrets_env) -> None:
    with hub_factory(SHIPPED,
                     notion_webhook_token=NOTION_WEBHOOK_TOKEN) as hub:
        sandbox = hub.app.state.notion_sandbox
        releases_ds = sandbox.data_source_by_title("Releases")["id"]

        async def baseline() -> Any:
            async with hub.store() as store:
                return await store.kv_get(CURSORS, releases_ds)

        await until(baseline, what="the Releases watcher's baseline")
        async with hub.client() as c:
            # Feedback asked for by Ada.
            await slash(hub, c, "/feedback", "Bulk export of invoices please #billing")
            await drained(hub)
            [feedback] = pages_of(hub, "Feedback")

            # CI records the release once (and again: no second announcement).
            release = {"version": "2.4.0", "notes": "Bulk export of invoices\n- up to 10k rows",
                       "date": "2026-11-20", "link": "https://example.com/changelog/2.4.0"}
            for key in ("ci-1", "ci-2"):
                r = await c.post("/hooks/releases", json=release, headers={
                    "Authorization": "Bearer releases-hook-secret", "Idempotency-Key": key})
                assert r.status_code == 202
                await drained(hub)
            [rel] = pages_of(hub, "Releases")
            assert props(rel)["Announced"] is True and props(rel)["Status"] == "In progress"
            announcements = [m for m in slack_messages(hub, "post")
                             if m["channel"] == "C0RELEASES"]
            assert len(announcements) == 1
            assert announcements[0]["text"].startswith("Release 2.4.0 is out")

            # Notion signals the new page (as it does for every page created).
            await notion_signal(hub, c, "evt-created-1", rel["id"], releases_ds, "page.created")

            async def snapshot() -> Any:
                async with hub.store() as store:
                    return await store.kv_get(SNAPSHOTS, rel["id"])

            await until(snapshot, what="the watcher's snapshot of the release")

            # A product manager links the feedback and marks the release Released in Notion.
            async with notion_client.AsyncClient(
                    auth=f"person:{ADA}", base_url=f"{hub.url}/sandbox/notion") as person:
                await person.pages.update(page_id=feedback["id"], properties={
                    "Release": {"relation": [{"id": rel["id"]}]}})
                await person.pages.update(page_id=rel["id"], properties={
                    "Status": {"status": {"name": "Released"}}})
            # Notion signals the change.
            await notion_signal(hub, c, "evt-released-1", rel["id"], releases_ds,
                                "page.properties_updated")

            async def shipped() -> bool:
                [fb] = pages_of(hub, "Feedback")
                return props(fb)["Status"] == "Shipped"

            try:
                await until(shipped, what="the feedback to be marked Shipped")
            except AssertionError:
                async with hub.client(headers=hub.admin) as a:
                    runs = (await a.get("/api/runs")).json()["runs"]
                raise AssertionError([(r["flow"], r["status"], r["error"]) for r in runs]) from None
            await drained(hub)
        dms = [m for m in slack_messages(hub, "post") if m["channel"] in ("U0ADA", "D0ADA")
               or m["channel"].startswith("D")]
        assert len(dms) == 1, slack_messages(hub)
        assert "Shipped in 2.4.0" in dms[0]["text"]
        assert "Bulk export of invoices please" in dms[0]["text"]
        # Our own writes (Shipped) triggered nothing more: exactly one release-shipped run.
        async with hub.client(headers=hub.admin) as c:
            runs = (await c.get("/api/runs", params={"flow": "release-shipped"})).json()["runs"]
        assert [r["status"] for r in runs] == ["succeeded"]
