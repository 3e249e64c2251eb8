"""The dashboard's Sandbox page: acting as a person through forms (the hub then sends itself,
signed, what Slack or Notion would send), page contents shown, reset; admin and CSRF only."""

from __future__ import annotations

from typing import Any

from app.sandbox.notion_model import USERS

FLOW = """
name: thanks
on:
  slack.event: {type: message, channel: C0FEEDBACK}
steps:
  - id: page
    use: notion.create_page
    with:
      database: Feedback
      properties: {Name: "{{ event.text }}"}
      content: "Said by {{ event.user }} in the sandbox."
"""
GRACE = next(u["id"] for u in USERS if u["name"] == "Grace Hopper")


async def _settled(hub: Any) -> list[dict[str, Any]]:
    import asyncio
    import time

    deadline = time.monotonic() + 20
    async with hub.client(headers=hub.admin) as c:
        while True:
            runs = (await c.get("/api/runs")).json()["runs"]
            if runs and all(r["status"] in ("succeeded", "failed") for r in runs):
                return list(runs)
            assert time.monotonic() < deadline, runs
            await asyncio.sleep(0.05)


async def test_forms_act_as_people_and_the_page_shows_contents(hub_factory: Any) -> None:
    with hub_factory({"thanks.yaml": FLOW}) as hub:
        async with hub.client(headers=hub.admin) as c:
            r = await c.post("/sandbox/act", data={"action": "message", "user": "U0ADA",
                                                   "channel": "C0FEEDBACK", "text": "Dark mode"})
            assert r.status_code == 303, r.text
            [run] = await _settled(hub)
            assert run["status"] == "succeeded", run
            sandbox = hub.app.state.notion_sandbox
            [page] = sandbox.pages(sandbox.data_source_by_title("Feedback")["id"])
            shown = (await c.get("/sandbox")).text
            assert "Said by U0ADA in the sandbox." in shown and page["id"] in shown
            r = await c.post("/sandbox/act", data={
                "action": "edit", "page": page["id"], "user": "Grace Hopper",
                "sets": "Status=Triaged\nImportance=High"})
            assert r.status_code == 303, r.text
            [edited] = [p for p in sandbox.pages() if p["id"] == page["id"]]
            assert edited["last_edited_by"]["id"] == GRACE
            assert edited["properties"]["Status"]["status"]["name"] == "Triaged"
            bad = await c.post("/sandbox/act", data={"action": "edit", "page": page["id"],
                                                     "user": "Grace Hopper", "sets": "Nope=1"})
            assert bad.status_code == 400 and "has no property" in bad.text
            r = await c.post("/sandbox/act", data={"action": "reset"})
            assert r.status_code == 303
            assert sandbox.pages(sandbox.data_source_by_title("Feedback")["id"]) == []
        async with hub.client() as anonymous:
            refused = await anonymous.post("/sandbox/act", data={"action": "reset"})
            assert refused.status_code == 401
            api = await anonymous.post("/api/sandbox/reset")
            assert api.status_code == 401
