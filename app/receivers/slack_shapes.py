"""The shape a signed Slack interaction payload must have before anything reads it (issue 15).

A valid signature says who sent a payload, not that it is well formed: a ``view`` that is a
string or a ``message`` that is a number is refused with a 400 that names the field, instead
of failing somewhere later as a 500. Slack's interaction payloads always send these fields as
objects (https://api.slack.com/reference/interaction-payloads); events are not checked here,
as their fields change shape by event type (``channel`` is an id in ``message`` and an object
in ``channel_created``), so the event path reads them defensively instead.
"""

from __future__ import annotations

from typing import Any

from app.errors import BadRequest

_OBJECTS = ("team", "user", "channel", "message", "view", "container", "enterprise")
_STRINGS = ("type", "callback_id", "trigger_id", "response_url")
_IDS = {"team": ("id", "domain"), "user": ("id",), "channel": ("id",),
        "message": ("ts", "thread_ts", "text", "user"),
        "view": ("id", "callback_id", "private_metadata")}


def _fields(value: dict[str, Any], where: str, *, objects: tuple[str, ...] = (),
            strings: tuple[str, ...] = ()) -> None:
    for name in objects:
        if value.get(name) is not None and not isinstance(value[name], dict):
            raise BadRequest(f"'{where}.{name}' must be an object")
    for name in strings:
        if value.get(name) is not None and not isinstance(value[name], str):
            raise BadRequest(f"'{where}.{name}' must be a string")


def check_interaction(payload: dict[str, Any]) -> None:
    """Raise BadRequest unless ``payload`` has the shape the interaction handlers read."""
    _fields(payload, "payload", objects=_OBJECTS, strings=_STRINGS)
    for name, strings in _IDS.items():
        if isinstance(payload.get(name), dict):
            _fields(payload[name], f"payload.{name}", strings=strings)
    view = payload.get("view")
    if not isinstance(view, dict):
        return
    _fields(view, "payload.view", objects=("state",))
    values = (view.get("state") or {}).get("values")
    if values is None:
        return
    if not isinstance(values, dict) or not all(
            isinstance(block, dict) and all(isinstance(a, dict) for a in block.values())
            for block in values.values()):
        raise BadRequest("'payload.view.state.values' must map block ids to objects of "
                         "action objects")
    for block in values.values():
        for action_id, action in block.items():
            where = f"payload.view.state.values.*.{action_id}"
            _fields(action, where, objects=("selected_option",),
                    strings=("type", "value", "selected_user", "selected_date"))
            for name in ("selected_options", "selected_users"):
                if action.get(name) is not None and not isinstance(action[name], list):
                    raise BadRequest(f"'{where}.{name}' must be a list")
            if any(not isinstance(o, dict) for o in action.get("selected_options") or ()):
                raise BadRequest(f"'{where}.selected_options' must hold objects")
