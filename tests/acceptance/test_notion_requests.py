"""How many Notion requests each journey costs, counted at the stand-in (issue 18).

Notion's quota (about 3 requests per second per integration) is the physical limit of what
the hub does, so the number of requests per item is pinned here. Everything goes through the
public routes (signed Slack requests, webhooks) with the stand-in's rate limits on; the
counts are what the Notion stand-in answered, by endpoint. Each journey runs twice: the first
time pays for the schema lookups and the key index's first scan, the second is the steady
cost of one more item.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from tests.acceptance.test_journeys import (
    SHIPPED,
    drained,
    pages_of,
    secrets_env,  # noqa: F401 - fixture
    slash,
)
from tests.integration.slack_requests import (
    FORM,
    event_envelope,
    interaction_form,
    message_shortcut,
    post_signed,
)

FEEDBACK = {"Authorization": "Bearer feedback-hook-secret"}
RELEASES = {"Authorization": "Bearer releases-hook-secret"}


def counted(hub: Any) -> Counter[str]:
    return Counter(hub.app.state.notion_sandbox.requests)


async def cost(hub: Any, journey: Any) -> dict[str, int]:
    """The Notion requests one journey made, by stand-in endpoint (429s as rate_limited)."""
    before = counted(hub)
    await journey()
    await drained(hub)
    after = counted(hub)
    after.subtract(before)
    return {name: n for name, n in sorted(after.items()) if n}


def posted(hub: Any, text: str) -> str:
    made = hub.app.state.slack_sandbox.call(
        "chat.postMessage", {"channel": "C0FEEDBACK", "text": text}, token="xoxb-user")
    return str(made["ts"])


async def test_notion_requests_per_journey(hub_factory, secrets_env) -> None:  # noqa: F811
    with hub_factory(SHIPPED, sandbox_rate_limits=True) as hub:
        async with hub.client() as c:
            n = iter(range(100))
            # New requests in each phase: a repeat of an earlier one is linked to it by the
            # similarity steps (two more updates, tests/acceptance/test_similar_journey.py).
            phase = iter(range(2))
            said = {"command": ["Export to CSV is slow", "Calendar sync drops recurring meetings"],
                    "webhook": ["Invoices as PDF", "Let admins reset two-factor for a user"],
                    "reaction": ["Dark mode please", "Bulk edit the tags of many pages at once"]}
            now = 0

            async def command() -> None:
                await slash(hub, c, "/feedback", f"{said['command'][now]} #{next(n)}")

            async def webhook() -> None:
                r = await c.post("/hooks/feedback", headers=FEEDBACK, json={
                    "id": f"T-{next(n)}", "origin": "zendesk", "text": said["webhook"][now]})
                assert r.status_code == 202, r.text

            async def shortcut() -> None:
                ts = posted(hub, f"Acme wants SSO {next(n)}")
                message = {"type": "message", "ts": ts, "user": "U0GRACE", "text": "SSO"}
                form = interaction_form(message_shortcut(
                    "save_feedback", message=message,
                    response_url=hub.url + "/sandbox/slack/response/sc"))
                r = await post_signed(c, "/slack/interactions", form, FORM)
                assert r.status_code == 200, r.text

            async def reaction() -> None:
                ts = posted(hub, f"{said['reaction'][now]} {next(n)}")
                event = {"type": "reaction_added", "user": "U0ADA", "reaction": "memo",
                         "item_user": "U0GRACE", "event_ts": f"{time.time():.6f}",
                         "item": {"type": "message", "channel": "C0FEEDBACK", "ts": ts}}
                r = await post_signed(c, "/slack/events",
                                      event_envelope(event, event_id=f"Ev{next(n)}"),
                                      "application/json")
                assert r.status_code == 200, r.text

            async def retro() -> None:
                await slash(hub, c, "/retro", f"went well the demo {next(n)}")

            async def release() -> None:
                r = await c.post("/hooks/releases", headers=RELEASES, json={
                    "version": f"2.{next(n)}.0", "notes": "Bulk export\n- up to 10k rows",
                    "date": "2026-11-20"})
                assert r.status_code == 202, r.text

            journeys = {"command": command, "webhook": webhook, "shortcut": shortcut,
                        "reaction": reaction, "retro": retro, "release": release}
            now = next(phase)
            first = {name: await cost(hub, run) for name, run in journeys.items()}
            now = next(phase)
            steady = {name: await cost(hub, run) for name, run in journeys.items()}
        print({"first": first, "steady": steady})
        assert all("rate_limited" not in c for c in [*first.values(), *steady.values()])
        # One request per new item on the feedback paths: the page and its content are created
        # in one request; the key index knows the key is new, so nothing is looked up.
        assert steady["command"] == {"create_page": 1}
        assert steady["webhook"] == {"create_page": 1}
        assert steady["shortcut"] == {"create_page": 1}
        assert steady["reaction"] == {"create_page": 1}
        # The retro note reads the sprint page the index knows (its properties are on_create
        # only, issue 16), appends the bullet, then counts the bullets under the page lock
        # (reads the page, lists its children) and writes the count.
        assert steady["retro"] == {"get_page": 2, "append_children": 1, "list_children": 1,
                                   "update_page": 1}
        # A new release: created, its notes appended (a step of its own), then Announced is
        # claimed once (read, then ticked) so that two sends announce it once.
        assert steady["release"] == {"create_page": 1, "append_children": 1, "get_page": 1,
                                     "update_page": 1}
        # The first item pays once for finding the database by title and scanning its keys.
        assert first["command"] == {"search": 2, "query_data_source": 2, "create_page": 1}
        assert len(pages_of(hub, "Feedback")) == 8  # one page per item, none twice
