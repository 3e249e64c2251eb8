"""A team living in the sandbox: acting as people from the CLI (through the hub's public
routes, signed), the stand-ins' state surviving a restart, and `passerelle sandbox reset`.

The CLI runs in-process (Typer's runner) against a real served hub found by PASSERELLE_URL.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from app.cli import cli
from app.receivers.notion_poll import SNAPSHOTS
from connectors.notion.properties import page_to_plain

FLOWS_DIR = Path(__file__).resolve().parents[2] / "flows"
SHIPPED = {p.name: p.read_text(encoding="utf-8") for p in FLOWS_DIR.glob("*.yaml")}
ADA = "3f1e6a4c-8b52-4d0e-a7c1-2b9d5e8f0a11"


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch) -> Callable[[Any], None]:
    def point_at(hub: Any) -> None:
        s = hub.settings
        monkeypatch.setenv("PASSERELLE_URL", hub.url)
        monkeypatch.setenv("PASSERELLE_DATABASE_URL", s.database_url)
        monkeypatch.setenv("PASSERELLE_FLOWS", str(s.flows))
        monkeypatch.setenv("PASSERELLE_ADMIN_TOKEN", s.admin_token.get_secret_value())
        for name in ("NOTION_TOKEN", "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"):
            monkeypatch.delenv(name, raising=False)
    return point_at


def run(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output.strip()


def settle(hub: Any, timeout: float = 30) -> list[dict[str, Any]]:
    """Wait until no run is queued, running or retrying; no run may have failed."""
    deadline = time.monotonic() + timeout
    with httpx.Client(base_url=hub.url, headers=hub.admin, timeout=30) as c:
        while True:
            runs = c.get("/api/runs", params={"limit": 500}).json()["runs"]
            if runs and not [r for r in runs if r["status"] in ("queued", "running",
                                                                  "retrying")]:
                failed = [(r["flow"], r["error"]) for r in runs if r["status"] == "failed"]
                assert not failed, failed
                return list(runs)
            assert time.monotonic() < deadline, runs
            time.sleep(0.1)


def feedback(hub: Any) -> list[dict[str, Any]]:
    sandbox = hub.app.state.notion_sandbox
    source = sandbox.data_source_by_title("Feedback")["id"]
    return [page_to_plain(p) for p in sandbox.pages(source) if not p["in_trash"]]


def test_people_act_from_the_cli_and_the_sandbox_survives_a_restart(
    hub_factory: Any, cli_env: Callable[[Any], None], tmp_path: Path
) -> None:
    with hub_factory(SHIPPED) as hub:
        cli_env(hub)
        # `notion setup` in the sandbox finds the seeded databases, creates no second set.
        found = run("notion", "setup")
        assert "checked  Feedback" in found and "created" not in found
        sandbox = hub.app.state.notion_sandbox
        assert [s["database"] for s in sandbox.summary()].count("Feedback") == 1
        # Grace posts in #product-feedback as a person (not as the bot) ...
        ts = run("slack", "send", "message", "--channel", "#product-feedback", "--user",
                 "U0GRACE", "Acme wants SSO on the Team plan #security")
        assert ts.count(".") == 1
        person_posts = [m for m in hub.app.state.slack_sandbox.messages()
                        if m["kind"] == "person"]
        assert [(m["user"], m["ts"]) for m in person_posts] == [("U0GRACE", ts)]
        # ... Ada saves it with the message shortcut, then reacts with 📝: one page.
        run("slack", "send", "shortcut", "save_feedback", "--channel", "C0FEEDBACK",
            "--ts", ts, "--user", "ada")
        settle(hub)
        run("slack", "send", "reaction", "--name", "memo", "--channel", "C0FEEDBACK",
            "--ts", ts, "--user", "U0ADA")
        settle(hub)
        sso = [p for p in feedback(hub) if "SSO" in p["properties"]["Name"]]
        assert len(sso) == 1, feedback(hub)
        # A slash command as Ada.
        run("slack", "send", "command", "/feedback", "Dark mode please #mobile")
        settle(hub)
        [dark] = [p for p in feedback(hub) if "Dark mode" in p["properties"]["Name"]]
        # A product manager triages it in Notion, as a person.
        out = run("notion", "edit", dark["id"], "--set", "Status=Triaged",
                  "--set", "Importance=High", "--as", "ada@example.com")
        assert "Ada Lovelace" in out
        page = hub.app.state.notion_sandbox.pages(
            hub.app.state.notion_sandbox.data_source_by_title("Feedback")["id"])
        [edited] = [p for p in page if p["id"] == dark["id"]]
        assert edited["last_edited_by"]["id"] == ADA
        assert page_to_plain(edited)["properties"]["Status"] == "Triaged"
        before = {p["id"] for p in feedback(hub)}
        messages = hub.app.state.slack_sandbox.messages()
    # A restart keeps the pages and the messages (same store).
    with hub_factory(SHIPPED, database_url=hub.settings.database_url) as again:
        cli_env(again)
        assert {p["id"] for p in feedback(again)} == before
        assert again.app.state.slack_sandbox.messages() == messages
        # The shortcut still finds Grace's message after the restart.
        run("slack", "send", "shortcut", "save_feedback", "--channel", "C0FEEDBACK",
            "--ts", ts, "--user", "ada")
        settle(again)
        assert len([p for p in feedback(again) if "SSO" in p["properties"]["Name"]]) == 1
        # Starting over.
        assert "reset" in run("sandbox", "reset", "--yes")
        assert feedback(again) == []
        assert again.app.state.slack_sandbox.messages() == []
    with hub_factory(SHIPPED, database_url=hub.settings.database_url) as third:
        assert feedback(third) == []


def test_bad_people_actions_are_refused_clearly(hub_factory: Any,
                                                cli_env: Callable[[Any], None]) -> None:
    with hub_factory(SHIPPED) as hub:
        cli_env(hub)
        for args, expected in [
            (("slack", "send", "message", "--user", "U0NOBODY", "hi"), "unknown Slack user"),
            (("slack", "send", "message", "--channel", "#nowhere", "hi"), "unknown channel"),
            (("slack", "send", "reaction", "--name", "memo", "--ts", "1.000001"),
             "no message 1.000001"),
            (("notion", "edit", "0" * 32, "--set", "Status=x", "--as", "nobody"),
             "unknown person"),
            (("notion", "edit", "0" * 32, "--set", "Status", "--as", "ada"), "Property=value"),
        ]:
            result = CliRunner().invoke(cli, list(args))
            assert result.exit_code != 0, args
            assert expected in result.output, (args, result.output)




TRIAGED = """
name: triaged
on:
  notion.page: {database: Feedback, changed: Status, to: Triaged}
steps:
  - id: tell
    use: slack.post
    with: {channel: C0RELEASES, text: "Triaged by a person"}
"""


def test_notion_edit_as_a_person_fires_notion_triggers(
        hub_factory: Any, cli_env: Callable[[Any], None]) -> None:
    with hub_factory({"triaged.yaml": TRIAGED}) as hub:
        cli_env(hub)
        sandbox = hub.app.state.notion_sandbox
        source = sandbox.data_source_by_title("Feedback")["id"]
        with httpx.Client(base_url=f"{hub.url}/sandbox/notion/v1", timeout=30, headers={
                "Authorization": "Bearer ntn_integration", "Notion-Version": "2025-09-03"}) as n:
            page = n.post("/pages", json={"parent": {"data_source_id": source}, "properties": {
                "Name": {"title": [{"text": {"content": "Dark mode"}}]}}}).json()

        async def seen() -> Any:
            async with hub.store() as store:
                return await store.kv_get(SNAPSHOTS, page["id"])

        deadline = time.monotonic() + 20
        while not asyncio.run(seen()):  # the watcher knows the page as it was
            assert time.monotonic() < deadline
            time.sleep(0.1)
        run("notion", "edit", page["id"], "--set", "Status=Triaged", "--as", "Grace Hopper")
        runs = settle(hub)
        assert [r["flow"] for r in runs] == ["triaged"]
        told = [m for m in hub.app.state.slack_sandbox.messages() if m["kind"] == "post"]
        assert [m["text"] for m in told] == ["Triaged by a person"]
