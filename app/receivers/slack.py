"""``POST /slack/commands``, ``/slack/events``, ``/slack/interactions``.

Every request is checked in the same order: body size, v0 signature over the raw body (five
minute window), content type, then parsing. Nothing is stored until all of them pass. The
answer goes back as soon as the event and its runs are committed: no outgoing call happens on
the way except ``views.open`` for a modal (``slack_interactions``) and, once per process,
``auth.test`` to learn our own bot's id so its own messages never trigger flows.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

from app.engine.triggers import SlackCommandTrigger
from app.errors import BadRequest, ConnectorError
from app.events import Event, new_id
from app.receivers import slack_interactions as interactions
from app.receivers.common import Reply, json_object, parse_json, require_content_type
from app.receivers.slack_shapes import check_interaction
from app.receivers.slack_verify import signing_secret, verify
from app.runtime import Runtime

log = logging.getLogger("passerelle.slack")

FORM = "application/x-www-form-urlencoded"
JSON = dict[str, Any]


def parse_form(text: str) -> dict[str, str]:
    """``dict(parse_qsl(text, keep_blank_values=True))``, for the forms Slack sends.

    The same result (checked by hypothesis against ``parse_qsl``), without its generic steps:
    it was a third of the CPU a slash command cost (docs/performance.md). Names and values
    without ``%`` or ``+`` are taken as they are; the others are unquoted like ``parse_qsl``
    does (UTF-8, undecodable bytes replaced).
    """
    out: dict[str, str] = {}
    for pair in text.split("&"):
        if not pair:
            continue
        name, _, value = pair.partition("=")
        if "%" in name or "+" in name:
            name = unquote(name.replace("+", " "))
        if "%" in value or "+" in value:
            value = unquote(value.replace("+", " "))
        out[name] = value
    return out


def _form(body: bytes) -> dict[str, str]:
    try:
        return parse_form(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise BadRequest("body is not UTF-8 form data") from None


def _ephemeral(text: str) -> Reply:
    return Reply(200, {"response_type": "ephemeral", "text": text})


def _command_flows(rt: Runtime, command: str) -> list[tuple[str, SlackCommandTrigger]]:
    return [(f.name, f.trigger) for f in rt.flows.flows.values()
            if f.enabled and isinstance(f.trigger, SlackCommandTrigger)
            and f.trigger.command == command]


async def command(rt: Runtime, headers: Mapping[str, str], body: bytes) -> Reply:
    """``POST /slack/commands`` (served by ``front.py``)."""
    form = _form(body)
    if form.get("ssl_check") == "1":  # Slack checking the certificate: nothing to do
        return Reply()
    verify(signing_secret(rt.settings), headers, body)
    require_content_type(headers, FORM)
    if b"%00" in body and any("\x00" in k or "\x00" in v for k, v in form.items()):
        # As for JSON bodies (common.json_object): PostgreSQL cannot store a NUL.
        raise BadRequest("form holds the character NUL (%00): it cannot be stored")
    name = form.get("command", "")
    if not name.startswith("/"):
        raise BadRequest("form field 'command' is missing")
    data: JSON = {k: v for k, v in form.items() if k != "token"}  # legacy verification token
    for field in ("text", "user_id", "user_name", "channel_id", "channel_name", "team_id",
                  "trigger_id", "response_url"):
        data.setdefault(field, "")
    flows = _command_flows(rt, name)
    if not data["text"].strip() and data["trigger_id"]:
        flow = interactions.modal_flow(rt, command=name)
        if flow is not None:
            problem = await interactions.open_modal(rt, flow, trigger_id=data["trigger_id"],
                                                    context=_command_context(data))
            return _ephemeral(problem) if problem else Reply()
    key = f"slack:command:{data['team_id']}:{data['trigger_id'] or new_id()}"
    event = Event(source="slack", type="slack.command", dedupe_key=key, data=data,
                  actor=data["user_id"] or None)
    matched = rt.flows.matching(event)  # once: the runs and the ack follow the same answer
    result = await rt.submit(event, matched)
    if not result.runs and not result.duplicate:
        return _ephemeral(_no_flow_help(name, flows))
    acks = [t.ack for n, t in flows if t.ack and n in matched]
    return _ephemeral(acks[0]) if acks else Reply()


def _command_context(data: JSON) -> JSON:
    return {"kind": "command", "command": data["command"], "user": data["user_id"],
            "channel": data["channel_id"], "response_url": data["response_url"],
            "team_id": data["team_id"], "trigger_id": data["trigger_id"]}


def _no_flow_help(name: str, flows: list[tuple[str, SlackCommandTrigger]]) -> str:
    if not flows:
        return (f"No Passerelle flow handles {name} yet. Add a flow file with "
                f"`on: {{slack.command: {name}}}` to the flows folder (see docs/slack.md).")
    hints = [t.usage_hint for _, t in flows if t.usage_hint]
    usage = f" Usage: {name} {hints[0]}" if hints else ""
    return f"{name} did not match what its flows expect, so nothing was done.{usage}"


async def events(rt: Runtime, headers: Mapping[str, str], body: bytes) -> Reply:
    """``POST /slack/events`` (served by ``front.py``)."""
    verify(signing_secret(rt.settings), headers, body)
    require_content_type(headers, "application/json")
    payload = json_object(body)
    if payload.get("type") == "url_verification":
        return Reply(200, {"challenge": str(payload.get("challenge") or "")})
    if payload.get("type") != "event_callback":  # e.g. app_rate_limited: nothing to run
        return Reply()
    inner, event_id = payload.get("event"), payload.get("event_id")
    if not isinstance(inner, dict) or not isinstance(event_id, str) or not event_id:
        raise BadRequest("event_callback needs 'event' (an object) and 'event_id'")
    data: JSON = {**inner, "event_id": event_id, "team_id": payload.get("team_id"),
                  # org-wide (Enterprise Grid) installs: https://api.slack.com/enterprise/apps
                  "enterprise_id": payload.get("enterprise_id"),
                  "is_enterprise_install": payload.get("is_enterprise_install") is True}
    own = await _from_our_bot(rt, inner, payload.get("authorizations"), payload.get("api_app_id"))
    if own:
        data["passerelle_from_bot"] = True
    actor = inner.get("user") if isinstance(inner.get("user"), str) and not own else None
    # A retry (X-Slack-Retry-Num) of a stored event is a duplicate of it; a retry of one we
    # never stored is the first delivery that reached us, and is processed.
    await rt.submit(Event(source="slack", type="slack.event", dedupe_key=f"slack:event:{event_id}",
                          data=data, actor=actor))
    return Reply()


def _apps(message: JSON) -> set[str]:
    profile = message.get("bot_profile")
    found = [message.get("app_id"), profile.get("app_id") if isinstance(profile, dict) else None]
    return {a for a in found if isinstance(a, str) and a}


async def _from_our_bot(rt: Runtime, inner: JSON, authorizations: Any, app_id: Any) -> bool:
    """True when our own bot wrote this (or it is the edit echo of one of our messages).

    A bot message names its app (`app_id`, `bot_profile.app_id`): our app's is the envelope's
    `api_app_id`, any other app's bot is someone else, as Slack tells them apart."""
    apps = _apps(inner)
    if inner.get("subtype") == "message_changed" and isinstance(inner.get("message"), dict):
        apps |= _apps(inner["message"])
    if apps and isinstance(app_id, str):
        return app_id in apps
    # Fields are read defensively: a signed event may carry any JSON where Slack sends ids.
    candidates = [inner.get("user"), inner.get("bot_id")]
    if inner.get("subtype") == "message_changed" and isinstance(inner.get("message"), dict):
        candidates += [inner["message"].get("user"), inner["message"].get("bot_id")]
    authors = {a for a in candidates if isinstance(a, str) and a}
    if not authors:
        return False
    if isinstance(authorizations, list) and authors & {
            a.get("user_id") for a in authorizations
            if isinstance(a, dict) and a.get("is_bot") and isinstance(a.get("user_id"), str)}:
        return True
    try:
        ours = await rt.connectors.get("slack").identity()  # type: ignore[attr-defined]
    except ConnectorError as exc:
        log.warning("could not learn our bot id (auth.test)", extra={"error": str(exc)})
        return False
    return bool(authors & {v for v in ours.values() if v})


async def interaction(rt: Runtime, headers: Mapping[str, str], body: bytes) -> Reply:
    """``POST /slack/interactions`` (served by ``front.py``)."""
    verify(signing_secret(rt.settings), headers, body)
    require_content_type(headers, FORM)
    raw = _form(body).get("payload")
    if not raw:
        raise BadRequest("form field 'payload' is missing")
    payload = parse_json(raw, "'payload'")
    if not isinstance(payload, dict):
        raise BadRequest("'payload' must be a JSON object")
    check_interaction(payload)
    kind = payload.get("type")
    if kind in ("shortcut", "message_action"):
        return await interactions.shortcut(rt, payload)
    if kind == "view_submission":
        return await interactions.view_submission(rt, payload)
    return Reply()  # block_actions, view_closed: acknowledged, no trigger
