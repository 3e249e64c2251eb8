"""Telling people that a Slack-triggered run failed for good.

The person who typed ``/retro`` or clicked a shortcut waits for a confirmation; when the run
fails for good (a database that does not exist, retries exhausted), silence would read as
"saved". They get a short private message that it did not go through, and the lead hears of
it in ``PASSERELLE_FAILURES_CHANNEL`` when that is set (the failure is on the dashboard either
way). Best effort: a failure to tell is logged and never fails anything else.
"""

from __future__ import annotations

import logging
from typing import Any

from app.errors import ConnectorError
from app.events import CLI_KEY_PREFIX, Event, utcnow
from connectors.slack.connector import RESPONSE_URL_SECONDS, SlackConnector
from connectors.slack.context import channel_of, response_url_of, user_of

log = logging.getLogger("passerelle.slack")

PERSON_TYPES = ("slack.command", "slack.shortcut", "slack.view", "slack.event")


def what_they_did(event: Event) -> str:
    data = event.data
    if event.type == "slack.command" and data.get("command"):
        return f"your {data['command']}"
    if event.type == "slack.event" and data.get("type") == "reaction_added":
        return f"your :{data.get('reaction')}: reaction"
    return "what you sent"


def person_message(event: Event, *, lead_told: bool) -> str:
    who = "The lead has been told" if lead_told else "It is listed for the lead on the dashboard"
    return (f"Sorry, {what_they_did(event)} did not go through: Passerelle could not save it. "
            f"{who} and can replay it — no need to send it again.")


async def tell_failed(slack: SlackConnector, *, event: Event, flow: str, run_id: str,
                      reason: str, failures_channel: str | None) -> None:
    """Tell the person (privately) and the lead (if a channel is set) that a run failed."""
    if event.source != "slack" or event.type not in PERSON_TYPES:
        return
    if event.dedupe_key.startswith(CLI_KEY_PREFIX):
        return  # the lead's own try with `passerelle run`: they see the failure in the terminal
    data = event.data
    if data.get("passerelle_from_bot") or data.get("bot_id"):
        return  # nobody to tell: our own or another bot's event
    lead_told = False
    if failures_channel:
        try:
            await slack.api.call("chat.postMessage", channel=failures_channel,
                                 text=f"Run {run_id} of {flow} failed for good: {reason}")
            lead_told = True
        except ConnectorError as exc:
            log.warning("could not tell the lead", extra={"run_id": run_id, "error": str(exc)})
    text = person_message(event, lead_told=lead_told)
    try:
        await _tell_person(slack, event, text)
    except ConnectorError as exc:
        log.warning("could not tell the person", extra={"run_id": run_id, "error": str(exc)})


async def _tell_person(slack: SlackConnector, event: Event, text: str) -> None:
    url = response_url_of(event.data)
    age = (utcnow() - event.received_at).total_seconds()
    if url and age < RESPONSE_URL_SECONDS:
        payload: dict[str, Any] = {"response_type": "ephemeral", "text": text}
        await slack.api.post_response(url, payload)
        return
    channel, user = channel_of(event.data), user_of(event.data)
    if channel and user:
        await slack.api.call("chat.postEphemeral", channel=channel, user=user, text=text)
