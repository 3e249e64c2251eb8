"""The store: what events and runs mean, in one place, over SQLite or PostgreSQL.

Job semantics live here; the SQL differs per dialect only where SQLAlchemy renders it
differently (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, nothing on SQLite, whose single writer
already serialises claims). Every write names the worker holding the run's lease, so a worker
whose lease expired cannot overwrite the work of the one that took the run over.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from app.errors import NotFound, StoreError
from app.events import Event, new_id, utcnow
from app.store import bulk, checkpoints
from app.store import tables as t
from app.store.engines import Engines, make_engines
from app.store.group import GroupCommit, Op, Outcome
from app.store.migrate import migrate
from app.store.records import IngestResult, RunRecord, StepRecord

RUNNABLE = ("queued", "retrying")
LOCKS = "lock"  # kv namespace of Store.lock


class Store:
    """Events, runs, step checkpoints and small keyed state."""

    def __init__(self, engines: Engines, *, clock: Callable[[], datetime] = utcnow) -> None:
        self.engines = engines
        self.clock = clock
        self._group: GroupCommit | None = None

    @classmethod
    async def open(cls, url: str, *, clock: Callable[[], datetime] = utcnow) -> Store:
        """Connect and migrate to the newest schema."""
        store = cls(make_engines(url), clock=clock)
        await migrate(store.engines)
        return store

    @property
    def dialect(self) -> str:
        return self.engines.dialect

    @property
    def writers(self) -> int:
        """How many write transactions of one process may run at once (group.py)."""
        return 4 if self.dialect == "postgresql" else 1

    @property
    def group_size(self) -> int:
        """The most events one ingest group commits (batcher.py).

        SQLite commits one group at a time, so a group takes everything waiting. PostgreSQL
        commits ``writers`` groups at once, and past a few dozen events a larger group saves
        little per event on the server, while the event loop waits for the whole group's
        answer with nothing else to do: at 50 connections the groups held nearly every
        request, so one group was in flight at a time. Groups of at most 32 overlap instead
        (docs/performance.md, round 6).
        """
        return 32 if self.dialect == "postgresql" else 256

    async def close(self) -> None:
        if self._group is not None:
            await self._group.close()
        await self.engines.dispose()

    async def _transaction(self, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(connection, *args)`` in one write transaction, synchronously: on SQLite whole
        in one call (see writer.py), on PostgreSQL through ``run_sync``."""
        if self.engines.ingest is not None:
            return await self.engines.ingest.run(fn, *args)
        async with self.engines.write.begin() as conn:
            return await conn.run_sync(fn, *args)

    async def _grouped(self, op: Op) -> Any:
        """Run the write ``op`` in a group commit with other runs' writes (see group.py)."""
        if self._group is None:
            self._group = GroupCommit(self._apply_group, in_flight=self.writers)
        return await self._group.run(op)

    async def _apply_group(self, fn: Callable[[sa.Connection, Sequence[Op]], list[Outcome]],
                           ops: Sequence[Op]) -> list[Outcome]:
        result: list[Outcome] = await self._transaction(fn, ops)
        return result

    def _insert(self, table: sa.Table) -> Any:
        mod = postgresql if self.dialect == "postgresql" else sqlite
        return mod.insert(table)

    # ---- ingest -------------------------------------------------------------------------

    async def ingest(self, items: Sequence[tuple[Event, Sequence[str]]]) -> list[IngestResult]:
        """Store events and one queued run per matching flow, in one transaction.

        An event whose ``dedupe_key`` is already stored (or repeats earlier in ``items``) is a
        duplicate: it creates no run, and is counted as a double entry avoided.
        """
        if not items:
            return []
        if self.dialect == "postgresql":
            with contextlib.suppress(bulk.Unsupported):
                return await self._ingest_one_statement(items)
        result: list[IngestResult] = await self._transaction(self._ingest, items)
        return result

    async def _ingest_one_statement(
        self, items: Sequence[tuple[Event, Sequence[str]]]
    ) -> list[IngestResult]:
        """PostgreSQL: the events and their runs in one statement, committed on its own.

        The transaction of ``_ingest`` took five round trips (pool check, ``BEGIN``, two
        inserts, ``COMMIT``), each waiting for its turn on a busy event loop; here it is one.
        Only events whose key is new go in this way; the others (duplicates) then take
        ``_ingest``'s transaction, which records them as such.
        """
        rows = _event_rows(items)
        runs: dict[str, list[str]] = {}
        run_rows: list[dict[str, Any]] = []
        for event, flows in items:
            if event.id not in runs:
                runs[event.id] = [new_id() for _ in flows]
                run_rows += _run_rows(event, runs[event.id], flows)
        stored = await self._one_statement(bulk.PG_INGEST, bulk.pg_ingest_params(rows, run_rows))
        results: list[IngestResult | None] = []
        rest: list[tuple[Event, Sequence[str]]] = []
        for event, flows in items:
            if event.id in stored:
                stored.discard(event.id)  # the same event twice in a group: once is new
                results.append(IngestResult(event.id, runs[event.id], duplicate=False))
            else:
                results.append(None)
                rest.append((event, flows))
        if rest:
            later = iter(await self._transaction(self._ingest, rest))
            return [r if r is not None else next(later) for r in results]
        return [r for r in results if r is not None]

    async def _one_statement(self, sql: str, params: Sequence[Any]) -> set[Any]:
        """Run ``sql`` alone (its own transaction) on PostgreSQL; the first column of its rows.

        Its pool does not test a connection before handing it out; a connection found closed
        (the server restarted, a proxy dropped it) is thrown away and the statement goes once
        more on a new one. Had the first one committed before the connection was lost, the
        second finds its keys stored and the events count as duplicates: nothing is stored
        twice.
        """
        engine, retried = self.engines.statements or self.engines.write, False
        while True:
            async with engine.connect() as conn:
                driver: Any = (await conn.get_raw_connection()).driver_connection  # asyncpg's
                try:
                    return {r[0] for r in await driver.fetch(sql, *params)}
                except Exception:
                    if retried or not driver.is_closed():
                        raise
                    await conn.invalidate()
            retried = True

    def _ingest(
        self, conn: sa.Connection, items: Sequence[tuple[Event, Sequence[str]]]
    ) -> list[IngestResult]:
        # Synchronous, so that SQLite runs it whole in one call (see writer.py).
        keys = list({e.dedupe_key for e, _ in items})
        rows = _event_rows(items)
        new_events, owners, new_runs = _ingest_statements(self.dialect)
        if self._insert_many(conn, bulk.insert_events, new_events, rows) == len(rows):
            # Every key was new (the common case): no need to read back who owns them.
            owner = {row["dedupe_key"]: row["id"] for row in rows}
        else:
            owner = {r.dedupe_key: r.id for r in conn.execute(owners, {"keys": keys})}
        results: list[IngestResult] = []
        run_rows: list[dict[str, Any]] = []
        dup_rows: list[dict[str, Any]] = []
        dup_event_ids: set[str] = set()
        created: set[str] = set()
        for event, flows in items:
            stored_id = owner[event.dedupe_key]
            if stored_id == event.id and event.id not in created:
                created.add(event.id)
                run_ids = [new_id() for _ in flows]
                run_rows += _run_rows(event, run_ids, flows)
                results.append(IngestResult(event.id, run_ids, duplicate=False))
            else:
                dup_rows.append({"event_id": stored_id, "received_at": event.received_at})
                dup_event_ids.add(stored_id)
                results.append(IngestResult(stored_id, [], duplicate=True))
        if run_rows:
            self._insert_many(conn, bulk.insert_runs, new_runs, run_rows)
        if dup_rows:
            conn.execute(sa.insert(t.event_duplicates), dup_rows)
            existing: dict[str, list[str]] = {}
            for r in conn.execute(
                sa.select(t.runs.c.event_id, t.runs.c.id)
                .where(t.runs.c.event_id.in_(dup_event_ids))
                .order_by(t.runs.c.id)
            ):
                existing.setdefault(r.event_id, []).append(r.id)
            results = [
                IngestResult(r.event_id, existing.get(r.event_id, []), True) if r.duplicate else r
                for r in results
            ]
        return results

    def _insert_many(self, conn: sa.Connection,
                     one_statement: Callable[[sa.Connection, list[dict[str, Any]]], int],
                     statement: Any, rows: list[dict[str, Any]]) -> int:
        """Insert ``rows`` in one statement (bulk.py), or through SQLAlchemy's ``statement``
        when they cannot travel that way. Returns how many went in."""
        with contextlib.suppress(bulk.Unsupported):
            return one_statement(conn, rows)
        return int(conn.execute(statement, rows).rowcount)

    # ---- claiming and executing -------------------------------------------------------------

    async def claim(self, *, worker: str, limit: int, lease: float) -> list[RunRecord]:
        """Take up to ``limit`` runnable runs (queued, due retries, or expired leases)."""
        now = self.clock()
        r = t.runs
        candidates = (
            sa.select(r.c.id)
            .where(
                sa.or_(
                    sa.and_(r.c.status.in_(RUNNABLE), r.c.not_before <= now),
                    sa.and_(r.c.status == "running", r.c.lease_until < now),
                )
            )
            .order_by(r.c.not_before)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        take = (sa.update(r).values(
            status="running", lease_owner=worker, lease_until=now + timedelta(seconds=lease),
            attempt=r.c.attempt + 1, started_at=sa.func.coalesce(r.c.started_at, now)))

        def _claim(conn: sa.Connection) -> list[RunRecord]:
            ids = [row.id for row in conn.execute(candidates)]
            if not ids:
                return []
            conn.execute(take.where(r.c.id.in_(ids)))
            return self._load_runs(conn, ids, steps_status="succeeded")

        # One call to the SQLite writer (not one event-loop turn per statement).
        runs: list[RunRecord] = await self._transaction(_claim)
        return runs

    async def _update_held(self, worker: str, run_ids: Sequence[str], **values: Any) -> None:
        """Update the runs of ``run_ids`` that ``worker`` still holds; others are untouched."""
        if not run_ids:
            return
        r = t.runs
        async with self.engines.write.begin() as conn:
            await conn.execute(
                sa.update(r)
                .where(r.c.id.in_(run_ids), r.c.lease_owner == worker, r.c.status == "running")
                .values(**values)
            )

    async def extend_leases(self, *, worker: str, run_ids: Sequence[str], lease: float) -> None:
        await self._update_held(worker, run_ids,
                                lease_until=self.clock() + timedelta(seconds=lease))

    async def record_step(self, *, run_id: str, worker: str, step: StepRecord) -> None:
        """Checkpoint one step's result; a retried run resumes after its succeeded steps.

        Committed in a group with other runs' writes (group.py) before this returns.
        """
        await self._grouped(partial(checkpoints.record_step, run_id=run_id, worker=worker,
                                    step=step))

    async def finish(self, *, run_id: str, worker: str, note: str | None = None) -> None:
        """The run succeeded; ``note`` (kept in ``error``) says why it stopped early, if so."""
        await self._grouped(partial(checkpoints.end, run_id=run_id, worker=worker,
                                    status="succeeded", error=note, finished_at=self.clock()))

    async def retry(self, *, run_id: str, worker: str, error: str, not_before: datetime) -> None:
        await self._grouped(partial(checkpoints.end, run_id=run_id, worker=worker,
                                    status="retrying", error=error, not_before=not_before))

    async def fail(self, *, run_id: str, worker: str, error: str) -> None:
        await self._grouped(partial(checkpoints.end, run_id=run_id, worker=worker,
                                    status="failed", error=error, finished_at=self.clock()))

    async def release(self, *, worker: str, run_ids: Sequence[str]) -> None:
        """Give runs back unfinished (graceful shutdown): they are claimable again at once."""
        await self._update_held(worker, run_ids, status="queued", lease_owner=None,
                                lease_until=None, not_before=self.clock(),
                                attempt=t.runs.c.attempt - 1)

    async def replay(self, run_id: str) -> RunRecord:
        """Queue a failed run again; it resumes after its last succeeded step."""
        r = t.runs
        async with self.engines.write.begin() as conn:
            row = (await conn.execute(sa.select(r.c.status).where(r.c.id == run_id))).first()
            if row is None:
                raise NotFound(f"no run with id {run_id}")
            if row.status != "failed":
                raise StoreError(f"run {run_id} is {row.status}; only failed runs can be replayed")
            await conn.execute(
                sa.update(r).where(r.c.id == run_id).values(
                    status="queued", attempt=0, not_before=self.clock(), finished_at=None,
                    replays=r.c.replays + 1,
                )
            )
            await conn.execute(
                sa.delete(t.run_steps).where(
                    t.run_steps.c.run_id == run_id, t.run_steps.c.status == "failed"
                )
            )
            return (await conn.run_sync(self._load_runs, [run_id]))[0]

    # ---- reading ----------------------------------------------------------------------------

    def _load_runs(
        self, conn: sa.Connection, ids: Sequence[str], *, steps_status: str | None = None
    ) -> list[RunRecord]:
        r, e, s = t.runs, t.events, t.run_steps
        rows = conn.execute(
            sa.select(r, e.c.source, e.c.type, e.c.dedupe_key, e.c.actor, e.c.received_at,
                      e.c.data, e.c.kind)
            .join(e, e.c.id == r.c.event_id)
            .where(r.c.id.in_(ids))
        )
        runs: dict[str, RunRecord] = {}
        for row in rows:
            run = _run_from_row(row)
            run.event = Event(
                id=row.event_id, source=row.source, type=row.type, dedupe_key=row.dedupe_key,
                actor=row.actor, received_at=row.received_at, data=row.data, kind=row.kind,
            )
            runs[run.id] = run
        q = sa.select(s).where(s.c.run_id.in_(ids)).order_by(s.c.run_id, s.c.position)
        if steps_status:
            q = q.where(s.c.status == steps_status)
        for row in conn.execute(q):
            runs[row.run_id].steps.append(_step_from_row(row))
        return [runs[i] for i in ids if i in runs]

    async def get_run(self, run_id: str) -> RunRecord:
        async with self.engines.read.connect() as conn:
            found = await conn.run_sync(self._load_runs, [run_id])
        if not found:
            raise NotFound(f"no run with id {run_id}")
        return found[0]

    async def list_runs(
        self, *, status: str | None = None, flow: str | None = None, limit: int = 50,
        offset: int = 0, since: datetime | None = None,
    ) -> list[RunRecord]:
        r = t.runs
        q = sa.select(r).order_by(r.c.created_at.desc(), r.c.id.desc()).limit(limit).offset(offset)
        if status:
            q = q.where(r.c.status == status)
        if flow:
            q = q.where(r.c.flow == flow)
        if since:
            q = q.where(r.c.created_at >= since)
        async with self.engines.read.connect() as conn:
            return [_run_from_row(row) for row in await conn.execute(q)]

    async def count_runs(self) -> dict[str, int]:
        r = t.runs
        q = sa.select(r.c.status, sa.func.count()).group_by(r.c.status)
        async with self.engines.read.connect() as conn:
            return {row[0]: row[1] for row in await conn.execute(q)}

    async def queue_depth(self) -> int:
        """Runs waiting for a worker: queued, or retrying and due."""
        r = t.runs
        q = sa.select(sa.func.count()).where(r.c.status.in_(RUNNABLE))
        async with self.engines.read.connect() as conn:
            return int((await conn.execute(q)).scalar_one())

    async def ping(self) -> None:
        async with self.engines.read.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))

    # ---- keyed state ------------------------------------------------------------------------

    async def kv_get(self, namespace: str, key: str) -> Any:
        q = sa.select(t.kv.c.value).where(t.kv.c.namespace == namespace, t.kv.c.key == key)
        async with self.engines.read.connect() as conn:
            return (await conn.execute(q)).scalar()

    async def kv_put(self, namespace: str, key: str, value: Any) -> None:
        now = self.clock()
        stmt = self._insert(t.kv).values(namespace=namespace, key=key, value=value, updated_at=now)
        async with self.engines.write.begin() as conn:
            await conn.execute(stmt.on_conflict_do_update(
                index_elements=["namespace", "key"], set_={"value": value, "updated_at": now}))

    async def kv_setdefault(self, namespace: str, key: str, value: Any) -> Any:
        """Store ``value`` unless the key exists; return what is stored (atomic)."""
        stmt = self._insert(t.kv).values(
            namespace=namespace, key=key, value=value, updated_at=self.clock()
        ).on_conflict_do_nothing()
        async with self.engines.write.begin() as conn:
            await conn.execute(stmt)
            q = sa.select(t.kv.c.value).where(t.kv.c.namespace == namespace, t.kv.c.key == key)
            return (await conn.execute(q)).scalar()

    @contextlib.asynccontextmanager
    async def lock(self, name: str, *, expires: float = 60.0,
                   poll: float = 0.05) -> AsyncIterator[None]:
        """Hold ``name`` against every process on this store (API servers and workers alike).

        The lock is a row of ``kv``; it waits while someone else holds it. A holder that died
        without letting go is overtaken once its row is ``expires`` seconds old, so the body
        should finish well inside that time.
        """
        stamp = await self._take_lock(name, expires)
        while stamp is None:
            await asyncio.sleep(poll)
            poll = min(poll * 1.5, 0.5)
            stamp = await self._take_lock(name, expires)
        try:
            yield
        finally:
            k = t.kv
            async with self.engines.write.begin() as conn:
                await conn.execute(sa.delete(k).where(
                    k.c.namespace == LOCKS, k.c.key == _lock_key(name), k.c.updated_at == stamp))

    async def _take_lock(self, name: str, expires: float) -> datetime | None:
        """Take the lock (the stamp that names this holding) or ``None`` when it is held."""
        k, key, now = t.kv, _lock_key(name), self.clock()
        token = new_id()
        stmt = self._insert(k).values(namespace=LOCKS, key=key, value={"holder": token},
                                      updated_at=now)
        stmt = stmt.on_conflict_do_update(
            index_elements=["namespace", "key"],
            set_={"value": stmt.excluded.value, "updated_at": now},
            where=k.c.updated_at < now - timedelta(seconds=expires))
        async with self.engines.write.begin() as conn:
            await conn.execute(stmt)
            held = (await conn.execute(sa.select(k.c.value).where(
                k.c.namespace == LOCKS, k.c.key == key))).scalar()
        return now if held == {"holder": token} else None

    # ---- retention --------------------------------------------------------------------------

    async def prune(self, *, older_than: datetime, failed: bool = False,
                    batch: int = 500) -> int:
        """Delete events older than the cut-off whose runs are all finished; returns how many.

        Finished means succeeded (or no run at all); with ``failed`` also failed — by default
        failed runs are kept until replayed or pruned explicitly. An event with a run still
        queued, running or retrying is never pruned, nor one whose run finished after the
        cut-off (a replay of an old event keeps its history for the full retention period).
        Deletes go in batches so a large backlog neither holds a long write lock nor exceeds
        the drivers' parameter limits.
        """
        e, r = t.events, t.runs
        final = ("succeeded", "failed") if failed else ("succeeded",)
        keep = sa.select(r.c.event_id).where(
            sa.or_(r.c.status.not_in(final), r.c.finished_at >= older_than))
        total = 0
        while True:
            async with self.engines.write.begin() as conn:
                old = (sa.select(e.c.id)
                       .where(e.c.received_at < older_than, e.c.id.not_in(keep))
                       .limit(batch))
                ids = [row.id for row in await conn.execute(old)]
                if not ids:
                    return total
                run_ids = sa.select(r.c.id).where(r.c.event_id.in_(ids))
                await conn.execute(sa.delete(t.run_steps).where(t.run_steps.c.run_id.in_(run_ids)))
                await conn.execute(sa.delete(r).where(r.c.event_id.in_(ids)))
                await conn.execute(sa.delete(t.event_duplicates).where(
                    t.event_duplicates.c.event_id.in_(ids)))
                await conn.execute(sa.delete(e).where(e.c.id.in_(ids)))
            total += len(ids)


def _event_rows(items: Sequence[tuple[Event, Sequence[str]]]) -> list[dict[str, Any]]:
    """The events table's rows of ``items``, one per dedupe key, in key order: two processes
    ingesting overlapping batches then take the unique-index locks in the same order and wait
    for each other instead of deadlocking."""
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    for event, _ in sorted(items, key=lambda item: item[0].dedupe_key):
        if event.dedupe_key in seen:
            continue
        seen.add(event.dedupe_key)
        rows.append({
            "id": event.id, "source": event.source, "type": event.type,
            "dedupe_key": event.dedupe_key, "actor": event.actor,
            "received_at": event.received_at, "data": event.data, "kind": event.kind,
        })
    return rows


HEAD_START = timedelta(hours=1)


def _run_rows(event: Event, run_ids: Sequence[str],
              flows: Sequence[str]) -> list[dict[str, Any]]:
    """The queued runs of a new event, due when it was received.

    Claims take runs by ``not_before``: an interactive event's runs are dated ``HEAD_START``
    earlier, so a person's command goes before a queued bulk import (issue 18).
    """
    due = event.received_at - HEAD_START if event.interactive else event.received_at
    return [{"id": rid, "event_id": event.id, "flow": flow, "status": "queued", "attempt": 0,
             "not_before": due, "created_at": event.received_at}
            for rid, flow in zip(run_ids, flows, strict=True)]


@functools.lru_cache(maxsize=2)
def _ingest_statements(dialect: str) -> tuple[Any, Any, Any]:
    """Ingest's statements, built once: building them per batch cost more than running them."""
    insert = (postgresql if dialect == "postgresql" else sqlite).insert
    e = t.events
    return (insert(e).on_conflict_do_nothing(),
            sa.select(e.c.dedupe_key, e.c.id).where(
                e.c.dedupe_key.in_(sa.bindparam("keys", expanding=True))),
            sa.insert(t.runs))


def _run_from_row(row: Any) -> RunRecord:
    return RunRecord(
        id=row.id, event_id=row.event_id, flow=row.flow, status=row.status,
        attempt=row.attempt, not_before=row.not_before, created_at=row.created_at,
        started_at=row.started_at, finished_at=row.finished_at, error=row.error,
        replays=row.replays, lease_owner=row.lease_owner,
    )


def _step_from_row(row: Any) -> StepRecord:
    return StepRecord(
        step_id=row.step_id, position=row.position, action=row.action, status=row.status,
        attempt=row.attempt, input=row.input, output=row.output, error=row.error,
        deduplicated=row.deduplicated, started_at=row.started_at, finished_at=row.finished_at,
    )


def _lock_key(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()  # any name fits kv's key column
