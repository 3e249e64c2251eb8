"""``on: notion.page`` end to end: webhook handshake, signatures, dedupe, loop protection."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from app.receivers.notion import signature
from app.receivers.notion_poll import CURSORS, SNAPSHOTS
from connectors.base import ActionContext
from connectors.notion.connector import CreatePageInput, NotionConnector, UpdatePageInput

TOKEN = "secret_notion_webhook_token_1"
CTX = ActionContext(run_id="t", flow="t", step_id="t")
FLOWS = {
    "released.yaml": """
name: released
on:
  notion.page: {database: Releases, changed: Status, to: Released, include_own: true}
steps:
  - use: notion.comment
    with:
      page: "{{ event.page_id }}"
      text: "{{ event.title }} went from {{ event.changes.Status.old }} to {{ event.page.Status }}"
""",
    "planned.yaml": """
name: planned
on:
  notion.page: {database: Releases, changed: Status, to: Planned, include_own: true}
steps:
  - use: notion.comment
    with: {page: "{{ event.page_id }}", text: planned}
""",
    "any-human-edit.yaml": """
name: any-human-edit
on:
  notion.page: {database: Releases}
steps:
  - use: notion.comment
    with: {page: "{{ event.page_id }}", text: loop}
""",
}


def delivery(event_id: str, page_id: str, data_source_id: str) -> bytes:
    return json.dumps({
        "id": event_id, "timestamp": "2026-11-21T10:00:00.000Z", "type": "page.properties_updated",
        "entity": {"id": page_id, "type": "page"}, "authors": [{"id": "u", "type": "person"}],
        "data": {"parent": {"id": data_source_id, "type": "data_source",
                            "data_source_id": data_source_id}, "updated_properties": ["x"]},
    }).encode()


def headers(body: bytes, token: str = TOKEN) -> dict[str, str]:
    return {"content-type": "application/json", "x-notion-signature": signature(token, body)}


async def wait_kv(hub: Any, namespace: str, key: str, *, check: Any = None) -> Any:
    # Two worker ticks (15 s each): a delivery whose processing met a transient error is
    # taken up again by the next tick (seen once under load: "trigger database unavailable").
    deadline = time.monotonic() + 40
    async with hub.store() as store:
        while True:
            value = await store.kv_get(namespace, key)
            if value is not None and (check is None or check(value)):
                return value
            assert time.monotonic() < deadline, f"{namespace}/{key} never set"
            await asyncio.sleep(0.05)


async def runs_of(hub: Any, flow: str) -> list[dict[str, Any]]:
    async with hub.client(headers=hub.admin) as c:
        r = await c.get("/api/runs", params={"flow": flow})
        r.raise_for_status()
        return list(r.json()["runs"])


async def test_verification_handshake_stores_and_shows_token(hub_factory: Any) -> None:
    with hub_factory(FLOWS) as hub:
        async with hub.client() as c:
            r = await c.post("/notion/webhooks", json={"verification_token": "vt_123"})
            assert r.status_code == 200, r.text
            unsigned = await c.post("/notion/webhooks", json={"id": "e", "type": "page.created"})
            assert unsigned.status_code == 401
        async with hub.store() as store:
            assert (await store.kv_get("notion", "verification_token"))["token"] == "vt_123"


async def test_signed_deliveries_diff_dedupe_and_loop_protection(hub_factory: Any) -> None:
    with hub_factory(FLOWS, notion_webhook_token=TOKEN) as hub:
        sandbox = hub.app.state.notion_sandbox
        ds = sandbox.data_source_by_title("Releases")["id"]
        await wait_kv(hub, CURSORS, ds)  # the watcher has taken its baseline
        notion = NotionConnector(hub.settings)
        try:
            page = await notion.create_page(CreatePageInput(database="Releases", properties={
                "Version": "2.4", "Status": "In progress"}), CTX)
            async with hub.client() as c:
                body = delivery("evt-1", page["id"], ds)
                bad = await c.post("/notion/webhooks", content=body,
                                   headers=headers(body, "wrong-token"))
                assert bad.status_code == 401
                r = await c.post("/notion/webhooks", content=body, headers=headers(body))
                assert r.status_code == 200 and r.json()["duplicate"] is False
                await wait_kv(hub, SNAPSHOTS, page["id"])
                await notion.update_page(UpdatePageInput(page=page["id"], properties={
                    "Status": "Released"}), CTX)
                body = delivery("evt-2", page["id"], ds)
                for _ in range(2):  # Notion delivers at least once
                    r = await c.post("/notion/webhooks", content=body, headers=headers(body))
                    assert r.status_code == 200
                assert r.json()["duplicate"] is True
                await wait_kv(hub, SNAPSHOTS, page["id"],
                              check=lambda s: s["properties"]["Status"] == "Released")
        finally:
            await notion.aclose()
        runs = await runs_of(hub, "released")
        assert len(runs) == 1
        await hub.wait_for_run(runs[0]["id"])
        comments = sandbox.comments(page["id"])
        assert [c["rich_text"][0]["plain_text"] for c in comments] == [
            "2.4 went from In progress to Released"]
        assert await runs_of(hub, "planned") == []
        # Every change above was made by our own integration: no flow without include_own ran.
        assert await runs_of(hub, "any-human-edit") == []
