"""Shortcuts, modal openings and modal submissions (the ``/slack/interactions`` payloads).

The only outgoing call made before answering Slack is ``views.open`` with the interaction's
``trigger_id``, which Slack requires inside its 3-second window. What the modal needs later
(channel, user, response_url, the message of a message shortcut) travels in the view's
``private_metadata`` and comes back as ``event.context`` with the submission.
"""

from __future__ import annotations

import logging
from typing import Any

from app.engine.model import Flow
from app.engine.triggers import ModalSpec, SlackCommandTrigger, SlackShortcutTrigger
from app.errors import ConnectorError
from app.events import Event, new_id
from app.receivers.common import Reply
from app.receivers.slack_modals import decode_metadata, field_errors, parse_values, render_view
from app.runtime import Runtime

log = logging.getLogger("passerelle.slack")
JSON = dict[str, Any]


def modal_flow(rt: Runtime, *, command: str | None = None,
               callback_id: str | None = None) -> Flow | None:
    """The enabled flow whose command (or shortcut) opens a modal, if any."""
    for flow in rt.flows.flows.values():
        trigger = flow.trigger
        if not flow.enabled or getattr(trigger, "modal", None) is None:
            continue
        if command is not None and isinstance(trigger, SlackCommandTrigger) \
                and trigger.command == command:
            return flow
        if callback_id is not None and isinstance(trigger, SlackShortcutTrigger) \
                and trigger.callback_id == callback_id:
            return flow
    return None


def spec_for_view(rt: Runtime, callback_id: Any) -> ModalSpec | None:
    """The ModalSpec whose view carries ``callback_id`` (None for views we did not build)."""
    for flow in rt.flows.flows.values():
        if flow.trigger.modal_callback(flow.name) == callback_id:
            spec: ModalSpec | None = getattr(flow.trigger, "modal", None)
            return spec
    return None


async def open_modal(rt: Runtime, flow: Flow, *, trigger_id: str, context: JSON) -> str | None:
    """Open ``flow``'s modal; returns an error message for the user, or None when it opened."""
    spec: ModalSpec | None = getattr(flow.trigger, "modal", None)
    assert spec is not None  # modal_flow() only returns flows with a modal
    callback = flow.trigger.modal_callback(flow.name) or flow.name
    view = render_view(spec, callback_id=callback, metadata={"flow": flow.name, **context})
    connector: Any = rt.connectors.get("slack")
    try:
        await connector.open_view(trigger_id=trigger_id, view=view)
    except ConnectorError as exc:
        log.warning("slack modal did not open", extra={"flow": flow.name, "error": str(exc)})
        return f"Passerelle could not open the form: {exc}"
    return None


def permalink(payload: JSON) -> str | None:
    """A message's link, built from the payload alone (no API call before the ack)."""
    domain = (payload.get("team") or {}).get("domain")
    channel = (payload.get("channel") or {}).get("id")
    message = payload.get("message") or {}
    ts = message.get("ts")
    if not (domain and channel and ts):
        return None
    link = f"https://{domain}.slack.com/archives/{channel}/p{str(ts).replace('.', '')}"
    thread = message.get("thread_ts")
    if thread and thread != ts:
        link += f"?thread_ts={thread}&cid={channel}"
    return link


def _user_id(payload: JSON) -> str | None:
    user = payload.get("user") or {}
    return str(user["id"]) if isinstance(user, dict) and user.get("id") else None


def _team_id(payload: JSON) -> str:
    return str((payload.get("team") or {}).get("id") or payload.get("team_id") or "")


async def shortcut(rt: Runtime, payload: JSON) -> Reply:
    """A global (``shortcut``) or message (``message_action``) shortcut."""
    callback = payload.get("callback_id")
    trigger_id = str(payload.get("trigger_id") or "")
    message = payload.get("message") if isinstance(payload.get("message"), dict) else None
    link = permalink(payload) if message else None
    flow = modal_flow(rt, callback_id=callback) if isinstance(callback, str) else None
    if flow is not None and trigger_id:
        context: JSON = {
            "kind": "shortcut", "callback_id": callback, "user": _user_id(payload),
            "channel": (payload.get("channel") or {}).get("id"),
            "response_url": payload.get("response_url"), "team_id": _team_id(payload),
        }
        if message is not None:
            context["message"] = {k: message.get(k) for k in ("ts", "thread_ts", "text", "user")}
            context["message"]["permalink"] = link
        await open_modal(rt, flow, trigger_id=trigger_id, context=context)
        return Reply()
    data = {k: v for k, v in payload.items() if k != "token"}
    if message is not None and link:
        data["message"] = {**message, "permalink": link}
        data["permalink"] = link
    key = f"slack:shortcut:{_team_id(payload)}:{trigger_id or new_id()}"
    await rt.submit(Event(source="slack", type="slack.shortcut", dedupe_key=key, data=data,
                          actor=_user_id(payload)))
    return Reply()


async def view_submission(rt: Runtime, payload: JSON) -> Reply:
    """A modal submitted: field errors go back to the modal; otherwise one event."""
    raw_view = payload.get("view")
    view: JSON = raw_view if isinstance(raw_view, dict) else {}
    spec = spec_for_view(rt, view.get("callback_id"))
    values = parse_values(view.get("state"), spec)
    if spec is not None:
        errors = field_errors(spec, values)
        if errors:
            return Reply(200, {"response_action": "errors", "errors": errors})
    context = decode_metadata(view.get("private_metadata"))
    data = {k: v for k, v in payload.items() if k != "token"}
    data.update(values=values, context=context)
    key = f"slack:view:{_team_id(payload)}:{view.get('id') or new_id()}"
    await rt.submit(Event(source="slack", type="slack.view", dedupe_key=key, data=data,
                          actor=_user_id(payload)))
    return Reply()  # an empty 200 closes the modal
