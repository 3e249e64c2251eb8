"""Lint that teaches: did-you-mean, every problem of a file at once, words not regex, vars in
order, Notion property names from _databases.yaml; and a flow `if:` that raises fails the run."""

from __future__ import annotations

from pathlib import Path

from app.engine.loader import lint_text, load_flows
from app.engine.model import Flow
from app.engine.runner import render_vars
from app.engine.triggers import WebhookTrigger
from app.events import Event
from connectors.registry import all_actions

ACTIONS = all_actions()


def lint(text: str, databases: dict[str, list[str]] | None = None) -> list[str]:
    flow, problems = lint_text("f.yaml", text, env={}.get, actions=ACTIONS, databases=databases)
    assert (flow is None) == bool(problems)
    return [str(p) for p in problems]


def test_misspelt_input_key_and_filter_get_suggestions() -> None:
    assert lint("name: a\non: {webhook: x}\nsteps:\n  - use: slack.post\n"
                "    with: {chanel: C1, text: hi}\n") == [
        "f.yaml:5: slack.post: input 'channel': is required",
        "f.yaml:5: slack.post: input 'chanel': unknown input (did you mean channel?)"]
    assert lint("nmae: a\non: {webhook: x}\nsteps:\n  - use: slack.post\n"
                "    with: {channel: C1, text: hi}\n")[0] == (
        "f.yaml:1: unknown key 'nmae' (did you mean name?)")
    assert lint("name: a\non:\n  webhook: {source: github, evnt: release}\nsteps:\n"
                "  - use: slack.post\n    with: {channel: C1, text: hi}\n") == [
        "f.yaml:3: trigger webhook 'webhook.evnt': unknown key (did you mean event?)"]
    assert lint("name: a\non: {webhook: x}\nsteps:\n  - use: slack.post\n"
                "    with: {channel: C1, text: hi}\n    tmeout: 5\n") == [
        "f.yaml:6: 'steps.0.tmeout': unknown key (did you mean timeout?)"]


def test_all_problems_of_a_file_at_once() -> None:
    problems = lint("name: Bad Name\non:\n  webhok: x\nsteps:\n  - use: slack.psot\n"
                    "    with: {}\n  - use: slack.post\n    wiht: {channel: C1}\n")
    assert problems == [
        "f.yaml:3: unknown trigger 'webhok' (did you mean webhook?)",
        "f.yaml:5: unknown action 'slack.psot' (did you mean slack.post?)",
        "f.yaml:7: slack.post: input 'channel': is required",
        "f.yaml:1: 'name': must be lower case letters, digits, '-' and '_', starting with a "
        "letter or digit (at most 100 characters)",
        "f.yaml:8: 'steps.1.wiht': unknown key (did you mean with?)",
    ]


def test_vars_read_earlier_vars_only() -> None:
    ok = ("name: a\non: {webhook: x}\nvars:\n  first: '{{ event.a }}'\n"
          "  both: '{{ vars.first }}-{{ event.b }}'\nsteps:\n  - use: slack.post\n"
          "    with: {channel: C1, text: '{{ vars.both }}'}\n")
    assert lint(ok) == []
    flow, _ = lint_text("f.yaml", ok, env={}.get, actions=ACTIONS)
    assert flow is not None
    event = Event(source="x", type="webhook", dedupe_key="k", data={"a": 1, "b": 2})
    assert render_vars(flow, event) == {"first": 1, "both": "1-2"}
    assert lint("name: a\non: {webhook: x}\nvars:\n  both: '{{ vars.first }}'\n"
                "  first: '{{ event.a }}'\nsteps:\n  - use: slack.post\n"
                "    with: {channel: C1, text: '{{ vars.frist }}'}\n") == [
        "f.yaml:4: vars.first is defined below this line: vars are computed in order, so a "
        "var can read only the ones above it",
        "f.yaml:8: vars.frist is not defined (did you mean first?)"]


def test_notion_property_names_are_checked_against_the_declared_databases() -> None:
    text = ("name: a\non: {webhook: x}\nsteps:\n  - use: notion.upsert_page\n    with:\n"
            "      database: Feedback\n      key: k\n      properties:\n"
            "        Name: x\n        Detials: y\n")
    dbs = {"Feedback": ["Name", "Details", "Tags"]}
    assert lint(text, dbs) == [
        "f.yaml:10: notion.upsert_page: Feedback has no property 'Detials' "
        "(did you mean Details?)"]
    assert lint(text.replace("database: Feedback", "database: Other"), dbs) == []


def test_shipped_databases_file_is_used_by_load_flows(tmp_path: Path) -> None:
    (tmp_path / "_databases.yaml").write_text(
        "databases:\n  - title: Feedback\n    properties:\n      Name: {title: {}}\n")
    (tmp_path / "f.yaml").write_text(
        "name: a\non: {webhook: x}\nsteps:\n  - use: notion.create_page\n    with:\n"
        "      database: Feedback\n      properties: {Nmae: x}\n")
    problems = [p.message for p in load_flows(tmp_path, env={}.get, actions=ACTIONS).problems]
    assert problems == ["notion.create_page: Feedback has no property 'Nmae' "
                        "(did you mean Name?)"]


async def test_a_flow_condition_that_raises_fails_the_run() -> None:
    from app.engine.runner import execute_steps

    flow = Flow.model_validate({"name": "f", "trigger": WebhookTrigger(source="x"),
                                "if": "event.n | no_such_filter",
                                "steps": [{"use": "http.request", "with": {"url": "x"}}]})
    records = []

    async def on_step(record) -> None:
        records.append(record)

    async def invoke(*_args) -> dict[str, object]:
        raise AssertionError("the step must not run")

    event = Event(source="x", type="webhook", dedupe_key="k", data={"n": 1})
    outcome = await execute_steps(flow, event, run_id="r", attempt=1, actions=ACTIONS,
                                  invoke=invoke, on_step=on_step)
    assert not outcome.ok
    assert "the flow's 'if: event.n | no_such_filter' failed" in str(outcome.error)
    assert records[0].status == "failed"


def test_notion_trigger_property_is_checked() -> None:
    text = ("name: a\non:\n  notion.page: {database: Feedback, changed: Stauts, to: Shipped}\n"
            "steps:\n  - use: slack.post\n    with: {channel: C1, text: hi}\n")
    assert lint(text, {"Feedback": ["Name", "Status"]}) == [
        "f.yaml:3: trigger notion.page: Feedback has no property 'Stauts' "
        "(did you mean Status?)"]
    assert lint(text.replace("Stauts", "Status"), {"Feedback": ["Name", "Status"]}) == []
