"""``passerelle slack manifest`` and ``passerelle slack sign``."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from app.cli import cli
from app.receivers.slack_verify import SANDBOX_SIGNING_SECRET, verify

FLOWS = {
    "feedback.yaml": """
name: feedback
description: Save feedback
on:
  slack.command: {command: /feedback, usage_hint: "<text> #tag",
                  modal: {title: Feedback, fields: [{name: text, label: Text}]}}
steps:
  - use: slack.respond
    with: {text: ok}
""",
    "feedback-again.yaml": """
name: feedback-urgent
on:
  slack.command: {command: /feedback, text: "urgent"}
steps:
  - use: slack.lookup_user
    with: {id: "{{ event.user_id }}"}
""",
    "save.yaml": """
name: save
on:
  slack.shortcut: {callback_id: save_feedback, name: Save as feedback}
steps:
  - use: slack.react
    with: {name: memo}
""",
    "memo.yaml": """
name: memo
on:
  slack.event: {type: reaction_added, reaction: memo}
steps:
  - use: slack.reply
    with: {text: noted}
""",
    "questions.yaml": """
name: questions
on:
  slack.event: message
steps:
  - use: slack.post
    with: {channel: C0GENERAL, text: "{{ event.text }}"}
""",
    "off.yaml": """
name: off
enabled: false
on:
  slack.event: app_mention
steps:
  - use: slack.post
    with: {channel: C0GENERAL, text: hi}
""",
}


@pytest.fixture
def flows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # no stray .env
    folder = tmp_path / "flows"
    folder.mkdir()
    for name, text in FLOWS.items():
        (folder / name).write_text(text, encoding="utf-8")
    monkeypatch.setenv("PASSERELLE_FLOWS", str(folder))
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    monkeypatch.delenv("SLACK_SIGNING_SECRET", raising=False)
    return folder


def test_manifest_lists_what_the_flows_need(flows: Path) -> None:
    result = CliRunner().invoke(cli, ["slack", "manifest", "--url", "https://hub.example.com/"])
    assert result.exit_code == 0, result.output
    manifest = yaml.safe_load(result.stdout)
    features, settings = manifest["features"], manifest["settings"]
    assert manifest["display_information"]["name"] == "Passerelle"
    assert features["bot_user"]["display_name"] == "Passerelle"
    assert features["slash_commands"] == [{
        "command": "/feedback", "url": "https://hub.example.com/slack/commands",
        "description": "Save feedback", "should_escape": False, "usage_hint": "<text> #tag"}]
    assert features["shortcuts"] == [{
        "name": "Save as feedback", "type": "message", "callback_id": "save_feedback",
        "description": "Runs the save flow"}]
    assert manifest["oauth_config"]["scopes"]["bot"] == [
        "channels:history", "chat:write", "commands", "reactions:read", "reactions:write",
        "users:read", "users:read.email"]
    assert settings["event_subscriptions"] == {
        "request_url": "https://hub.example.com/slack/events",
        "bot_events": ["message.channels", "reaction_added"]}  # app_mention's flow is off
    assert settings["interactivity"] == {
        "is_enabled": True, "request_url": "https://hub.example.com/slack/interactions"}


def test_manifest_needs_a_url(flows: Path) -> None:
    result = CliRunner().invoke(cli, ["slack", "manifest", "--url", "hub.example.com"])
    assert result.exit_code == 2
    assert "public base URL" in result.output


def test_sign_prints_a_curl_the_receiver_accepts(flows: Path) -> None:
    result = CliRunner().invoke(cli, ["slack", "sign", "/feedback", "Export is slow",
                                      "--url", "http://127.0.0.1:9999", "--user", "U0GRACE"])
    assert result.exit_code == 0, result.output
    args = shlex.split(result.stdout.strip().splitlines()[0])
    assert args[:5] == ["curl", "-sS", "-X", "POST", "http://127.0.0.1:9999/slack/commands"]
    headers = {k.strip().lower(): v.strip() for k, v in (
        args[i + 1].split(":", 1) for i, a in enumerate(args) if a == "-H")}
    body = args[args.index("--data-raw") + 1].encode()
    verify(SANDBOX_SIGNING_SECRET, headers, body)  # raises when the signature is wrong
    assert b"user_id=U0GRACE" in body and b"text=Export+is+slow" in body
    assert b"response_url=http%3A%2F%2F127.0.0.1%3A9999%2Fsandbox%2Fslack%2Fresponse%2F" in body


def test_sign_refuses_live_mode_without_signing_secret(flows: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-real-looking-token")
    result = CliRunner().invoke(cli, ["slack", "sign", "/feedback", "hi"])
    assert result.exit_code == 1
    assert "SLACK_SIGNING_SECRET" in result.output
    assert "xoxb-real-looking-token" not in result.output


def test_sign_defaults_to_passerelle_url(flows: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PASSERELLE_URL", "http://127.0.0.1:9876/")
    result = CliRunner().invoke(cli, ["slack", "sign", "/feedback", "hi"])
    assert result.exit_code == 0, result.output
    assert "http://127.0.0.1:9876/slack/commands" in result.stdout
