"""``check --live``: Notion property names and static values against schemas, with file:line."""

from __future__ import annotations

from pathlib import Path

import respx

from app.engine.live import live_problems
from app.engine.loader import load_flows
from app.settings import Settings
from connectors.registry import Connectors

FLOW = """\
name: file-feedback
on:
  webhook: typeform
steps:
  - id: page
    use: notion.upsert_page
    with:
      database: Feedback
      key: "{{ event.id }}"
      properties:
        Name: "{{ event.title }}"
        Importanse: High
        Status: Someday
        Created: "2026-01-01"
        Tags: "{{ event.tags }}"
  - use: notion.find_pages
    with:
      database: Roadmap
"""

TRIGGER_FLOW = """\
name: shipped
on:
  notion.page:
    database: Releases
    changed: State
steps:
  - use: notion.get_page
    with: {page: "{{ event.page_id }}"}
"""


def lines(problems: list) -> list[tuple[int, str]]:
    return [(p.line, p.message) for p in problems]


async def test_sandbox_schemas_come_from_the_seed(tmp_path: Path) -> None:
    (tmp_path / "file-feedback.yaml").write_text(FLOW)
    (tmp_path / "shipped.yaml").write_text(TRIGGER_FLOW)
    settings = Settings(_env_file=None, flows=tmp_path)  # type: ignore[call-arg]
    connectors = Connectors(settings)
    flows = load_flows(tmp_path, env=settings.env, actions=connectors.actions)
    assert flows.problems == []
    problems = await live_problems(flows, connectors)
    by_line = {(Path(p.file).name, p.line): p.message for p in problems}
    assert all(str(p).startswith(str(tmp_path)) for p in problems)
    assert 'no property "State"' in by_line[("shipped.yaml", 5)]
    assert 'no property "Importanse"' in by_line[("file-feedback.yaml", 12)]
    status = by_line[("file-feedback.yaml", 13)]
    assert 'Property "Status" (status)' in status and "'Someday'" in status
    assert "computed by Notion" in by_line[("file-feedback.yaml", 14)]
    assert "'Roadmap' is not in the sandbox seed" in by_line[("file-feedback.yaml", 18)]
    assert len(problems) == 5  # templates (Name, Tags) are checked at run time


@respx.mock(assert_all_called=False)
async def test_live_schema_is_fetched(respx_mock: respx.MockRouter, tmp_path: Path) -> None:
    ds = {
        "object": "data_source", "id": "22222222-2222-2222-2222-222222222222",
        "parent": {"type": "database_id", "database_id": "1" * 32},
        "title": [{"plain_text": "Feedback"}],
        "properties": {"Name": {"type": "title", "title": {}},
                       "External ID": {"type": "rich_text", "rich_text": {}},
                       "Status": {"type": "status", "status": {"options": [{"name": "New"}]}}},
    }
    respx_mock.post("https://api.notion.com/v1/search").respond(200, json={
        "object": "list", "results": [ds], "has_more": False, "next_cursor": None})
    (tmp_path / "file-feedback.yaml").write_text(FLOW.split("  - use: notion.find_pages")[0])
    settings = Settings(_env_file=None, flows=tmp_path,  # type: ignore[call-arg]
                        notion_token="ntn_live_check")
    connectors = Connectors(settings)
    flows = load_flows(tmp_path, env=settings.env, actions=connectors.actions)
    found = dict(lines(await live_problems(flows, connectors)))
    assert set(found) == {12, 13, 14, 15}  # Tags: unknown here, even with a template value
    assert 'no property "Importanse"' in found[12] and 'no property "Created"' in found[14]


async def test_on_create_properties_are_checked_like_properties(tmp_path: Path) -> None:
    (tmp_path / "release.yaml").write_text("""\
name: release
on:
  webhook: ci
steps:
  - id: release
    use: notion.upsert_page
    with:
      database: Releases
      key: "{{ event.version }}"
      key_property: Version
      skip_empty: true
      properties:
        Version: "{{ event.version }}"
      on_create:
        Stauts: In progress
        Status: Someday
""")
    settings = Settings(_env_file=None, flows=tmp_path)  # type: ignore[call-arg]
    connectors = Connectors(settings)
    flows = load_flows(tmp_path, env=settings.env, actions=connectors.actions)
    assert flows.problems == []
    messages = [(p.line, p.message) for p in await live_problems(flows, connectors)]
    assert [line for line, _ in messages] == [15, 16]
    assert 'no property "Stauts"' in messages[0][1]
    assert "Someday" in messages[1][1]
