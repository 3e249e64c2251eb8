"""Where the triggering Slack event's channel, message, user and response_url are.

Each event kind keeps them in its own place: a command has ``channel_id`` and ``user_id``; a
message event ``channel``, ``ts`` and ``user``; a reaction ``item.channel`` and ``item.ts``;
a shortcut ``channel.id``, ``message.ts`` and ``user.id``; a modal submission the ``context``
Passerelle stored when it opened the modal. Actions use these as defaults for inputs a flow
leaves out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connectors.base import PermanentError

Event = Mapping[str, Any]


def _ctx(event: Event) -> Event:
    value = event.get("context")
    return value if isinstance(value, Mapping) else {}


def _message(event: Event) -> Event:
    for holder in (event, _ctx(event)):
        value = holder.get("message")
        if isinstance(value, Mapping):
            return value
    return {}


def channel_of(event: Event) -> str | None:
    channel = event.get("channel_id") or event.get("channel")
    if isinstance(channel, Mapping):
        channel = channel.get("id")
    if not channel:
        item = event.get("item")
        channel = item.get("channel") if isinstance(item, Mapping) else None
    return str(channel) if channel else (_ctx(event).get("channel") or None)


def message_of(event: Event) -> tuple[str | None, str | None]:
    """(ts, thread_ts) of the triggering message, when there is one."""
    message = _message(event)
    if message.get("ts"):
        return str(message["ts"]), message.get("thread_ts")
    item = event.get("item")
    if isinstance(item, Mapping) and item.get("ts"):
        return str(item["ts"]), None
    if event.get("ts"):
        return str(event["ts"]), event.get("thread_ts")
    return None, None


def user_of(event: Event) -> str | None:
    user = event.get("user_id") or event.get("user") or _ctx(event).get("user")
    if isinstance(user, Mapping):
        user = user.get("id")
    return str(user) if user else None


def response_url_of(event: Event) -> str | None:
    url = event.get("response_url") or _ctx(event).get("response_url")
    if not url:
        urls = event.get("response_urls")
        if isinstance(urls, list) and urls and isinstance(urls[0], Mapping):
            url = urls[0].get("response_url")
    return str(url) if url else None


def need(value: str | None, what: str, action: str, hint: str) -> str:
    """``value``, or a PermanentError saying which input to give."""
    if not value:
        raise PermanentError(f"slack.{action}: no {what} in the triggering event: {hint}")
    return value
