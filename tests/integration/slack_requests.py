"""Requests shaped exactly like Slack's, signed with the sandbox signing secret."""

from __future__ import annotations

import json
import secrets
import time
from typing import Any
from urllib.parse import urlencode

import httpx

from app.receivers.slack_verify import SANDBOX_SIGNING_SECRET, sign

FORM = "application/x-www-form-urlencoded"
TEAM = {"id": "T0SANDBOX", "domain": "sandbox"}


def command_form(command: str, text: str = "", *, response_url: str, user: str = "U0ADA",
                 channel: str = "C0FEEDBACK", trigger_id: str | None = None) -> bytes:
    return urlencode({
        "token": "legacy-verification-token", "team_id": "T0SANDBOX", "team_domain": "sandbox",
        "channel_id": channel, "channel_name": "product-feedback", "user_id": user,
        "user_name": "ada", "command": command, "text": text, "api_app_id": "A0PASSAPP",
        "is_enterprise_install": "false", "response_url": response_url,
        "trigger_id": trigger_id or f"{int(time.time())}.{secrets.token_hex(6)}",
    }).encode()


def event_envelope(event: dict[str, Any], *, event_id: str) -> bytes:
    return json.dumps({
        "token": "legacy-verification-token", "team_id": "T0SANDBOX", "api_app_id": "A0PASSAPP",
        "event": event, "type": "event_callback", "event_id": event_id,
        "event_time": int(time.time()), "event_context": "4-eyJldCI6Im1lc3NhZ2UifQ",
        "authorizations": [{"enterprise_id": None, "team_id": "T0SANDBOX", "user_id": "U0PASSBOT",
                            "is_bot": True, "is_enterprise_install": False}],
        "is_ext_shared_channel": False,
    }).encode()


def interaction_form(payload: dict[str, Any]) -> bytes:
    return urlencode({"payload": json.dumps(payload)}).encode()


def message_shortcut(callback_id: str, *, message: dict[str, Any], response_url: str,
                     channel: str = "C0FEEDBACK", user: str = "U0GRACE") -> dict[str, Any]:
    return {
        "type": "message_action", "token": "legacy-verification-token",
        "action_ts": f"{time.time():.6f}", "team": TEAM,
        "user": {"id": user, "username": "grace", "team_id": "T0SANDBOX", "name": "grace"},
        "channel": {"id": channel, "name": "product-feedback"}, "is_enterprise_install": False,
        "callback_id": callback_id, "trigger_id": f"{int(time.time())}.{secrets.token_hex(6)}",
        "response_url": response_url, "message_ts": message["ts"], "message": message,
    }


def view_submission(view: dict[str, Any], values: dict[str, dict[str, Any]],
                    user: str = "U0ADA") -> dict[str, Any]:
    """A submission of ``view`` (as views.open stored it) with ``values``: {block: action}."""
    return {
        "type": "view_submission", "team": TEAM,
        "user": {"id": user, "username": "ada", "name": "ada", "team_id": "T0SANDBOX"},
        "api_app_id": "A0PASSAPP", "token": "legacy-verification-token",
        "trigger_id": f"{int(time.time())}.{secrets.token_hex(6)}",
        "view": {**view, "state": {"values": values}}, "response_urls": [],
        "is_enterprise_install": False,
    }


async def post_signed(client: httpx.AsyncClient, path: str, body: bytes, content_type: str,
                      *, secret: str = SANDBOX_SIGNING_SECRET, timestamp: int | None = None,
                      headers: dict[str, str] | None = None) -> httpx.Response:
    signed = sign(secret, body, timestamp=timestamp)
    return await client.post(path, content=body, headers={
        "Content-Type": content_type, "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
        **signed, **(headers or {})})
