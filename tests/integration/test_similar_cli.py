"""``passerelle similar find`` and ``reindex`` against a running sandbox hub and its store."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import notion_client
import pytest
from typer.testing import CliRunner

from app.cli import cli
from tests.acceptance.test_journeys import ADA, SHIPPED, drained, pages_of, slash


def run(*args: str) -> Any:
    return CliRunner().invoke(cli, ["similar", *args])


@pytest.fixture
def hub_env(hub_factory: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    with hub_factory(SHIPPED) as hub:
        monkeypatch.setenv("PASSERELLE_SANDBOX_URL", hub.url)
        monkeypatch.setenv("PASSERELLE_FLOWS", str(hub.settings.flows))
        monkeypatch.setenv("PASSERELLE_DATABASE_URL", hub.settings.database_url)
        for name in ("NOTION_TOKEN", "NOTION_FEEDBACK_DB"):
            monkeypatch.delenv(name, raising=False)
        yield hub


def test_find_lists_what_the_flows_indexed_best_first(hub_env: Any) -> None:
    hub = hub_env

    async def file() -> None:
        async with hub.client() as c:
            for text in ("Export to CSV is slow for big workspaces", "Add a dark mode to the app"):
                await slash(hub, c, "/feedback", text)
            await drained(hub)

    asyncio.run(file())
    out = run("find", "CSV exports take forever", "--json")
    assert out.exit_code == 0, out.output
    found = json.loads(out.output)
    assert [m["title"] for m in found] == ["Export to CSV is slow for big workspaces",
                                           "Add a dark mode to the app"]
    assert set(found[0]) == {"id", "title", "url", "score"}
    assert found[0]["score"] > found[1]["score"]
    assert found[0]["url"].startswith("https://www.notion.so/")
    assert len(json.loads(run("find", "CSV export", "--json", "--limit", "1").output)) == 1
    table = run("find", "CSV exports take forever")
    assert table.exit_code == 0 and "SCORE" in table.output and "dark mode" in table.output
    # wordless text: an empty list, not an error
    assert json.loads(run("find", "🚀", "--json").output) == []


def test_reindex_fills_the_index_from_the_feedback_database(hub_env: Any) -> None:
    hub = hub_env
    ds = hub.app.state.notion_sandbox.data_source_by_title("Feedback")["id"]

    async def write() -> None:
        # a person writes feedback straight into Notion, past the flows
        async with notion_client.AsyncClient(auth=f"person:{ADA}",
                                             base_url=f"{hub.url}/sandbox/notion") as person:
            for name, details in [("SEPA", "Support paying by SEPA direct debit, not only card"),
                                  ("Okta", "Support SAML single sign-on with Okta"),
                                  ("👍", "")]:
                await person.pages.create(
                    parent={"type": "data_source_id", "data_source_id": ds},
                    properties={"Name": {"title": [{"text": {"content": name}}]},
                                "Details": {"rich_text": [{"text": {"content": details}}]}})

    asyncio.run(write())
    before = len(pages_of(hub, "Feedback"))
    assert json.loads(run("find", "pay by bank debit", "--json").output) == []
    out = run("reindex")
    assert out.exit_code == 0, out.output
    assert f"{before} page(s) of Feedback in the sandbox stand-in: {before - 1} indexed" \
        in out.output
    found = json.loads(run("find", "European customers want to pay by bank debit",
                           "--json").output)
    assert found[0]["title"] == "SEPA"
    # again: the same index, not twice the items
    assert run("reindex").exit_code == 0
    assert len(json.loads(run("find", "anything at all here", "--json").output)) == before - 1
