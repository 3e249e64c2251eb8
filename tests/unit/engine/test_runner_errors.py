"""Errors outside an action call (vars, for_each) fail the step instead of escaping the run."""

from __future__ import annotations

from typing import Any

from app.engine.loader import lint_text
from app.engine.runner import execute_steps
from app.events import Event
from app.store import StepRecord
from connectors.registry import all_actions


async def run(flow_text: str, data: dict[str, Any]) -> tuple[Any, list[StepRecord], list[str]]:
    flow, problems = lint_text("f.yaml", flow_text, env={}.get, actions=all_actions())
    assert problems == [] and flow is not None
    records: list[StepRecord] = []
    calls: list[str] = []

    async def invoke(action: Any, inputs: Any, ctx: Any) -> dict[str, Any]:
        calls.append(ctx.step_id)
        return {}

    async def on_step(record: StepRecord) -> None:
        records.append(record)

    event = Event(source="make", type="webhook", dedupe_key="k", data=data)
    outcome = await execute_steps(flow, event, run_id="r", attempt=1, actions=all_actions(),
                                  invoke=invoke, on_step=on_step)
    return outcome, records, calls


FOR_EACH = """
name: each
on: {webhook: make}
steps:
  - id: first
    use: http.request
    with: {url: "https://example.com/a"}
  - id: tell
    use: http.request
    for_each: "{{ event.people }}"
    with: {url: "https://example.com/{{ item }}"}
"""


async def test_for_each_that_is_not_a_list_fails_the_step() -> None:
    outcome, records, calls = await run(FOR_EACH, {"people": 3})
    assert (outcome.ok, outcome.step, outcome.message) == (
        False, "tell", "step tell: for_each must give a list (got int)")
    assert [(r.step_id, r.status) for r in records] == [("first", "succeeded"),
                                                        ("tell", "failed")]
    assert calls == ["first"]


async def test_vars_that_cannot_be_rendered_fail_the_first_step() -> None:
    flow = ("name: v\non: {webhook: make}\nvars: {n: \"{{ event.n / 0 }}\"}\nsteps:\n"
            "  - id: only\n    use: http.request\n    with: {url: 'https://example.com'}\n")
    outcome, records, calls = await run(flow, {"n": 1})
    assert (outcome.ok, outcome.step) == (False, "only")
    assert outcome.message == "step only: ZeroDivisionError: division by zero"
    assert [(r.step_id, r.status) for r in records] == [("only", "failed")] and calls == []
