"""What one Passerelle process holds while it runs: store, flows, connectors, worker."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from app.engine.loader import FlowSet, load_flows
from app.engine.retry import RetryPolicy
from app.engine.worker import Worker
from app.events import Event
from app.logs import attach_loop
from app.metrics import EVENTS_RECEIVED
from app.redact import Redactor
from app.settings import Settings
from app.store import IngestResult, RunRecord, Store, apiusage
from app.store.batcher import IngestBatcher
from app.store.durable import StoreState
from app.store.integrity import IntegrityWatch
from app.store.quota import StoreQuota
from connectors.notion.connector import NotionConnector
from connectors.passerelle import PasserelleConnector
from connectors.registry import Connectors

log = logging.getLogger("passerelle")


def load(settings: Settings, connectors: Connectors | None = None) -> FlowSet:
    actions = (connectors or Connectors(settings)).actions
    return load_flows(settings.flows, env=settings.env, actions=actions)


def bind_similar_index(connectors: Connectors, store: Store) -> None:
    """Give ``similar`` its port to the store's index table (issue 21), also when the caller
    built the connectors (``passerelle run``)."""
    from app.store.similar import SimilarItems
    from connectors.similar import SimilarConnector

    similar = connectors.get(SimilarConnector.name)
    if isinstance(similar, SimilarConnector) and similar.index is None:
        similar.index = SimilarItems(store.engines)


@dataclass
class Runtime:
    settings: Settings
    store: Store
    flows: FlowSet
    connectors: Connectors
    batcher: IngestBatcher
    redactor: Redactor
    admin_token: str
    worker: Worker | None = None
    extras: dict[str, Any] = field(default_factory=dict)  # sandbox stand-ins, notion tokens
    integrity: IntegrityWatch | None = None  # SQLite's quick_check (store/integrity.py)
    _worker_task: asyncio.Task[None] | None = None
    _usage_task: asyncio.Task[None] | None = None  # saves API request tallies (issue 18)
    _stop: asyncio.Event = field(default_factory=asyncio.Event)

    @classmethod
    async def start(cls, settings: Settings, *, with_worker: bool = True,
                    connectors: Connectors | None = None) -> Runtime:
        store = await Store.open(settings.database_url)
        # passerelle.stats reads this process's store, and notion's upserts lock keys in it;
        # connectors keep no store of their own.
        connectors = connectors or Connectors(settings, instances={
            PasserelleConnector.name: PasserelleConnector(settings, store=store),
            NotionConnector.name: NotionConnector(settings, state=StoreState(store),
                                                  quota=StoreQuota(store))})
        bind_similar_index(connectors, store)
        flows = load(settings, connectors)
        for problem in flows.problems:
            log.error("flow problem", extra={"problem": str(problem)})
        token = settings.admin_token.get_secret_value() if settings.admin_token else \
            secrets.token_urlsafe(24)
        redactor = Redactor([*settings.secret_values(), token])
        rt = cls(settings=settings, store=store, flows=flows, connectors=connectors,
                 batcher=IngestBatcher(store), redactor=redactor, admin_token=token,
                 integrity=await IntegrityWatch.start(store))
        rt._usage_task = asyncio.create_task(apiusage.keep_saving(store, rt._stop),
                                             name="api-usage")
        if with_worker:
            rt.worker = rt.make_worker()
            rt._worker_task = asyncio.create_task(rt.worker.run(rt._stop), name="worker")
        # What start-up built (flows, models, SQLAlchemy, FastAPI) lives as long as the process:
        # out of the collector's sight, a full collection no longer walks it (it took ~70 ms,
        # the p99 of ingest under load; docs/performance.md).
        gc.freeze()
        # Log lines of one loop turn go out in one write (logs.LineHandler).
        attach_loop(asyncio.get_running_loop())
        return rt

    def make_worker(self) -> Worker:
        s = self.settings
        worker = Worker(
            store=self.store, flows=self.flows, connectors=self.connectors, submit=self.submit,
            policy=RetryPolicy(max_attempts=s.max_attempts), redactor=self.redactor,
            concurrency=s.worker_concurrency, lease=s.lease_seconds,
            poll_interval=s.poll_interval, retention=timedelta(days=s.retention_days),
        )
        from app.receivers.notion_poll import attach_watcher

        watcher = attach_watcher(worker=worker, flows=self.flows, connectors=self.connectors,
                                 store=self.store, submit=self.submit,
                                 poll_seconds=s.notion_poll_seconds, sandbox=s.notion_sandbox)
        if watcher is not None:
            self.extras["notion_watcher"] = watcher
        worker.on_failed.append(self._tell_failed)
        return worker

    async def _tell_failed(self, run: RunRecord, reason: str) -> None:
        """A Slack-triggered run failed for good: the person hears it (connectors/slack)."""
        from connectors.slack.connector import SlackConnector
        from connectors.slack.failures import tell_failed

        slack = self.connectors.get(SlackConnector.name)
        if run.event is not None and isinstance(slack, SlackConnector):
            await tell_failed(slack, event=run.event, flow=run.flow, run_id=run.id,
                              reason=reason, failures_channel=self.settings.failures_channel)

    async def submit(self, event: Event, flows: Sequence[str] | None = None) -> IngestResult:
        """Store the event and its runs (committed before this returns), then wake the worker.

        ``flows`` are the names of the flows to run, when the caller matched them already
        (``self.flows.matching(event)``)."""
        if self.integrity is not None:
            self.integrity.refuse_writes()
        if flows is None:
            flows = self.flows.matching(event)
        result = await self.batcher.submit(event, flows)
        EVENTS_RECEIVED.labels(event.source, "duplicate" if result.duplicate else "accepted").inc()
        if log.isEnabledFor(logging.DEBUG):
            # Not INFO: a line per accepted event cost 0.02 ms of the 0.17-0.19 ms a request
            # took under load (docs/performance.md); the metrics and the dashboard count them.
            log.debug("event received", extra={
                "event_id": result.event_id, "source": event.source, "type": event.type,
                "runs": len(result.runs), "duplicate": result.duplicate})
        if self.worker is not None and result.runs:
            self.worker.wake()
        return result

    async def close(self) -> None:
        self._stop.set()
        if self._worker_task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker_task
        if self._usage_task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._usage_task
        if self.integrity is not None:
            await self.integrity.stop()
        await self.batcher.close()
        await self.connectors.aclose()
        await self.store.close()
        attach_loop(None)
