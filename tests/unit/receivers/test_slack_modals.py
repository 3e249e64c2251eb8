"""Declarative modals: rendering, reading ``view.state.values`` back, field errors; and the
v0 signature check."""

from __future__ import annotations

import json

import pytest

from app.engine.triggers import ModalSpec
from app.errors import Unauthorized
from app.receivers.slack_modals import (
    MAX_METADATA,
    decode_metadata,
    encode_metadata,
    field_errors,
    parse_values,
    render_view,
)
from app.receivers.slack_verify import sign, verify

SPEC = ModalSpec.model_validate({
    "title": "Feedback", "submit": "Save", "fields": [
        {"name": "summary", "label": "Summary", "type": "long_text", "placeholder": "What?",
         "validate": [{"if": "value | length <= 20", "message": "Keep it under 20."}]},
        {"name": "area", "label": "Area", "type": "select", "options": ["Reporting", "Billing"],
         "initial": "Billing"},
        {"name": "tags", "label": "Tags", "type": "multi_select", "options": ["ux", "perf"],
         "required": False},
        {"name": "owner", "label": "Owner", "type": "user", "required": False},
        {"name": "due", "label": "Due", "type": "date", "required": False},
        {"name": "urgent", "label": "Urgent", "type": "checkbox", "required": False},
    ]})


def state(**actions: dict) -> dict:
    return {"values": {name: {name: action} for name, action in actions.items()}}


def test_render_view_is_block_kit_keyed_by_field_name() -> None:
    view = render_view(SPEC, callback_id="fb", metadata={"flow": "feedback", "channel": "C1"})
    assert view["type"] == "modal" and view["callback_id"] == "fb"
    assert view["title"]["text"] == "Feedback" and view["submit"]["text"] == "Save"
    assert json.loads(view["private_metadata"]) == {"flow": "feedback", "channel": "C1"}
    blocks = {b["block_id"]: b for b in view["blocks"]}
    assert list(blocks) == ["summary", "area", "tags", "owner", "due", "urgent"]
    assert all(b["type"] == "input" and b["element"]["action_id"] == b["block_id"]
               for b in blocks.values())
    assert blocks["summary"]["element"] == {"type": "plain_text_input", "multiline": True,
                                            "action_id": "summary", "placeholder": {
                                                "type": "plain_text", "text": "What?",
                                                "emoji": True}}
    assert blocks["area"]["element"]["type"] == "static_select"
    assert blocks["area"]["element"]["initial_option"]["value"] == "Billing"
    assert blocks["tags"]["optional"] is True and blocks["summary"]["optional"] is False
    assert [blocks[n]["element"]["type"] for n in ("tags", "owner", "due", "urgent")] == [
        "multi_static_select", "users_select", "datepicker", "checkboxes"]


def test_parse_values_by_field_type() -> None:
    values = parse_values(state(
        summary={"type": "plain_text_input", "value": "Slow export"},
        area={"type": "static_select", "selected_option": {"value": "Reporting"}},
        tags={"type": "multi_static_select", "selected_options": [{"value": "perf"}]},
        owner={"type": "users_select", "selected_user": "U0ADA"},
        due={"type": "datepicker", "selected_date": "2025-01-31"},
        urgent={"type": "checkboxes", "selected_options": [{"value": "Urgent"}]},
    ), SPEC)
    assert values == {"summary": "Slow export", "area": "Reporting", "tags": ["perf"],
                      "owner": "U0ADA", "due": "2025-01-31", "urgent": True}
    empty = parse_values(state(summary={"type": "plain_text_input", "value": None}), SPEC)
    assert empty == {"summary": None, "area": None, "tags": [], "owner": None, "due": None,
                     "urgent": False}
    assert field_errors(SPEC, empty) == {"summary": "Summary is required.",
                                         "area": "Area is required."}


def test_field_checks_and_foreign_options() -> None:
    values = {"summary": "x" * 21, "area": "Sales", "tags": [], "owner": None, "due": None,
              "urgent": False}
    assert field_errors(SPEC, values) == {"summary": "Keep it under 20.",
                                          "area": "Choose one of the listed options."}
    assert field_errors(SPEC, {**values, "summary": "fine", "area": "Billing"}) == {}


def test_field_check_conditions_are_checked_when_loading() -> None:
    with pytest.raises(ValueError, match="unknown name event"):
        ModalSpec.model_validate({"title": "T", "fields": [
            {"name": "a", "label": "A", "validate": [{"if": "event.text", "message": "m"}]}]})


def test_metadata_stays_within_slacks_limit() -> None:
    meta = {"flow": "f", "channel": "C1", "user": "U1",
            "message": {"ts": "1.2", "text": "é" * 5000}}
    raw = encode_metadata(meta)
    assert len(raw) <= MAX_METADATA
    back = decode_metadata(raw)
    assert back["channel"] == "C1" and back["message"]["text"].endswith("…")
    assert decode_metadata("not json") == {} and decode_metadata(None) == {}


def test_verify_accepts_fresh_signatures_only() -> None:
    body = b"command=%2Ffeedback&text=hi"
    headers = {k.lower(): v for k, v in sign("s3cret", body, timestamp=1_000_000).items()}
    verify("s3cret", headers, body, clock=lambda: 1_000_000 + 299)
    for clock, secret, sent in [(1_000_000 + 301, "s3cret", body),
                                (1_000_000, "other", body),
                                (1_000_000, "s3cret", body + b"x")]:
        with pytest.raises(Unauthorized):
            verify(secret, headers, sent, clock=lambda c=clock: c)
    with pytest.raises(Unauthorized, match="malformed"):
        verify("s3cret", {**headers, "x-slack-request-timestamp": "12abc"}, body)
    with pytest.raises(Unauthorized, match="missing"):
        verify("s3cret", {}, body)
