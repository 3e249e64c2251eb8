"""Slack event bodies handled as Slack means them: message subtypes, DMs (message.im),
org-wide installs and other apps' bots. Bodies follow Slack's documented shapes:
https://api.slack.com/events/message (subtypes: message_changed, message_deleted, channel_join),
https://api.slack.com/events/message.im, https://api.slack.com/enterprise/apps (enterprise_id,
is_enterprise_install), https://api.slack.com/apis/events-api#callback-field (api_app_id).
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from slack_requests import post_signed

from app.receivers.slack_manifest import build_manifest
from app.runtime import load


def _flow(name: str, trigger: str) -> str:
    return f"""
name: {name}
on:
  slack.event: {trigger}
steps:
  - id: note
    use: slack.post
    with:
      channel: C0GENERAL
      text: "{name} ent={{{{ event.enterprise_id }}}} org={{{{ event.is_enterprise_install }}}}"
"""


FLOWS = {
    "new.yaml": _flow("new", "{type: message}"),
    "edits.yaml": _flow("edits", "{type: message, subtype: message_changed}"),
    "dms.yaml": _flow("dms", "{type: message.im}"),
}


def envelope(event: dict[str, Any], event_id: str, **extra: Any) -> bytes:
    return json.dumps({
        "token": "x", "team_id": "T0SANDBOX", "api_app_id": "A0PASSAPP", "event": event,
        "type": "event_callback", "event_id": event_id, "event_time": int(time.time()),
        "authorizations": [{"enterprise_id": None, "team_id": "T0SANDBOX",
                            "user_id": "U0PASSBOT", "is_bot": True,
                            "is_enterprise_install": False}], **extra,
    }).encode()


def msg(ts: str, **fields: Any) -> dict[str, Any]:
    return {"type": "message", "channel": "C0FEEDBACK", "user": "U0ADA", "text": "hello",
            "ts": ts, "channel_type": "channel", **fields}


async def test_subtypes_dms_org_installs_and_bots(hub_factory) -> None:
    with hub_factory(FLOWS) as hub:
        cases: list[tuple[bytes, set[str]]] = [
            (envelope(msg("1.000001"), "Ev1"), {"new"}),
            (envelope({"type": "message", "subtype": "message_changed", "channel": "C0FEEDBACK",
                       "hidden": True, "ts": "1.000003", "channel_type": "channel",
                       "message": msg("1.000001", text="hello, edited")}, "Ev2"), {"edits"}),
            (envelope({"type": "message", "subtype": "message_deleted", "hidden": True,
                       "channel": "C0FEEDBACK", "ts": "1.000004", "deleted_ts": "1.000001",
                       "channel_type": "channel"}, "Ev3"), set()),
            (envelope(msg("1.000005", subtype="channel_join", text="<@U0ADA> has joined"),
                      "Ev4"), set()),
            (envelope(msg("1.000006", channel="D0ADA", channel_type="im"), "Ev5"),
             {"new", "dms"}),
            # Another app's bot is not us: its messages run flows (app_id differs).
            (envelope(msg("1.000007", user="U0OTHER", bot_id="B0OTHER", app_id="A0OTHER"),
                      "Ev6"), {"new"}),
            # Our app's bot (by app id) never reruns our flows, whatever its bot_id.
            (envelope(msg("1.000008", user="U0NEWBOT", bot_id="B0NEW", app_id="A0PASSAPP"),
                      "Ev7"), set()),
            (envelope(msg("1.000009"), "Ev8", enterprise_id="E0ORG",
                      is_enterprise_install=True), {"new"}),
        ]
        async with hub.client() as c, hub.client(headers=hub.admin) as admin:
            seen = 0
            for body, expected in cases:
                r = await post_signed(c, "/slack/events", body, "application/json")
                assert r.status_code == 200, r.text
                deadline = time.monotonic() + 20
                while True:
                    runs = (await admin.get("/api/runs", params={"limit": 500})).json()["runs"]
                    if len(runs) >= seen + len(expected) and all(
                            r["status"] in ("succeeded", "failed") for r in runs):
                        break
                    assert time.monotonic() < deadline, runs
                    await asyncio.sleep(0.05)
                fresh = runs[: len(runs) - seen]
                assert {r["flow"] for r in fresh} == expected, (body, fresh)
                seen = len(runs)
        posts = [m["text"] for m in hub.app.state.slack_sandbox.messages() if m["kind"] == "post"]
        assert "new ent=E0ORG org=True" in posts
        assert "new ent=None org=False" in posts or "new ent= org=False" in posts


def test_manifest_asks_for_dm_history(make_settings, tmp_path) -> None:
    settings = make_settings()
    (settings.flows / "dms.yaml").write_text(FLOWS["dms.yaml"], encoding="utf-8")
    manifest = build_manifest(load(settings), base_url="https://hub.example.com")
    assert manifest["settings"]["event_subscriptions"]["bot_events"] == ["message.im"]
    assert "im:history" in manifest["oauth_config"]["scopes"]["bot"]
