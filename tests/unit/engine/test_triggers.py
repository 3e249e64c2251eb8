"""Trigger matching (pure: reads the event, calls nothing) and FlowSet.matching."""

from __future__ import annotations

from typing import Any

from app.engine.loader import FlowSet
from app.engine.model import Flow
from app.engine.triggers import (
    NotionPageTrigger,
    ScheduleTrigger,
    SlackCommandTrigger,
    SlackEventTrigger,
    SlackShortcutTrigger,
    SlackViewTrigger,
    WebhookTrigger,
)
from app.events import Event

MODAL = {"title": "Feedback", "fields": [{"name": "summary", "label": "Summary"}]}


def ev(type_: str, data: dict[str, Any], source: str = "slack") -> Event:
    return Event(source=source, type=type_, dedupe_key="k", data=data)


def test_webhook_matches_its_source_only() -> None:
    t = WebhookTrigger(source="typeform")
    assert t.matches(ev("webhook", {}, "typeform"), "f")
    assert not t.matches(ev("webhook", {}, "make"), "f")
    assert not t.matches(ev("slack.command", {}, "typeform"), "f")


def test_slack_command_text_filter_and_modal() -> None:
    t = SlackCommandTrigger(command="/feedback")
    assert t.matches(ev("slack.command", {"command": "/feedback", "text": "x"}), "f")
    assert not t.matches(ev("slack.command", {"command": "/retro", "text": "x"}), "f")
    only = SlackCommandTrigger(command="/retro", text=r"^(went well|to improve)\b")
    assert only.matches(ev("slack.command", {"command": "/retro", "text": "Went well: demo"}),
                        "f")  # case-insensitive
    assert not only.matches(ev("slack.command", {"command": "/retro", "text": "action x"}), "f")
    form = SlackCommandTrigger.model_validate({"command": "/feedback", "modal": MODAL})
    # The command alone opens the form (no run); the form's submission is the run.
    assert not form.matches(ev("slack.command", {"command": "/feedback", "text": "  "}), "fb")
    assert form.matches(ev("slack.command", {"command": "/feedback", "text": "slow"}), "fb")
    assert form.matches(ev("slack.view", {"view": {"callback_id": "fb"}}), "fb")
    assert not form.matches(ev("slack.view", {"view": {"callback_id": "other"}}), "fb")
    assert not t.matches(ev("slack.view", {"view": {"callback_id": "f"}}), "f")


def test_slack_event_filters() -> None:
    t = SlackEventTrigger(type="reaction_added", reaction=":memo:", channel="C1")
    hit = {"type": "reaction_added", "reaction": "memo", "item": {"channel": "C1"}}
    assert t.matches(ev("slack.event", hit), "f")
    assert not t.matches(ev("slack.event", {**hit, "reaction": "eyes"}), "f")
    assert not t.matches(ev("slack.event", {**hit, "item": {"channel": "C2"}}), "f")
    assert not t.matches(ev("slack.event", {**hit, "type": "reaction_removed"}), "f")
    assert not t.matches(ev("slack.event", {**hit, "passerelle_from_bot": True}), "f")
    assert SlackEventTrigger(type="reaction_added", include_bots=True).matches(
        ev("slack.event", {**hit, "passerelle_from_bot": True}), "f")
    text = SlackEventTrigger(type="message", text="bug")
    assert text.matches(ev("slack.event", {"type": "message", "text": "A BUG", "channel": "C"}),
                        "f")
    assert not text.matches(ev("slack.event", {"type": "message", "text": "hi"}), "f")


def test_shortcut_and_view() -> None:
    t = SlackShortcutTrigger(callback_id="save_feedback")
    assert t.matches(ev("slack.shortcut", {"callback_id": "save_feedback"}), "f")
    assert not t.matches(ev("slack.shortcut", {"callback_id": "other"}), "f")
    form = SlackShortcutTrigger.model_validate({"callback_id": "save", "modal": {
        **MODAL, "callback_id": "save_form"}})
    assert not form.matches(ev("slack.shortcut", {"callback_id": "save"}), "f")
    assert form.matches(ev("slack.view", {"view": {"callback_id": "save_form"}}), "f")
    view = SlackViewTrigger(callback_id="feedback_form")
    assert view.matches(ev("slack.view", {"view": {"callback_id": "feedback_form"}}), "f")
    assert not view.matches(ev("slack.view", {}), "f")


def test_notion_page_database_change_and_own_edits() -> None:
    db = "1a2b3c4d-0000-0000-0000-000000000001"
    changed = NotionPageTrigger.model_validate({"database": db.replace("-", "").upper(),
                                                "changed": "Status", "to": "Released"})
    page = {"database_id": db, "changes": {"Status": {"old": "Planned", "new": "Released"}}}
    assert changed.matches(ev("notion.page", page, "notion"), "f")
    assert not changed.matches(ev("notion.page", {**page, "changes": {
        "Status": {"old": "Released", "new": "Planned"}}}, "notion"), "f")
    assert not changed.matches(ev("notion.page", {**page, "changes": {"Name": {}}}, "notion"),
                               "f")
    assert not changed.matches(ev("notion.page", {**page, "by_passerelle": True}, "notion"), "f")
    assert not changed.matches(ev("notion.page", {**page, "database_id": "other"}, "notion"), "f")
    by_title = NotionPageTrigger.model_validate({"database": "Releases", "changed": "Status",
                                                 "from": "Planned"})
    assert by_title.matches(ev("notion.page", {**page, "database_title": "Releases"}, "notion"),
                            "f")
    created = NotionPageTrigger(database="Feedback", created=True)
    assert created.matches(ev("notion.page", {"database": "feedback", "created": True},
                              "notion"), "f")
    assert not created.matches(ev("notion.page", {"database": "feedback"}, "notion"), "f")


def test_schedule_matches_its_own_flow() -> None:
    t = ScheduleTrigger(cron="0 9 * * MON")
    assert t.matches(ev("schedule", {"flow": "digest"}, "schedule"), "digest")
    assert not t.matches(ev("schedule", {"flow": "other"}, "schedule"), "digest")


def flow(name: str, if_: Any = None, enabled: bool = True) -> Flow:
    return Flow.model_validate({"name": name, "trigger": WebhookTrigger(source="make"),
                                "if": if_, "enabled": enabled, "vars": {"min": 2},
                                "steps": [{"use": "http.request"}]})


def test_flowset_matching_with_if_and_enabled() -> None:
    flows = FlowSet(flows={f.name: f for f in (
        flow("always"),
        flow("big", "event.n >= vars.min"),
        flow("from-ci", "{{ trigger.source == 'make' and event.kind == 'release' }}"),
        flow("broken", "event.n | no_such_filter"),
        flow("off", enabled=False),
    )})
    # A condition that raises is not a "no": the flow runs and its run shows the error.
    assert flows.matching(ev("webhook", {"n": 3, "kind": "release"}, "make")) == [
        "always", "big", "from-ci", "broken"]
    assert flows.matching(ev("webhook", {"n": 1}, "make")) == ["always", "broken"]
    assert flows.matching(ev("webhook", {"n": 3}, "zapier")) == []
