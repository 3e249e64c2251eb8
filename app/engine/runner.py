"""Executing a flow's steps for one event, resuming after checkpointed steps.

This is pure orchestration: rendering inputs, validating them, calling the action, timing it.
Where results go (the store, a test case's recorder, a dry-run printout) is the caller's
choice, through ``on_step`` and ``invoke``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from app.engine import expressions
from app.engine.model import Flow
from app.errors import ConnectorError, PermanentError, RetryableError
from app.events import Event, utcnow
from app.metrics import STEP_SECONDS
from app.redact import Redactor
from app.store.records import StepRecord
from connectors.base import Action, ActionContext
from connectors.ratelimit import INTERACTIVE

Invoke = Callable[[Action, BaseModel, ActionContext], Awaitable[dict[str, Any]]]
OnStep = Callable[[StepRecord], Awaitable[None]]


@dataclass
class Outcome:
    ok: bool
    error: BaseException | None = None
    step: str | None = None
    outputs: dict[str, Any] = field(default_factory=dict)
    # Set when a step ended the run early on purpose (``passerelle.stop``): why, for the run.
    stopped: str | None = None

    @property
    def message(self) -> str:
        if self.error is None:
            return ""
        text = str(self.error) or type(self.error).__name__
        return f"step {self.step}: {text}" if self.step else text


def render_vars(flow: Flow, event: Event) -> dict[str, Any]:
    """A flow's ``vars``, computed once per execution from the event (they see no steps)."""
    rendered: dict[str, Any] = {}
    base = {"event": event.data, "trigger": event.envelope(), "steps": {}, "vars": rendered}
    for name, value in flow.vars.items():  # in order: a var may read the ones above it
        rendered[name] = expressions.render(value, base)
    return rendered


def stop_reason(output: Any) -> str | None:
    """The reason a step's output gives for ending its run here (``{"stop_run": reason}``)."""
    if isinstance(output, dict) and isinstance(output.get("stop_run"), str):
        return str(output["stop_run"])
    return None


def _flow_condition(flow: Flow, event: Event, variables: dict[str, Any]) -> None:
    """Raise when the flow's ``if:`` cannot be evaluated: the run shows why instead of the
    event silently matching nothing (a false condition never got this far)."""
    if flow.if_ is None or isinstance(flow.if_, bool):
        return
    ctx = {"event": event.data, "trigger": event.envelope(), "steps": {}, "vars": variables}
    try:
        expressions.truthy(flow.if_, ctx)
    except Exception as exc:
        raise PermanentError(f"the flow's 'if: {flow.if_}' failed: "
                             f"{type(exc).__name__}: {exc}") from None


def _input_error(action: Action, exc: ValidationError) -> PermanentError:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "input"
        parts.append(f"'{where}': {err['msg']}")
    return PermanentError(f"{action.full_name}: invalid input: " + "; ".join(parts))


async def execute_steps(
    flow: Flow,
    event: Event,
    *,
    run_id: str,
    attempt: int,
    actions: Mapping[str, Action],
    invoke: Invoke,
    on_step: OnStep,
    done: Mapping[str, StepRecord] | None = None,
    redactor: Redactor | None = None,
    dry_run: bool = False,
) -> Outcome:
    """Run the steps not yet done; stop at the first error and report it."""
    redactor = redactor or Redactor()
    done = done or {}
    outputs: dict[str, Any] = {}
    variables: dict[str, Any] | None = None
    for position, step in enumerate(flow.steps):
        if step.id in done and done[step.id].status in ("succeeded", "skipped"):
            outputs[step.id] = done[step.id].output
            if (reason := stop_reason(outputs[step.id])) is not None:
                return Outcome(ok=True, outputs=outputs, step=step.id, stopped=reason)
            continue
        call = _Call(flow, event, step, position, run_id=run_id, attempt=attempt,
                     actions=actions, invoke=invoke, on_step=on_step, redactor=redactor,
                     dry_run=dry_run)
        try:
            if variables is None:  # a failure here fails the first step still to run
                variables = render_vars(flow, event)
                _flow_condition(flow, event, variables)
            ctx = {"event": event.data, "trigger": event.envelope(), "steps": dict(outputs),
                   "vars": variables}
            if step.for_each is None:
                outputs[step.id] = await call.once(ctx, step.id)
                if (reason := stop_reason(outputs[step.id])) is not None:
                    return Outcome(ok=True, outputs=outputs, step=step.id, stopped=reason)
                continue
            items = expressions.render(step.for_each, ctx)
            if items is None:
                items = []
            if not isinstance(items, list | tuple):
                raise PermanentError(f"for_each must give a list (got {type(items).__name__})")
            results = []
            for index, item in enumerate(items):
                key = f"{step.id}[{index}]"
                if key in done and done[key].status in ("succeeded", "skipped"):
                    results.append(done[key].output)
                    continue
                results.append(await call.once({**ctx, "item": item, "index": index}, key))
            outputs[step.id] = results
            await call.record(step.id, "succeeded", utcnow(), output=results)
        except _StepFailed as failed:
            return Outcome(ok=False, error=failed.error, step=failed.step, outputs=outputs)
        except Exception as exc:
            # `vars` or `for_each` that cannot be rendered fail this step like any other error
            # (escaping here would leave the run to its lease and retry it forever).
            error = exc if isinstance(exc, ConnectorError) else PermanentError(
                f"{type(exc).__name__}: {exc}")
            await call.record(step.id, "failed", utcnow(), error=str(error))
            return Outcome(ok=False, error=error, step=step.id, outputs=outputs)
    return Outcome(ok=True, outputs=outputs)


class _StepFailed(Exception):
    def __init__(self, step: str, error: BaseException) -> None:
        self.step = step
        self.error = error


@dataclass
class _Call:
    """One step's action call, with its checkpoint (one per item for ``for_each``)."""

    flow: Flow
    event: Event
    step: Any
    position: int
    run_id: str
    attempt: int
    actions: Mapping[str, Action]
    invoke: Invoke
    on_step: OnStep
    redactor: Redactor
    dry_run: bool

    async def record(self, key: str, status: str, started: Any, **kw: Any) -> None:
        for name in ("input", "output"):
            if name in kw:
                kw[name] = self.redactor.value(kw[name])
        if "error" in kw:
            kw["error"] = self.redactor.excerpt(kw["error"])
        await self.on_step(StepRecord(key, self.position, self.step.use, status, self.attempt,
                                      started, utcnow(), **kw))

    async def once(self, ctx: Mapping[str, Any], key: str) -> Any:
        step = self.step
        started = utcnow()
        action = self.actions.get(step.use)
        inputs: Any = None
        try:
            if action is None:
                raise PermanentError(f"unknown action '{step.use}'")
            if not expressions.truthy(step.if_, ctx):
                await self.record(key, "skipped", started)
                return None
            inputs = expressions.render(step.with_, ctx)
            try:
                model = action.input_model.model_validate(inputs)
            except ValidationError as exc:
                raise _input_error(action, exc) from None
            call_ctx = ActionContext(run_id=self.run_id, flow=self.flow.name, step_id=key,
                                     attempt=self.attempt, event=self.event.data,
                                     trigger=self.event.envelope(), dry_run=self.dry_run)
            t0 = time.perf_counter()
            outcome = "error"
            try:
                # A person waits for a Slack-triggered run: its API calls go first.
                interactive = INTERACTIVE.set(self.event.interactive)
                try:
                    async with asyncio.timeout(step.timeout):
                        output = await self.invoke(action, model, call_ctx)
                finally:
                    INTERACTIVE.reset(interactive)
                outcome = "ok"
            except TimeoutError:
                raise RetryableError(f"{step.use} timed out after {step.timeout:g}s") from None
            finally:
                STEP_SECONDS.labels(step.use, outcome).observe(time.perf_counter() - t0)
        except Exception as exc:
            error = exc if isinstance(exc, ConnectorError) else PermanentError(
                f"{type(exc).__name__}: {exc}")
            await self.record(key, "failed", started, input=inputs, error=str(error))
            raise _StepFailed(key, error) from exc
        await self.record(
            key, "succeeded", started, input=inputs, output=output,
            # A double entry avoided (a KPI): an existing item found again, not a page that
            # many items share (``shared``, e.g. a sprint's retro page).
            deduplicated=bool(isinstance(output, dict) and output.get("deduplicated")
                              and not output.get("shared")),
        )
        return output
