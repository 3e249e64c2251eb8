"""The worker: claims runs, executes them, and records the outcome.

Runs are held under a lease that a heartbeat extends; a worker that dies stops extending it and
another worker takes its runs over when it expires. On SIGTERM the worker stops claiming,
lets running runs finish for a grace period, and gives the rest back.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from app.engine.loader import FlowSet
from app.engine.retry import GiveUp, RetryPolicy
from app.engine.runner import execute_steps
from app.engine.schedule import due_events
from app.events import utcnow
from app.metrics import QUEUE_DEPTH, RUNS_FINISHED
from app.redact import Redactor
from app.store import LeaseLost, RunRecord, StepRecord, Store
from connectors.registry import Connectors

log = logging.getLogger("passerelle.worker")

Periodic = Callable[[], Awaitable[None]]
# Called once a run failed for good, with the run and the reason (tell the person, the lead).
OnFailed = Callable[[RunRecord, str], Awaitable[None]]


class Worker:
    def __init__(
        self,
        *,
        store: Store,
        flows: FlowSet,
        connectors: Connectors,
        submit: Callable[..., Awaitable[object]],
        policy: RetryPolicy | None = None,
        redactor: Redactor | None = None,
        concurrency: int = 16,
        lease: float = 60.0,
        poll_interval: float = 0.5,
        tick_interval: float = 15.0,
        retention: timedelta | None = timedelta(days=30),
        clock: Callable[[], datetime] = utcnow,
        worker_id: str | None = None,
    ) -> None:
        self.store = store
        self.flows = flows
        self.connectors = connectors
        self.submit = submit
        self.policy = policy or RetryPolicy()
        self.redactor = redactor or Redactor()
        self.concurrency = concurrency
        self.lease = lease
        self.poll_interval = poll_interval
        self.tick_interval = tick_interval
        self.retention = retention
        self.clock = clock
        self.id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self.periodic: list[Periodic] = [self.fire_schedules]
        self.on_failed: list[OnFailed] = []
        self._fired: dict[str, str] = {}  # flow -> the schedule slot this worker submitted
        self._wake = asyncio.Event()
        self._inflight: dict[str, asyncio.Task[None]] = {}
        self._stopping = False

    def wake(self) -> None:
        self._wake.set()

    # ---- one run ----------------------------------------------------------------------------

    async def execute(self, run: RunRecord) -> None:
        flow = self.flows.flows.get(run.flow)
        try:
            if flow is None:
                await self._fail(run, f"flow '{run.flow}' is not loaded (renamed, removed or "
                                      f"failing lint); fix it and replay this run")
                return
            if run.attempt > self.policy.max_attempts:
                await self._fail(run, f"gave up after {run.attempt - 1} attempts "
                                      f"(last error: {run.error or 'worker lost its lease'})")
                return
            assert run.event is not None

            async def on_step(step: StepRecord) -> None:
                await self.store.record_step(run_id=run.id, worker=self.id, step=step)
                # One line per step, with ids; never inputs or outputs (they carry content).
                log.log(logging.WARNING if step.status == "failed" else logging.INFO,
                        f"step {step.status}", extra={
                            "run_id": run.id, "event_id": run.event_id, "flow": run.flow,
                            "step": step.step_id, "action": step.action,
                            "attempt": step.attempt, "deduplicated": step.deduplicated,
                            "ms": round((step.finished_at - step.started_at)
                                        .total_seconds() * 1000),
                            **({"error": self.redactor.excerpt(step.error)} if step.error else {}),
                        })

            outcome = await execute_steps(
                flow, run.event, run_id=run.id, attempt=run.attempt,
                actions=self.connectors.actions, invoke=self.connectors.invoke,
                on_step=on_step, done={s.step_id: s for s in run.steps}, redactor=self.redactor,
            )
            if outcome.ok:
                note = f"stopped at step {outcome.step}: {outcome.stopped}" \
                    if outcome.stopped is not None else None
                await self.store.finish(run_id=run.id, worker=self.id,
                                        note=self.redactor.excerpt(note) if note else None)
                RUNS_FINISHED.labels(run.flow, "succeeded").inc()
                log.info("run succeeded", extra={"run_id": run.id, "event_id": run.event_id,
                                                 "flow": run.flow})
                return
            assert outcome.error is not None
            decision = self.policy.decide(outcome.error, run.attempt)
            message = self.redactor.excerpt(outcome.message)
            if isinstance(decision, GiveUp):
                await self._fail(run, self.redactor.excerpt(
                    f"step {outcome.step}: {decision.reason}"))
            else:
                await self.store.retry(run_id=run.id, worker=self.id, error=message,
                                       not_before=self.clock() + timedelta(seconds=decision.delay))
                RUNS_FINISHED.labels(run.flow, "retrying").inc()
                log.warning("run will retry", extra={"run_id": run.id, "flow": run.flow,
                            "event_id": run.event_id,
                            "step": outcome.step, "delay": round(decision.delay, 2),
                            "error": message})
        except LeaseLost:
            log.warning("lease lost; another worker has the run", extra={"run_id": run.id})

    async def _fail(self, run: RunRecord, message: str) -> None:
        await self.store.fail(run_id=run.id, worker=self.id, error=message)
        RUNS_FINISHED.labels(run.flow, "failed").inc()
        log.error("run failed", extra={"run_id": run.id, "event_id": run.event_id,
                                       "flow": run.flow, "error": message})
        for hook in self.on_failed:
            try:
                await hook(run, message)
            except Exception:  # telling is best effort; the run is failed and recorded
                log.exception("on-failed hook failed", extra={"run_id": run.id})

    # ---- the loop ---------------------------------------------------------------------------

    async def claim_and_start(self) -> int:
        free = self.concurrency - len(self._inflight)
        if free <= 0 or self._stopping:
            return 0
        runs = await self.store.claim(worker=self.id, limit=free, lease=self.lease)
        for run in runs:
            task = asyncio.create_task(self.execute(run), name=f"run-{run.id}")
            self._inflight[run.id] = task
            task.add_done_callback(functools.partial(self._done, run.id))
        return len(runs)

    def _worth_claiming(self) -> bool:
        # A claim is a write transaction: under load, claim for several freed slots at once
        # rather than once per finished run (each finished run wakes the loop).
        free = self.concurrency - len(self._inflight)
        return free >= max(1, self.concurrency // 4) or not self._inflight

    def _done(self, run_id: str, _task: object = None) -> None:
        self._inflight.pop(run_id, None)
        self._wake.set()

    async def run_until_idle(self, *, timeout: float = 30.0) -> None:
        """Execute runs until none is runnable now (tests, ``passerelle run``)."""
        async with asyncio.timeout(timeout):
            while True:
                started = await self.claim_and_start()
                if self._inflight:
                    await asyncio.wait(list(self._inflight.values()))
                elif not started:
                    return

    async def fire_schedules(self) -> None:
        now = self.clock()
        armed: dict[str, datetime] = {}
        for name, flow in self.flows.flows.items():
            if flow.trigger.kind == "schedule":
                value = await self.store.kv_setdefault("schedule-armed", name, now.isoformat())
                armed[name] = datetime.fromisoformat(value)
        for event in due_events(list(self.flows.flows.values()), now, armed):
            # A slot stays due until the next one: submit it once per worker, not every tick
            # (other workers' submissions of it are deduplicated by its key).
            name, slot = str(event.data.get("flow")), str(event.data.get("slot"))
            if self._fired.get(name) == slot:
                continue
            await self.submit(event)
            self._fired[name] = slot

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self.lease / 3)
            with contextlib.suppress(Exception):
                await self.store.extend_leases(worker=self.id, run_ids=list(self._inflight),
                                               lease=self.lease)

    async def _ticks(self) -> None:
        pruned_at: datetime | None = None
        while True:
            for job in self.periodic:
                try:
                    await job()
                except Exception:
                    log.exception("periodic job failed", extra={"job": job.__name__})
            try:
                QUEUE_DEPTH.set(await self.store.queue_depth())
                if self.retention and (pruned_at is None or
                                       self.clock() - pruned_at > timedelta(hours=1)):
                    pruned_at = self.clock()
                    await self.store.prune(older_than=pruned_at - self.retention)
            except Exception:
                log.exception("housekeeping failed")
            await asyncio.sleep(self.tick_interval)

    async def run(self, stop: asyncio.Event, *, grace: float = 20.0) -> None:
        """Work until ``stop`` is set, then shut down gracefully."""
        helpers = [asyncio.create_task(self._heartbeat()), asyncio.create_task(self._ticks())]
        log.info("worker started", extra={"worker": self.id})
        try:
            while not stop.is_set():
                started = 0
                if self._worth_claiming():
                    try:
                        started = await self.claim_and_start()
                    except Exception:
                        log.exception("claiming runs failed; retrying")
                if started and len(self._inflight) < self.concurrency:
                    continue
                self._wake.clear()
                waiter = asyncio.create_task(self._wake.wait())
                stopper = asyncio.create_task(stop.wait())
                await asyncio.wait({waiter, stopper}, timeout=self.poll_interval,
                                   return_when=asyncio.FIRST_COMPLETED)
                waiter.cancel()
                stopper.cancel()
        finally:
            self._stopping = True
            if self._inflight:
                await asyncio.wait(list(self._inflight.values()), timeout=grace)
            left = list(self._inflight)
            for task in self._inflight.values():
                task.cancel()
            with contextlib.suppress(Exception):
                await self.store.release(worker=self.id, run_ids=left)
            for task in helpers:
                task.cancel()
            log.info("worker stopped", extra={"worker": self.id, "released": len(left)})
