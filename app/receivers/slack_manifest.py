"""The Slack app manifest the loaded flows need: commands, shortcuts, events, scopes, URLs.

Pasting it into "Create an app → From a manifest" sets up the Slack side in one step. Scopes
are derived from what the flows use, so a workspace admin sees no permission nobody needs.
"""

from __future__ import annotations

from typing import Any

from app.engine.loader import FlowSet
from app.engine.triggers import SlackCommandTrigger, SlackEventTrigger, SlackShortcutTrigger

ACTION_SCOPES: dict[str, tuple[str, ...]] = {
    "slack.post": ("chat:write",),
    "slack.reply": ("chat:write",),
    "slack.ephemeral": ("chat:write",),
    "slack.update": ("chat:write",),
    "slack.react": ("reactions:write",),
    "slack.lookup_user": ("users:read", "users:read.email"),
    "slack.respond": (),  # response_url needs no scope
    # Names for <@U…> (users.info) and <#C…> (conversations.info, public and private).
    "slack.plain_text": ("users:read", "channels:read", "groups:read"),
    # Public and private channels, direct and group messages: wherever a reaction can be.
    "slack.get_message": ("channels:history", "groups:history", "im:history", "mpim:history"),
}
# Event type of a trigger -> (bot events to subscribe to, scopes they need).
EVENT_SUBSCRIPTIONS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "message": (("message.channels",), ("channels:history",)),
    # https://api.slack.com/events/message.im and its siblings: one subscription per kind of
    # conversation, each with its history scope.
    "message.channels": (("message.channels",), ("channels:history",)),
    "message.groups": (("message.groups",), ("groups:history",)),
    "message.im": (("message.im",), ("im:history",)),
    "message.mpim": (("message.mpim",), ("mpim:history",)),
    "app_mention": (("app_mention",), ("app_mentions:read",)),
    "reaction_added": (("reaction_added",), ("reactions:read",)),
    "reaction_removed": (("reaction_removed",), ("reactions:read",)),
    "member_joined_channel": (("member_joined_channel",), ("channels:read",)),
    "channel_created": (("channel_created",), ("channels:read",)),
    "team_join": (("team_join",), ("users:read",)),
    "pin_added": (("pin_added",), ("pins:read",)),
    "app_home_opened": (("app_home_opened",), ()),
}


def build_manifest(flows: FlowSet, *, base_url: str, name: str = "Passerelle") -> dict[str, Any]:
    """A manifest (Slack's schema, as a dict) for the enabled flows, served at ``base_url``."""
    base = base_url.rstrip("/")
    scopes: set[str] = set()
    commands: dict[str, dict[str, Any]] = {}
    shortcuts: dict[str, dict[str, Any]] = {}
    bot_events: set[str] = set()
    interactive = False
    for flow in sorted(flows.flows.values(), key=lambda f: f.name):
        if not flow.enabled:
            continue
        for step in flow.steps:
            scopes.update(ACTION_SCOPES.get(step.use, ()))
        trigger = flow.trigger
        if isinstance(trigger, SlackCommandTrigger):
            scopes.add("commands")
            interactive = interactive or trigger.modal is not None
            entry = commands.setdefault(trigger.command, {
                "command": trigger.command, "url": f"{base}/slack/commands",
                "description": (trigger.description or flow.description
                                or f"Runs the {flow.name} flow")[:2000],
                "should_escape": False,
            })
            if trigger.usage_hint and "usage_hint" not in entry:
                entry["usage_hint"] = trigger.usage_hint[:1000]
        elif isinstance(trigger, SlackShortcutTrigger):
            scopes.add("commands")
            interactive = True
            shortcuts.setdefault(trigger.callback_id, {
                "name": (trigger.name or flow.name)[:24], "type": trigger.type,
                "callback_id": trigger.callback_id,
                "description": (trigger.description or flow.description
                                or f"Runs the {flow.name} flow")[:150],
            })
        elif isinstance(trigger, SlackEventTrigger):
            events, needed = EVENT_SUBSCRIPTIONS.get(trigger.type, ((trigger.type,), ()))
            bot_events.update(events)
            scopes.update(needed)
        elif trigger.kind == "slack.view":
            interactive = True
    features: dict[str, Any] = {"bot_user": {"display_name": name, "always_online": True}}
    if commands:
        features["slash_commands"] = list(commands.values())
    if shortcuts:
        features["shortcuts"] = list(shortcuts.values())
    settings: dict[str, Any] = {}
    if bot_events:
        settings["event_subscriptions"] = {"request_url": f"{base}/slack/events",
                                           "bot_events": sorted(bot_events)}
    settings["interactivity"] = {"is_enabled": interactive or bool(shortcuts)}
    if settings["interactivity"]["is_enabled"]:
        settings["interactivity"]["request_url"] = f"{base}/slack/interactions"
    settings.update(org_deploy_enabled=False, socket_mode_enabled=False,
                    token_rotation_enabled=False)
    return {
        "_metadata": {"major_version": 1, "minor_version": 1},
        "display_information": {
            "name": name,
            "description": "Typed once, lands everywhere: Slack to Notion and back.",
            "background_color": "#2c2d30",
        },
        "features": features,
        # A bot user needs at least one scope; posting is what every flow ends up doing.
        "oauth_config": {"scopes": {"bot": sorted(scopes or {"chat:write"})}},
        "settings": settings,
    }
