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

Invoke = Callable[[Action, BaseModel, ActionContext], Awaitable[dict[str, Any]]]
OnStep = Callable[[StepRecord], Awaitable[None]]


@dataclass
class Outcome:
    ok: bool
    error: BaseException | None = None
    step: str | None = None
    outputs: dict[str, Any] = field(default_factory=dict)

    @property
    def message(self) -> str:
        if self.error is None:
            return ""
        text = str(self.error) or type(self.error).__name__
        return f"step {self.step}: {text}" if self.step else text


def context(flow: Flow, event: Event, outputs: Mapping[str, Any]) -> dict[str, Any]:
    base = {"event": event.data, "trigger": event.envelope(), "steps": dict(outputs)}
    base["vars"] = expressions.render(flow.vars, {**base, "vars": {}})
    return base


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
    for position, step in enumerate(flow.steps):
        if step.id in done and done[step.id].status in ("succeeded", "skipped"):
            outputs[step.id] = done[step.id].output
            continue
        started = utcnow()
        ctx = context(flow, event, outputs)
        action = actions.get(step.use)
        inputs: Any = None
        try:
            if action is None:
                raise PermanentError(f"unknown action '{step.use}'")
            if not expressions.truthy(step.if_, ctx):
                outputs[step.id] = None
                await on_step(StepRecord(step.id, position, step.use, "skipped", attempt,
                                         started, utcnow()))
                continue
            inputs = expressions.render(step.with_, ctx)
            try:
                model = action.input_model.model_validate(inputs)
            except ValidationError as exc:
                raise _input_error(action, exc) from None
            call_ctx = ActionContext(run_id=run_id, flow=flow.name, step_id=step.id,
                                     attempt=attempt, event=event.data, trigger=event.envelope(),
                                     dry_run=dry_run)
            t0 = time.perf_counter()
            try:
                async with asyncio.timeout(step.timeout):
                    output = await invoke(action, model, call_ctx)
            except TimeoutError:
                raise RetryableError(f"{step.use} timed out after {step.timeout:g}s") from None
            finally:
                STEP_SECONDS.labels(step.use, "done").observe(time.perf_counter() - t0)
        except Exception as exc:
            error = exc if isinstance(exc, ConnectorError) else PermanentError(
                f"{type(exc).__name__}: {exc}")
            await on_step(StepRecord(
                step.id, position, step.use, "failed", attempt, started, utcnow(),
                input=redactor.value(inputs), error=redactor.text(str(error)),
            ))
            return Outcome(ok=False, error=error, step=step.id, outputs=outputs)
        outputs[step.id] = output
        await on_step(StepRecord(
            step.id, position, step.use, "succeeded", attempt, started, utcnow(),
            input=redactor.value(inputs), output=redactor.value(output),
            deduplicated=bool(isinstance(output, dict) and output.get("deduplicated")),
        ))
    return Outcome(ok=True, outputs=outputs)
