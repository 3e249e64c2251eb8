"""A step that creates a page with content never makes a second page when it is retried.

Issue 16 ("create_page with content"): a 429 on the content append used to rerun the whole
step, so one event made several pages. Now the page and its body go in one request (Notion's
``markdown`` parameter), and with block appends (the fallback) a retried step resumes after
its create. Shown through the public routes: /feedback commands signed as Slack sends them,
all at once, with the Notion stand-in's rate limits on and the hub pacing itself far above
them (50 requests/s against 3/s), so that requests meet 429s.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest

from tests.acceptance.test_journeys import block_texts, drained, pages_of, slack_messages, slash

FLOW = """\
name: feedback-note
on:
  slack.command:
    command: /feedback
steps:
  - id: page
    use: notion.ACTION
    with:
      database: Feedback
KEY      properties:
        Name: "{{ event.text }}"
      content: "{{ event.text }}\\n\\n- first point\\n- second point"
  - use: slack.respond
    with:
      text: "Saved: {{ steps.page.url }}"
"""
COMMANDS = 14


async def noisy_neighbour(hub: Any) -> int:
    """Another integration spending the same workspace's quota, through the stand-in's own
    routes, until the hub has met a 429 (at most 30 s); returns the 429s it got itself."""
    sandbox = hub.app.state.notion_sandbox
    headers = {"Authorization": "Bearer secret_neighbour", "Notion-Version": "2025-09-03"}
    mine = 0
    async with hub.client() as c:
        for _ in range(600):
            r = await c.get("/sandbox/notion/v1/users/me", headers=headers)
            mine += r.status_code == 429
            if sandbox.requests["rate_limited"] > mine:
                break
            await asyncio.sleep(0.05)
    return mine


async def admin_get(hub: Any, path: str) -> Any:
    async with hub.client(headers=hub.admin) as admin:
        return await admin.get(path)


def sample(metrics: str, name: str) -> float:
    """The value of one sample of the Prometheus text exposition."""
    line = next(x for x in metrics.splitlines() if x.startswith(name + " "))
    return float(line.rsplit(" ", 1)[1])


@pytest.mark.parametrize("action", ["create_page", "upsert_page"])
@pytest.mark.parametrize("markdown", [True, False], ids=["markdown", "block-appends"])
async def test_a_retried_create_makes_one_page(hub_factory, markdown: bool, action: str) -> None:
    key = '      key: "slack:{{ trigger.id }}"\n' if action == "upsert_page" else ""
    flow = FLOW.replace("ACTION", action).replace("KEY", key)
    with hub_factory({"feedback-note.yaml": flow}, sandbox_rate_limits=True,
                     notion_rate_limit=50.0, max_attempts=30,
                     notion_markdown_content=markdown) as hub:
        sandbox = hub.app.state.notion_sandbox
        async with hub.client() as c:
            neighbour = asyncio.create_task(noisy_neighbour(hub))
            await asyncio.gather(*[slash(hub, c, "/feedback", f"Item {n}")
                                   for n in range(COMMANDS)])
            theirs = await neighbour
            runs = await drained(hub)
            steps: list[dict[str, Any]] = []
            async with hub.client(headers=hub.admin) as admin:
                for run in runs:
                    detail = (await admin.get(f"/api/runs/{run['id']}")).json()
                    steps += [s for s in detail["steps"] if s["id"] == "page"]
            metrics = (await admin_get(hub, "/metrics")).text
            now = (await admin_get(hub, "/")).text
        refused = sandbox.requests["rate_limited"] - theirs
        assert refused > 0  # the stand-in did refuse the hub's requests
        # What the hub saw, on /metrics and on the dashboard's "Now" (last hour, all processes).
        assert sample(metrics, 'passerelle_api_requests_total{api="notion",outcome="429"}') \
            >= refused
        assert sample(metrics, 'passerelle_rate_limit_wait_seconds_count{api="notion"}') > 0
        shown = re.search(r'id="quota-notion">(\d+) \(\d+ % of the quota\), (\d+) \u00d7 429', now)
        assert shown is not None, now
        assert int(shown[1]) >= sum(sandbox.requests.values()) - refused - theirs - (
            sandbox.requests["get_me"]) and \
            int(shown[2]) >= refused
        pages = pages_of(hub, "Feedback")
        assert sorted(p["properties"]["Name"]["title"][0]["plain_text"] for p in pages) == \
            sorted(f"Item {n}" for n in range(COMMANDS))  # one page per command, none twice
        for page in pages:  # each with its whole body, once
            title = page["properties"]["Name"]["title"][0]["plain_text"]
            assert block_texts(hub, page["id"]) == [title, "first point", "second point"]
        assert len(slack_messages(hub, "response")) == COMMANDS
        if markdown:
            assert sandbox.requests["append_children"] == 0
            assert sandbox.requests["create_page"] == COMMANDS
        else:
            assert sandbox.requests["create_page"] == COMMANDS
            if action == "create_page":
                # Some appends met a 429 after their create: those steps resumed.
                assert any((s.get("output") or {}).get("resumed") for s in steps), steps
