"""for_each steps: one call per item, each checkpointed, resumed after the last item done."""

from __future__ import annotations

from typing import Any

from app.engine.loader import lint_text
from app.engine.runner import execute_steps
from app.errors import RetryableError
from app.events import Event
from app.store import StepRecord
from connectors.registry import all_actions

FLOW = """
name: notify
on:
  webhook: shipped
steps:
  - id: notify
    use: http.request
    for_each: "{{ event.people }}"
    if: "item != 'skip-me'"
    with:
      url: "https://example.com/{{ item }}"
      json: {n: "{{ index }}"}
  - id: after
    use: http.request
    with:
      url: "https://example.com/done"
      json: {count: "{{ steps.notify | length }}"}
"""


def _flow():
    flow, problems = lint_text("notify.yaml", FLOW, env=lambda _: None, actions=all_actions())
    assert problems == []
    return flow


async def test_each_item_called_and_checkpointed() -> None:
    calls: list[str] = []
    records: list[StepRecord] = []

    async def invoke(action: Any, inputs: Any, ctx: Any) -> dict[str, Any]:
        calls.append(str(inputs.url))
        return {"status": 200, "key": ctx.idempotency_key}

    async def on_step(rec: StepRecord) -> None:
        records.append(rec)

    event = Event(source="shipped", type="webhook", dedupe_key="k",
                  data={"people": ["ada", "skip-me", "grace"]})
    out = await execute_steps(_flow(), event, run_id="r1", attempt=1, actions=all_actions(),
                              invoke=invoke, on_step=on_step)
    assert out.ok
    assert calls == ["https://example.com/ada", "https://example.com/grace",
                     "https://example.com/done"]
    by_key = {r.step_id: r.status for r in records}
    assert by_key == {"notify[0]": "succeeded", "notify[1]": "skipped",
                      "notify[2]": "succeeded", "notify": "succeeded", "after": "succeeded"}
    assert out.outputs["notify"][0]["key"] == "r1:notify[0]"
    assert out.outputs["notify"][1] is None


async def test_retry_resumes_after_last_item_done() -> None:
    calls: list[str] = []

    async def failing(action: Any, inputs: Any, ctx: Any) -> dict[str, Any]:
        calls.append(str(inputs.url))
        if str(inputs.url).endswith("grace"):
            raise RetryableError("busy")
        return {"ok": True}

    records: dict[str, StepRecord] = {}

    async def on_step(rec: StepRecord) -> None:
        records[rec.step_id] = rec

    event = Event(source="shipped", type="webhook", dedupe_key="k",
                  data={"people": ["ada", "grace"]})
    first = await execute_steps(_flow(), event, run_id="r1", attempt=1, actions=all_actions(),
                                invoke=failing, on_step=on_step)
    assert not first.ok and first.step == "notify[1]"
    calls.clear()

    async def fine(action: Any, inputs: Any, ctx: Any) -> dict[str, Any]:
        calls.append(str(inputs.url))
        return {"ok": True}

    done = {k: v for k, v in records.items() if v.status == "succeeded"}
    second = await execute_steps(_flow(), event, run_id="r1", attempt=2, actions=all_actions(),
                                 invoke=fine, on_step=on_step, done=done)
    assert second.ok
    assert calls == ["https://example.com/grace", "https://example.com/done"]


def test_item_outside_for_each_is_a_lint_error() -> None:
    text = FLOW.replace('url: "https://example.com/done"', 'url: "https://x/{{ item }}"')
    _, problems = lint_text("notify.yaml", text, env=lambda _: None, actions=all_actions())
    assert [str(p) for p in problems] == [
        "notify.yaml:16: unknown name item in template (templates can read: event, now, "
        "steps, trigger, vars)"
    ]
