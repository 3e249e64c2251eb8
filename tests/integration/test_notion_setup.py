"""``passerelle notion setup`` against the stand-in: create, then check what was created."""

from __future__ import annotations

from typing import Any

import pytest
from typer.testing import CliRunner

from app.cli import cli


def run(*args: str) -> Any:
    return CliRunner().invoke(cli, ["notion", "setup", *args])


def test_setup_creates_then_checks(hub_factory: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    with hub_factory() as hub:
        monkeypatch.setenv("PASSERELLE_URL", hub.url)  # where the CLI finds the hub
        monkeypatch.setenv("PASSERELLE_FLOWS", str(hub.settings.flows))
        monkeypatch.delenv("NOTION_TOKEN", raising=False)
        for name in ("NOTION_FEEDBACK_DB", "NOTION_RETROS_DB", "NOTION_RELEASES_DB"):
            monkeypatch.delenv(name, raising=False)
        sandbox = hub.app.state.notion_sandbox
        root = next(p for p in sandbox.pages() if p["parent"].get("type") == "workspace")
        made = run("--parent", f"https://www.notion.so/Root-{root['id'].replace('-', '')}")
        assert made.exit_code == 0, made.output
        env = dict(line.split("=", 1) for line in made.output.splitlines() if "_DB=" in line)
        assert set(env) == {"NOTION_FEEDBACK_DB", "NOTION_RETROS_DB", "NOTION_RELEASES_DB"}
        titles = [s["database"] for s in sandbox.summary()]
        assert titles.count("Feedback") == 2  # the seeded one and ours
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        checked = run("--check")
        assert checked.exit_code == 0, checked.output
        assert checked.output.count("checked") == 3
        # A database that lacks properties is reported, and the command fails.
        monkeypatch.setenv("NOTION_RETROS_DB", env["NOTION_RELEASES_DB"])
        wrong = run("--check")
        assert wrong.exit_code == 1
        assert 'Retros: missing property "Sprint" (rich_text)' in wrong.output
        assert 'Retros: property "Status" is status, expected select' in wrong.output


def test_setup_needs_a_parent(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    # Live mode: without --parent there is nowhere to create the databases. (In the sandbox,
    # setup finds the seeded ones instead: tests/acceptance/test_sandbox_people.py.)
    monkeypatch.setenv("PASSERELLE_FLOWS", str(tmp_path))
    monkeypatch.setenv("NOTION_TOKEN", "ntn_not_used_here")
    for name in ("NOTION_FEEDBACK_DB", "NOTION_RETROS_DB", "NOTION_RELEASES_DB"):
        monkeypatch.delenv(name, raising=False)
    out = run()
    assert out.exit_code == 2 and "--parent" in out.output


def test_setup_in_the_sandbox_says_where_it_looked(monkeypatch: pytest.MonkeyPatch,
                                                   tmp_path: Any) -> None:
    monkeypatch.setenv("PASSERELLE_FLOWS", str(tmp_path))
    monkeypatch.setenv("PASSERELLE_URL", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.delenv("NOTION_TOKEN", raising=False)
    out = run()
    assert out.exit_code == 1 and "could not reach Notion" in out.output
