"""Declarative modals: a flow's ``ModalSpec`` as a Block Kit view, and its submission back.

Each field becomes one ``input`` block whose ``block_id`` and ``action_id`` are the field's
name, so ``view.state.values`` maps back to names without a lookup table, and field errors
(``response_action: errors``) are keyed by the same name.
"""

from __future__ import annotations

import json
from typing import Any

from app.engine import expressions
from app.engine.triggers import ModalField, ModalSpec

JSON = dict[str, Any]
MAX_METADATA = 3000  # Slack's limit on a view's private_metadata


def _text(value: str) -> JSON:
    return {"type": "plain_text", "text": value, "emoji": True}


def _option(value: str) -> JSON:
    return {"text": _text(value[:75]), "value": value[:150]}


def _element(field: ModalField) -> JSON:
    kind = field.type
    element: JSON
    if kind in ("text", "long_text"):
        element = {"type": "plain_text_input", "multiline": kind == "long_text"}
        if field.initial:
            element["initial_value"] = field.initial
    elif kind in ("select", "multi_select"):
        element = {"type": "static_select" if kind == "select" else "multi_static_select",
                   "options": [_option(o) for o in field.options]}
        initial = [o for o in (field.initial or "").split(",") if o.strip() in field.options]
        if initial and kind == "select":
            element["initial_option"] = _option(initial[0].strip())
        elif initial:
            element["initial_options"] = [_option(o.strip()) for o in initial]
    elif kind == "user":
        element = {"type": "users_select"}
        if field.initial:
            element["initial_user"] = field.initial
    elif kind == "date":
        element = {"type": "datepicker"}
        if field.initial:
            element["initial_date"] = field.initial
    else:  # checkbox: one box labelled with the field's label, or one per option
        options = field.options or [field.label]
        element = {"type": "checkboxes", "options": [_option(o) for o in options]}
        if field.initial and field.initial.lower() in ("true", "yes", "1") and not field.options:
            element["initial_options"] = [_option(field.label)]
    element["action_id"] = field.name
    if field.placeholder and kind not in ("checkbox", "date"):
        element["placeholder"] = _text(field.placeholder)
    return element


def render_view(spec: ModalSpec, *, callback_id: str, metadata: JSON) -> JSON:
    """The ``view`` argument of ``views.open`` for ``spec``."""
    blocks = []
    for field in spec.fields:
        block: JSON = {"type": "input", "block_id": field.name, "label": _text(field.label),
                       "optional": not field.required, "element": _element(field)}
        if field.hint:
            block["hint"] = _text(field.hint)
        blocks.append(block)
    return {
        "type": "modal",
        "callback_id": callback_id,
        "title": _text(spec.title),
        "submit": _text(spec.submit),
        "close": _text("Cancel"),
        "private_metadata": encode_metadata(metadata),
        "blocks": blocks,
    }


def encode_metadata(metadata: JSON) -> str:
    """JSON within Slack's 3,000 characters: the message text is shortened first."""
    text = json.dumps(metadata, separators=(",", ":"), ensure_ascii=False)
    message = metadata.get("message")
    if len(text) > MAX_METADATA and isinstance(message, dict) and message.get("text"):
        over = len(text) - MAX_METADATA
        shorter = {**message, "text": str(message["text"])[: max(0, len(message["text"]) - over
                                                                  - 20)] + "…"}
        text = json.dumps({**metadata, "message": shorter}, separators=(",", ":"),
                          ensure_ascii=False)
    if len(text) > MAX_METADATA:  # still too long: keep the routing facts only
        text = json.dumps({k: metadata.get(k) for k in ("flow", "channel", "user")},
                          separators=(",", ":"))
    return text


def decode_metadata(raw: Any) -> JSON:
    """Our private_metadata back (an empty dict for views we did not open)."""
    if not isinstance(raw, str) or not raw.startswith("{"):
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _value(action: JSON) -> Any:
    kind = action.get("type")
    if kind in ("static_select", "external_select", "radio_buttons"):
        option = action.get("selected_option") or {}
        return option.get("value")
    if kind in ("multi_static_select", "multi_external_select", "checkboxes"):
        return [o.get("value") for o in action.get("selected_options") or []]
    if kind == "users_select":
        return action.get("selected_user")
    if kind == "multi_users_select":
        return action.get("selected_users") or []
    if kind == "conversations_select":
        return action.get("selected_conversation")
    if kind == "channels_select":
        return action.get("selected_channel")
    if kind == "datepicker":
        return action.get("selected_date")
    if kind == "timepicker":
        return action.get("selected_time")
    return action.get("value")


def parse_values(state: Any, spec: ModalSpec | None = None) -> JSON:
    """``view.state.values`` as ``{name: value}``; with a spec, values take the field's shape
    (a single checkbox is true/false, an empty text is None)."""
    values: JSON = {}
    for block in ((state or {}).get("values") or {}).values():
        if isinstance(block, dict):
            for action_id, action in block.items():
                if isinstance(action, dict):
                    values[action_id] = _value(action)
    if spec is not None:
        for field in spec.fields:
            value = values.get(field.name)
            if field.type == "checkbox" and not field.options:
                values[field.name] = bool(value)
            elif field.type in ("multi_select", "checkbox"):
                values[field.name] = list(value or [])
            elif isinstance(value, str) and not value.strip():
                values[field.name] = None
            else:
                values.setdefault(field.name, None)
    return values


def _empty(value: Any) -> bool:
    return value is None or value is False or value == [] or (isinstance(value, str)
                                                              and not value.strip())


def field_errors(spec: ModalSpec, values: JSON) -> dict[str, str]:
    """``{block_id: message}`` for required fields left empty and failing checks."""
    errors: dict[str, str] = {}
    for field in spec.fields:
        value = values.get(field.name)
        if _empty(value):
            if field.required:
                errors[field.name] = f"{field.label} is required."
            continue
        if field.type in ("select", "multi_select") and field.options:
            chosen = value if isinstance(value, list) else [value]
            if any(v not in field.options for v in chosen):
                errors[field.name] = "Choose one of the listed options."
                continue
        for check in field.validate_:
            try:
                ok = expressions.truthy(check.if_, {"value": value, "values": values})
            except Exception:  # a broken check refuses rather than letting bad input through
                ok = False
            if not ok:
                errors[field.name] = check.message
                break
    return errors
