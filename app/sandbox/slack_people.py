"""Acting as a person in Slack: what Slack sends to the hub when someone types a slash command,
posts a message, adds a reaction, runs a message shortcut or submits a modal — built here and
sent, signed with the signing secret, to the hub's public routes (`/slack/commands`,
`/slack/events`, `/slack/interactions`).

Used by `passerelle slack send …` and by the dashboard's Sandbox page, so both send exactly
the same requests. A message is first posted into the Slack stand-in's channel history with a
person's user token (`xoxp-sandbox-<user id>`), so a later shortcut or reaction on it finds it
there as in Slack.
"""

from __future__ import annotations

import json
import secrets
import time
from typing import Any
from urllib.parse import urlencode

import httpx

from app.errors import PasserelleError
from app.receivers.slack_verify import sign
from app.sandbox.slack_state import APP_ID, BOT_USER_ID, SEED_CHANNELS, SEED_USERS, TEAM_ID

FORM = "application/x-www-form-urlencoded"
USER_AGENT = "Slackbot 1.0 (+https://api.slack.com/robots)"
CHANNEL_NAMES = dict(SEED_CHANNELS)
PEOPLE = {user.id: user for user in SEED_USERS if not user.is_bot}


class ActionError(PasserelleError):
    """A person's action could not be sent (bad input, or the hub refused it)."""


def person(user: str) -> str:
    """A seeded person's id from an id or a name (`U0ADA`, `ada`, `Ada Lovelace`)."""
    for user_id, member in PEOPLE.items():
        if user in (user_id, member.name, member.real_name, member.email):
            return user_id
    known = ", ".join(f"{u.id} ({u.name})" for u in PEOPLE.values())
    raise ActionError(f"unknown Slack user {user!r}: the sandbox's people are {known}")


def channel_id(channel: str) -> str:
    """A channel id from an id, `name` or `#name` (a user id names the DM with them)."""
    bare = channel.removeprefix("#")
    if bare in CHANNEL_NAMES or (bare.startswith(("C", "D")) and bare.isupper()):
        return bare
    for cid, name in SEED_CHANNELS:
        if name == bare:
            return cid
    if bare in PEOPLE:
        return "D" + bare[1:]
    raise ActionError(f"unknown channel {channel!r}: the sandbox's channels are "
                      + ", ".join(f"{cid} (#{name})" for cid, name in SEED_CHANNELS))


def _trigger_id() -> str:
    return f"{int(time.time())}.{secrets.token_hex(8)}"


def _user_obj(user: str) -> dict[str, Any]:
    name = PEOPLE[user].name
    return {"id": user, "username": name, "name": name, "team_id": TEAM_ID}


def _envelope(event: dict[str, Any]) -> bytes:
    return json.dumps({
        "token": "sandbox-verification-token", "team_id": TEAM_ID, "api_app_id": APP_ID,
        "event": event, "type": "event_callback", "event_id": f"Ev{secrets.token_hex(5).upper()}",
        "event_time": int(time.time()),
        "authorizations": [{"enterprise_id": None, "team_id": TEAM_ID, "user_id": BOT_USER_ID,
                            "is_bot": True, "is_enterprise_install": False}],
        "is_ext_shared_channel": False,
    }).encode()


class SlackPerson:
    """Sends a person's actions to the hub at `base_url`, signed with `secret`."""

    def __init__(self, client: httpx.AsyncClient, base_url: str, secret: str) -> None:
        self._http, self._base, self._secret = client, base_url.rstrip("/"), secret

    async def command(self, command: str, text: str, *, user: str, channel: str) -> httpx.Response:
        user, channel = person(user), channel_id(channel)
        body = urlencode({
            "token": "sandbox-verification-token", "team_id": TEAM_ID, "team_domain": "sandbox",
            "channel_id": channel, "channel_name": CHANNEL_NAMES.get(channel, "directmessage"),
            "user_id": user, "user_name": PEOPLE[user].name,
            "command": command if command.startswith("/") else "/" + command, "text": text,
            "api_app_id": APP_ID, "is_enterprise_install": "false",
            "response_url": f"{self._base}/sandbox/slack/response/{secrets.token_urlsafe(9)}",
            "trigger_id": _trigger_id(),
        }).encode()
        return await self._send("/slack/commands", body, FORM)

    async def message(self, text: str, *, user: str, channel: str) -> str:
        """Posts `text` as `user` in the stand-in's channel, then sends Slack's `message` event;
        returns the message's ts."""
        user, channel = person(user), channel_id(channel)
        # A DM (D…) is addressed by the person's id, as chat.postMessage allows.
        target = "U" + channel[1:] if channel.startswith("D") else channel
        posted = await self._web_api("chat.postMessage", {"channel": target, "text": text},
                                     token=f"xoxp-sandbox-{user}")
        ts, channel = str(posted["ts"]), str(posted["channel"])
        event = {"type": "message", "channel": channel, "user": user, "text": text, "ts": ts,
                 "event_ts": ts, "team": TEAM_ID,
                 "channel_type": "im" if channel.startswith("D") else "channel"}
        await self._send("/slack/events", _envelope(event), "application/json")
        return ts

    async def reaction(self, name: str, *, user: str, channel: str, ts: str) -> httpx.Response:
        user, channel = person(user), channel_id(channel)
        message = await self._find(channel, ts)
        event = {"type": "reaction_added", "user": user, "reaction": name.strip(":"),
                 "item_user": message.get("user"), "event_ts": f"{time.time():.6f}",
                 "item": {"type": "message", "channel": channel, "ts": ts}}
        return await self._send("/slack/events", _envelope(event), "application/json")

    async def shortcut(self, callback_id: str, *, user: str, channel: str,
                       ts: str) -> httpx.Response:
        user, channel = person(user), channel_id(channel)
        message = await self._find(channel, ts)
        payload = {
            "type": "message_action", "token": "sandbox-verification-token",
            "action_ts": f"{time.time():.6f}", "team": {"id": TEAM_ID, "domain": "sandbox"},
            "user": _user_obj(user), "is_enterprise_install": False,
            "channel": {"id": channel, "name": CHANNEL_NAMES.get(channel, "directmessage")},
            "callback_id": callback_id, "trigger_id": _trigger_id(),
            "response_url": f"{self._base}/sandbox/slack/response/{secrets.token_urlsafe(9)}",
            "message_ts": ts, "message": message,
        }
        return await self._interaction(payload)

    async def view(self, callback_id: str, values: dict[str, str], *, user: str) -> httpx.Response:
        """Submits the newest modal with `callback_id` the stand-in opened, inputs filled by
        block or action id (`values`); selects take an option's value or its text."""
        user = person(user)
        view = await self._open_view(callback_id)
        state: dict[str, dict[str, Any]] = {}
        left = dict(values)
        for block in view.get("blocks", []):
            element = block.get("element") if isinstance(block, dict) else None
            if not isinstance(element, dict):
                continue
            block_id, action_id = str(block.get("block_id", "")), str(element.get("action_id"))
            raw = left.pop(block_id, None) if block_id in left else left.pop(action_id, None)
            state[block_id] = {action_id: _input_value(element, raw)}
        if left:
            raise ActionError(f"the modal {callback_id!r} has no input named "
                              + ", ".join(sorted(left)))
        payload = {
            "type": "view_submission", "team": {"id": TEAM_ID, "domain": "sandbox"},
            "user": _user_obj(user), "api_app_id": APP_ID,
            "token": "sandbox-verification-token", "trigger_id": _trigger_id(),
            "view": {**view, "state": {"values": state}}, "response_urls": [],
            "is_enterprise_install": False,
        }
        return await self._interaction(payload)

    # -- plumbing ----------------------------------------------------------------------------

    async def _interaction(self, payload: dict[str, Any]) -> httpx.Response:
        body = urlencode({"payload": json.dumps(payload)}).encode()
        return await self._send("/slack/interactions", body, FORM)

    async def _send(self, path: str, body: bytes, content_type: str) -> httpx.Response:
        headers = {"Content-Type": content_type, "User-Agent": USER_AGENT,
                   **sign(self._secret, body)}
        answer = await self._http.post(f"{self._base}{path}", content=body, headers=headers)
        if answer.status_code >= 400:
            raise ActionError(f"the hub answered {answer.status_code}: {answer.text[:300]}")
        return answer

    async def _web_api(self, method: str, args: dict[str, Any], *,
                       token: str = "xoxb-sandbox") -> dict[str, Any]:
        answer = await self._http.post(f"{self._base}/sandbox/slack/api/{method}", json=args,
                                       headers={"Authorization": f"Bearer {token}"})
        if answer.status_code == 404:
            raise ActionError("no Slack stand-in at this hub: acting as a person needs a hub "
                              "in sandbox mode (no SLACK_BOT_TOKEN)")
        data = answer.json()
        if not data.get("ok"):
            raise ActionError(f"Slack stand-in: {method} failed: {data.get('error')}")
        return dict(data)

    async def _find(self, channel: str, ts: str) -> dict[str, Any]:
        history = await self._web_api("conversations.history", {
            "channel": channel, "latest": ts, "inclusive": True, "limit": 1})
        found = [m for m in history.get("messages", []) if m.get("ts") == ts]
        if not found:
            raise ActionError(f"no message {ts} in {channel}: post one first with "
                              "`passerelle slack send message`")
        return dict(found[0])

    async def _open_view(self, callback_id: str) -> dict[str, Any]:
        answer = await self._http.get(f"{self._base}/sandbox/slack/messages")
        if answer.status_code != 200:
            raise ActionError("no Slack stand-in at this hub (sandbox mode only)")
        views = [m["view"] for m in answer.json() if m.get("kind") in ("modal", "view_update")
                 and m.get("view", {}).get("callback_id") == callback_id]
        if not views:
            raise ActionError(f"no open modal with callback_id {callback_id!r}: open it first "
                              "(for example with the slash command that opens it)")
        return dict(views[-1])


def _input_value(element: dict[str, Any], raw: str | None) -> dict[str, Any]:
    kind = str(element.get("type"))
    if kind in ("static_select", "radio_buttons"):
        options = element.get("options") or []
        chosen = next((o for o in options if raw in (o.get("value"), o.get("text", {}).get(
            "text"))), None) if raw is not None else None
        if raw is not None and chosen is None:
            raise ActionError(f"{raw!r} is not an option of {element.get('action_id')}")
        return {"type": kind, "selected_option": chosen}
    if kind == "users_select":
        return {"type": kind, "selected_user": person(raw) if raw else None}
    if kind == "datepicker":
        return {"type": kind, "selected_date": raw}
    return {"type": kind, "value": raw}
