"""Running flow test cases offline: recorded calls, stand-in answers, no network, no store.

Each case loads its flow with the case's ``${VAR}`` values only (the process environment is not
read, so a case gives the same result on every machine), builds an ``Event`` of the flow's
trigger kind, checks whether the flow matches it, and executes the steps with
``runner.execute_steps`` and an ``invoke`` that records each call's validated inputs and answers
with the case's stub for that step. The run's status follows the real retry policy: a
retryable stand-in error means ``retrying``, a permanent one ``failed``. ``passerelle test`` and
the pytest plugin in ``conftest.py`` both call ``run_suite`` and print ``CaseResult.report()``.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any

from pydantic import BaseModel

from app.engine.flowtests_diff import mismatches, pretty, unified
from app.engine.flowtests_spec import CallSpec, Case, Suite, TriggerSpec, stub_error
from app.engine.loader import FlowSet, lint_text
from app.engine.model import Flow
from app.engine.retry import Retry, RetryPolicy
from app.engine.runner import execute_steps
from app.engine.triggers import ScheduleTrigger
from app.errors import PermanentError, RetryableError
from app.events import Event, new_id
from app.store.records import StepRecord
from connectors.base import Action, ActionContext


@dataclass
class Call:
    """One recorded action call: the step (``key`` is ``id[n]`` for a for_each item)."""

    step: str
    key: str
    use: str
    inputs: dict[str, Any]
    error: str | None = None

    @property
    def label(self) -> str:
        return f"{self.key} ({self.use})"


@dataclass
class CaseResult:
    file: str
    line: int
    flow: str
    case: str
    status: str = "not run"
    matched: bool = False
    error: str = ""
    calls: list[Call] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures

    @property
    def title(self) -> str:
        return f"{self.flow} / {self.case}"

    def report(self) -> str:
        """``PASS flow / case``, or ``FAIL flow / case`` with where and why, indented."""
        if self.passed:
            return f"PASS {self.title}"
        lines = [f"FAIL {self.title}", f"  at {self.file}:{self.line}"]
        lines += [f"  {line}" for line in self.failures]
        return "\n".join(lines)


def build_event(flow: Flow, spec: TriggerSpec, data: Mapping[str, Any]) -> Event:
    """The event a receiver would produce for ``data``, of the flow's trigger kind."""
    kind = spec.type or flow.trigger.kind
    source = spec.source or (getattr(flow.trigger, "source", None) if kind == "webhook"
                             else None) or kind.split(".")[0]
    payload: dict[str, Any] = copy.deepcopy(dict(data))
    extra: dict[str, Any] = {}
    if spec.id:
        extra["id"] = spec.id
    if kind == "webhook":  # the provider's event type: as stated, else what the flow waits for
        extra["kind"] = spec.event or getattr(flow.trigger, "event", None)
    if spec.received_at:
        when = spec.received_at
        extra["received_at"] = when if when.tzinfo else when.replace(tzinfo=UTC)
    if kind == "schedule" and isinstance(flow.trigger, ScheduleTrigger):
        payload.setdefault("flow", flow.name)
        payload.setdefault("cron", flow.trigger.cron)
        payload.setdefault("timezone", flow.trigger.timezone)
    user = payload.get("user_id")
    event = Event(source=source, type=kind, data=payload, dedupe_key=spec.dedupe_key or
                  f"test:{new_id()}", actor=spec.actor or (user if isinstance(user, str) else None),
                  **extra)
    if kind == "schedule":
        event.data.setdefault("slot", event.received_at.isoformat())
    return event


class _Recorder:
    """The ``invoke`` of a test run: records the call, answers with the stub."""

    def __init__(self, stubs: Mapping[str, Any]) -> None:
        self.stubs = stubs
        self.calls: list[Call] = []

    async def __call__(self, action: Action, inputs: BaseModel,
                       ctx: ActionContext) -> dict[str, Any]:
        key = ctx.step_id
        base = key.split("[", 1)[0]
        call = Call(base, key, action.full_name,
                    inputs.model_dump(mode="json", by_alias=True, exclude_none=True))
        self.calls.append(call)
        stub = self.stubs[key] if key in self.stubs else self.stubs.get(base, {})
        failure = stub_error(stub)
        if failure is not None:
            call.error = f"{failure.kind}: {failure.message}"
            if failure.kind == "retryable":
                raise RetryableError(failure.message, retry_after=failure.retry_after)
            raise PermanentError(failure.message)
        if key not in self.stubs and base not in self.stubs and \
                action.full_name == "passerelle.stop":
            # Pure and offline: the real answer, so a case sees the run end where it does.
            return {"stop_run": getattr(inputs, "reason", "")}
        answer: dict[str, Any] = copy.deepcopy(stub)
        return answer


async def _ignore(_: StepRecord) -> None:
    return None


async def run_case(suite: Suite, case: Case, *, actions: Mapping[str, Action],
                   policy: RetryPolicy | None = None) -> CaseResult:
    """Run one case and compare what happened with what it expects."""
    result = CaseResult(str(suite.path), case.line, suite.flow_name, case.name)
    assert suite.flow_file is not None
    flow, problems = lint_text(str(suite.flow_file), suite.flow_file.read_text(encoding="utf-8"),
                               env=case.env.get, actions=actions)
    if flow is None:
        result.failures = ["the flow does not load with this case's env:",
                           *(f"  {p}" for p in problems)]
        return result
    result.flow = flow.name
    event = build_event(flow, case.spec.trigger, case.event)
    result.matched = flow.name in FlowSet(flows={flow.name: flow}).matching(event)
    if not result.matched:
        result.status = "skipped"
    else:
        recorder = _Recorder(case.spec.stubs)
        try:
            outcome = await execute_steps(flow, event, run_id=f"test-{new_id()}", attempt=1,
                                          actions=actions, invoke=recorder, on_step=_ignore,
                                          dry_run=True)
        finally:
            result.calls = recorder.calls
        if outcome.ok:
            result.status = "succeeded"
        else:
            assert outcome.error is not None
            decision = (policy or RetryPolicy()).decide(outcome.error, 1)
            result.status = "retrying" if isinstance(decision, Retry) else "failed"
            result.error = outcome.message
    result.failures = compare(case, result, flow, event)
    return result


async def run_suite(suite: Suite, *, actions: Mapping[str, Action]) -> list[CaseResult]:
    return [await run_case(suite, case, actions=actions) for case in suite.cases]


def compare(case: Case, result: CaseResult, flow: Flow, event: Event) -> list[str]:
    """Readable lines for each expectation the run did not meet (empty: the case passes)."""
    expect = case.spec.expect
    out: list[str] = []
    if expect.matched is not None and expect.matched != result.matched:
        trigger = flow.trigger.model_dump(exclude_defaults=True, by_alias=True)
        out.append(f"matched: expected {str(expect.matched).lower()}, got "
                   f"{str(result.matched).lower()} (event type {event.type} from "
                   f"{event.source}; trigger {flow.trigger.kind} {trigger}"
                   + (f"; if: {flow.if_}" if flow.if_ is not None else "") + ")")
    wanted = expect.status or ("skipped" if expect.matched is False else "succeeded")
    if wanted != result.status and not out:
        out.append(f"status: expected {wanted}, got {result.status}"
                   + (f" ({result.error})" if result.error else ""))
    if expect.error_contains is not None and expect.error_contains not in result.error:
        out.append(f"error: expected it to contain {expect.error_contains!r}, got "
                   f"{result.error or 'no error'!r}")
    if expect.calls is not None:
        out += _compare_calls(expect.calls, result.calls)
    for call in result.calls:
        if call.step in expect.no_calls or call.key in expect.no_calls:
            out.append(f"step {call.label} was called, but no_calls lists it; inputs:")
            out += [f"  {line}" for line in pretty(call.inputs)]
    return out


def _compare_calls(expected: list[CallSpec], actual: list[Call]) -> list[str]:
    out: list[str] = []
    for index in range(max(len(expected), len(actual))):
        if index >= len(actual):
            want = expected[index]
            out.append(f"call {index + 1}: expected step {want.step or '?'} "
                       f"({want.use or 'any action'}), but it was not made")
            continue
        call = actual[index]
        if index >= len(expected):
            out.append(f"call {index + 1}: step {call.label} was called, but calls does not "
                       f"list it")
            continue
        want = expected[index]
        if want.step is not None and want.step not in (call.step, call.key):
            out.append(f"call {index + 1}: expected step {want.step}, got step {call.label}")
            continue
        if want.use is not None and want.use != call.use:
            out.append(f"call {index + 1}: expected {want.use}, got step {call.label}")
            continue
        if want.with_ is not None:
            found = mismatches(want.with_, call.inputs)
            if found:
                out.append(f"step {call.label}: inputs differ from expected")
                out += [f"  {line}" for line in found]
                out += [f"  {line}" for line in unified(want.with_, call.inputs)]
    if len(expected) != len(actual) or any(line.startswith("call ") for line in out):
        made = ", ".join(c.label for c in actual) or "none"
        out.append(f"calls made: {made}")
    return out


def load_actions() -> dict[str, Action]:
    """Every built-in action (lint and input models only; nothing is instantiated)."""
    from connectors.registry import all_actions

    return all_actions()
