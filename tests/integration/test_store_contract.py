"""The store contract, run against every backend: SQLite always, PostgreSQL when reachable.

Each test gets an empty database (``store_url``). Concurrency is real: two ``Store`` instances
(two connection pools, as two processes would have) race on the same database.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from app.errors import NotFound, StoreError
from app.events import Event
from app.store import LeaseLost, StepRecord, Store
from app.store.batcher import IngestBatcher
from app.store.migrate import current_revision, migrate

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class Clock:
    """A clock the test moves by hand (mock clocks, not behaviour)."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def open_store(store_url: str, clock: Clock) -> AsyncIterator[Callable[[], object]]:
    """Opens stores on the test's database (each one its own pool); closes them all after."""
    opened: list[Store] = []

    async def make() -> Store:
        store = await Store.open(store_url, clock=clock)
        opened.append(store)
        return store

    yield make
    for store in opened:
        await store.close()


@pytest.fixture
async def store(open_store) -> Store:
    return await open_store()


def event(key: str, *, at: datetime = T0, **data: object) -> Event:
    return Event(source="make", type="webhook", dedupe_key=f"webhook:make:{key}",
                 data={"key": key, **data}, received_at=at)


def step(step_id: str, position: int, status: str = "succeeded", **kw: object) -> StepRecord:
    return StepRecord(step_id=step_id, position=position, action="http.request", status=status,
                      attempt=1, started_at=T0, finished_at=T0, **kw)  # type: ignore[arg-type]


async def count(store: Store, table: str) -> int:
    async with store.engines.read.connect() as conn:
        return int((await conn.execute(sa.text(f"SELECT count(*) FROM {table}"))).scalar_one())


# ---- ingest ---------------------------------------------------------------------------------

async def test_ingest_creates_one_run_per_flow_and_dedupes(store: Store) -> None:
    [first] = await store.ingest([(event("a"), ["f1", "f2"])])
    assert first.duplicate is False and len(first.runs) == 2
    [again] = await store.ingest([(event("a"), ["f1", "f2"])])
    assert again.duplicate is True
    assert again.event_id == first.event_id and sorted(again.runs) == sorted(first.runs)
    assert await count(store, "events") == 1
    assert await count(store, "runs") == 2
    assert await count(store, "event_duplicates") == 1


async def test_ingest_dedupes_within_one_batch(store: Store) -> None:
    results = await store.ingest([(event("b"), ["f"]), (event("c"), ["f"]), (event("b"), ["f"])])
    assert [r.duplicate for r in results] == [False, False, True]
    assert results[2].event_id == results[0].event_id
    assert results[2].runs == results[0].runs
    assert await count(store, "events") == 2
    assert await count(store, "runs") == 2


ODD_VALUES: list[dict[str, object]] = [
    {"text": "é ✓ \U0001F680 \"quoted\" back\\slash", "n": 12345678901234567890123,
     "f": 0.1, "neg": -1e-300, "nested": {"list": [1, None, True, {"x": []}]}, "empty": {}},
    # Not JSON (NaN) or not storable on PostgreSQL (NUL): receivers refuse them in JSON bodies,
    # but a Slack form field can hold a NUL. SQLite stores both (NaN through SQLAlchemy's
    # insert: bulk.py's JSON text cannot carry it).
    {"nan": float("nan")},
    {"nul": "a\x00b", "author": "x\x00y"},
]


@pytest.mark.parametrize("data", ODD_VALUES, ids=["unicode-numbers-nesting", "nan", "nul"])
async def test_ingested_events_read_back_exactly(store: Store, data: dict[str, object]) -> None:
    if store.dialect == "postgresql" and ("nan" in data or "nul" in data):
        pytest.skip("PostgreSQL's jsonb refuses NaN and NUL (receivers refuse them first)")
    at = datetime(2026, 3, 2, 9, 0, 0, tzinfo=UTC)  # a whole second: no microseconds to print
    ev = Event(source="make", type="webhook", dedupe_key="webhook:make:odd", data=data,
               actor="a\x00b" if "nul" in data else "ana@example.com", received_at=at)
    [res] = await store.ingest([(ev, ["f1", "f2"])])
    claimed = await store.claim(worker="A", limit=5, lease=30)
    assert sorted(r.id for r in claimed) == sorted(res.runs)
    stored = claimed[0].event
    assert stored is not None
    assert stored.received_at == at and stored.actor == ev.actor
    assert claimed[0].not_before == at and claimed[0].created_at == at
    if "nan" in data:
        assert stored.data["nan"] != stored.data["nan"]  # NaN, kept as NaN
    else:
        assert stored.data == data


async def test_ingest_takes_the_one_statement_path(store: Store, monkeypatch) -> None:
    """Plain events go through bulk.py's single statement (the fallback would hide a bug)."""
    from app.store import bulk

    inserted: list[int] = []
    original = bulk.insert_events

    def spy(conn: sa.Connection, rows: list[dict[str, object]]) -> int:
        inserted.append(original(conn, rows))
        return inserted[-1]

    monkeypatch.setattr(bulk, "insert_events", spy)
    combined: list[int] = []  # PostgreSQL: events and runs in one statement
    original_params = bulk.pg_ingest_params
    monkeypatch.setattr(bulk, "pg_ingest_params", lambda events, runs: (
        combined.append(len(events)), original_params(events, runs))[1])
    results = await store.ingest([(event(k), ["f"]) for k in "pqr"] + [(event("p"), ["f"])])
    assert [r.duplicate for r in results] == [False] * 3 + [True]
    assert await count(store, "runs") == 3 and await count(store, "event_duplicates") == 1
    if store.dialect == "postgresql":
        # The three new events went in the one statement; the repeat then took the
        # transaction, which found its key stored.
        assert combined == [3] and inserted == [0]
    else:
        assert combined == [] and inserted == [3]
    # A group of only new events takes one statement and nothing else.
    inserted.clear()
    combined.clear()
    assert not any(r.duplicate for r in await store.ingest([(event("s"), ["f", "g"])]))
    assert inserted == ([] if store.dialect == "postgresql" else [1])
    assert await count(store, "runs") == 5


async def test_more_rows_than_one_statement_takes_go_in_several(store: Store,
                                                                monkeypatch) -> None:
    # SQLite binds at most 32,766 values per statement (999 before 3.32), so bulk.py inserts
    # at most MAX_ROWS rows per statement; made small here so that a group spans several.
    from app.store import bulk

    monkeypatch.setattr(bulk, "MAX_ROWS", 7)
    flows = [f"flow-{i:02d}" for i in range(20)]
    [result] = await store.ingest([(event("many"), flows)])
    stored = {r.flow for r in await store.claim(worker="A", limit=50, lease=30)}
    assert stored == set(flows)
    assert len(result.runs) == len(flows) and await count(store, "runs") == len(flows)


async def test_ingest_survives_connections_the_server_dropped(pg_url: str) -> None:
    """PostgreSQL restarted, or a proxy closed idle connections: ingest's pool hands out
    connections without testing them first, so the statement must notice and go again."""
    store = await Store.open(pg_url)
    try:
        await store.ingest([(event("before"), ["f"])])  # the pool now holds a connection
        async with store.engines.write.connect() as conn:
            killed = (await conn.execute(sa.text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"))).scalar()
        assert killed >= 1
        [result] = await store.ingest([(event("after"), ["f"])])
        assert not result.duplicate and len(result.runs) == 1
        assert await count(store, "events") == 2 and await count(store, "runs") == 2
    finally:
        await store.close()


async def test_concurrent_ingest_from_two_instances_stores_each_event_once(open_store) -> None:
    a, b = await open_store(), await open_store()
    keys = [f"k{i}" for i in range(40)]

    async def send(store: Store, reverse: bool) -> list:
        out = []
        for key in reversed(keys) if reverse else keys:
            out += await store.ingest([(event(key), ["f"])])
        return out

    res_a, res_b = await asyncio.gather(send(a, False), send(b, True))
    by_key: dict[str, list] = {}
    for res in (*res_a, *res_b):
        by_key.setdefault(res.event_id, []).append(res)
    assert len(by_key) == len(keys)
    for results in by_key.values():
        assert sorted(r.duplicate for r in results) == [False, True]
        assert results[0].runs == results[1].runs and len(results[0].runs) == 1
    assert await count(a, "events") == len(keys)
    assert await count(a, "runs") == len(keys)


async def test_concurrent_overlapping_batches_do_not_deadlock(open_store) -> None:
    a, b = await open_store(), await open_store()
    keys = [f"o{i}" for i in range(200)]
    rounds = [(store.ingest([(event(k), ["f"]) for k in order]))
              for _ in range(6) for store, order in ((a, keys), (b, keys[::-1]))]
    results = await asyncio.gather(*rounds)
    firsts = [r for batch in results for r in batch if not r.duplicate]
    assert len(firsts) == len(keys)
    assert await count(a, "events") == await count(a, "runs") == len(keys)


async def test_ingest_groups_stay_within_the_store_group_size_and_overlap_on_postgresql(
        store) -> None:
    """The batcher over the real store: on PostgreSQL, 80 waiting events commit as groups of
    at most ``group_size``, several at once; on SQLite (one writer) as one group."""
    sizes: list[int] = []
    in_flight = most = 0
    ingest = store.ingest

    async def counted(items):  # type: ignore[no-untyped-def]
        nonlocal in_flight, most
        sizes.append(len(items))
        in_flight += 1
        most = max(most, in_flight)
        try:
            return await ingest(items)
        finally:
            in_flight -= 1

    store.ingest = counted
    batcher = IngestBatcher(store)
    try:
        results = await asyncio.gather(*(batcher.submit(event(f"g{i}"), ["f"])
                                         for i in range(80)))
    finally:
        await batcher.close()
    assert not any(r.duplicate for r in results) and len({r.event_id for r in results}) == 80
    assert await count(store, "events") == await count(store, "runs") == 80
    if store.dialect == "postgresql":
        assert store.group_size < 50  # the benchmark's 50 connections make two groups or more
        assert sizes == [32, 32, 16] and most > 1
    else:
        assert sizes == [80] and most == 1


# ---- claiming and leases --------------------------------------------------------------------

async def test_two_workers_never_claim_the_same_run(open_store) -> None:
    a, b = await open_store(), await open_store()
    await a.ingest([(event(f"e{i}"), ["f"]) for i in range(60)])

    async def drain(store: Store, worker: str) -> list[str]:
        got: list[str] = []
        while runs := await store.claim(worker=worker, limit=3, lease=60):
            got += [r.id for r in runs]
        return got

    got_a, got_b = await asyncio.gather(drain(a, "A"), drain(b, "B"))
    assert not set(got_a) & set(got_b)
    assert len(got_a) + len(got_b) == len(set(got_a) | set(got_b)) == 60
    assert await a.claim(worker="C", limit=10, lease=60) == []


async def test_claim_loads_event_and_sets_lease(store: Store) -> None:
    [res] = await store.ingest([(event("x", text="hi"), ["f"])])
    [run] = await store.claim(worker="A", limit=5, lease=30)
    assert run.id == res.runs[0] and run.status == "running" and run.attempt == 1
    assert run.lease_owner == "A" and run.event is not None
    assert run.event.data == {"key": "x", "text": "hi"}


async def test_expired_lease_is_taken_over_and_old_worker_writes_raise(store: Store,
                                                                        clock: Clock) -> None:
    await store.ingest([(event("x"), ["f"])])
    [run] = await store.claim(worker="A", limit=1, lease=10)
    clock.advance(5)
    assert await store.claim(worker="B", limit=1, lease=10) == []
    await store.extend_leases(worker="A", run_ids=[run.id], lease=10)
    clock.advance(9)  # still inside the extended lease
    assert await store.claim(worker="B", limit=1, lease=10) == []
    clock.advance(2)
    [taken] = await store.claim(worker="B", limit=1, lease=10)
    assert taken.id == run.id and taken.attempt == 2 and taken.lease_owner == "B"
    with pytest.raises(LeaseLost):
        await store.record_step(run_id=run.id, worker="A", step=step("s1", 0))
    for end in (store.finish(run_id=run.id, worker="A"),
                store.fail(run_id=run.id, worker="A", error="x"),
                store.retry(run_id=run.id, worker="A", error="x", not_before=clock())):
        with pytest.raises(LeaseLost):
            await end
    await store.extend_leases(worker="A", run_ids=[run.id], lease=100)  # no effect for A
    await store.release(worker="A", run_ids=[run.id])  # no effect either
    await store.record_step(run_id=run.id, worker="B", step=step("s1", 0))
    await store.finish(run_id=run.id, worker="B")
    done = await store.get_run(run.id)
    assert done.status == "succeeded" and done.lease_owner is None
    assert [s.step_id for s in done.steps] == ["s1"]


async def test_concurrent_writes_of_many_runs_each_get_their_own_outcome(store, clock) -> None:
    """Writes issued at once share transactions (group commit) but not each other's fate."""
    await store.ingest([(event(f"g{i}"), ["f"]) for i in range(6)])
    runs = await store.claim(worker="A", limit=6, lease=1)
    lost = runs[0]
    clock.advance(2)
    [taken] = await store.claim(worker="B", limit=1, lease=10)
    assert taken.id == lost.id
    others = runs[1:]
    results = await asyncio.gather(
        store.record_step(run_id=lost.id, worker="A", step=step("s1", 0)),
        *(store.record_step(run_id=r.id, worker="A", step=step("s1", 0)) for r in others[:4]),
        # Not JSON-able: the database layer refuses this write, and only this one.
        store.record_step(run_id=others[4].id, worker="A",
                          step=step("s1", 0, output={"x": object()})),
        return_exceptions=True)
    assert isinstance(results[0], LeaseLost)
    assert results[1:5] == [None] * 4
    assert isinstance(results[5], Exception) and not isinstance(results[5], LeaseLost)
    ends = await asyncio.gather(*(store.finish(run_id=r.id, worker="A") for r in others[:4]),
                                store.finish(run_id=lost.id, worker="A"),
                                return_exceptions=True)
    assert ends[:4] == [None] * 4 and isinstance(ends[4], LeaseLost)
    for r in others[:4]:
        done = await store.get_run(r.id)
        assert done.status == "succeeded" and [s.step_id for s in done.steps] == ["s1"]
    assert (await store.get_run(others[4].id)).steps == []
    assert (await store.get_run(lost.id)).lease_owner == "B"


# ---- outcomes ---------------------------------------------------------------------------------

async def test_checkpoints_resume_after_succeeded_steps(store: Store, clock: Clock) -> None:
    await store.ingest([(event("x"), ["f"])])
    [run] = await store.claim(worker="A", limit=1, lease=10)
    await store.record_step(run_id=run.id, worker="A", step=step("s1", 0, output={"n": 1}))
    await store.record_step(run_id=run.id, worker="A",
                            step=step("s2", 1, status="failed", error="boom"))
    await store.retry(run_id=run.id, worker="A", error="step s2: boom",
                      not_before=clock() + timedelta(seconds=30))
    retrying = await store.get_run(run.id)
    assert retrying.status == "retrying" and retrying.error == "step s2: boom"
    assert await store.queue_depth() == 1
    assert await store.claim(worker="A", limit=1, lease=10) == []  # not due yet
    clock.advance(31)
    [again] = await store.claim(worker="B", limit=1, lease=10)
    assert again.attempt == 2
    assert [(s.step_id, s.output) for s in again.steps] == [("s1", {"n": 1})]
    await store.record_step(run_id=run.id, worker="B", step=step("s2", 1, output={"n": 2}))
    await store.finish(run_id=run.id, worker="B")
    done = await store.get_run(run.id)
    assert done.status == "succeeded" and done.error is None and done.finished_at == clock()
    assert [(s.step_id, s.status) for s in done.steps] == [("s1", "succeeded"),
                                                          ("s2", "succeeded")]


async def test_fail_then_replay_resumes_and_only_failed_runs_replay(store: Store) -> None:
    await store.ingest([(event("x"), ["f"])])
    [run] = await store.claim(worker="A", limit=1, lease=10)
    await store.record_step(run_id=run.id, worker="A", step=step("s1", 0))
    await store.record_step(run_id=run.id, worker="A", step=step("s2", 1, status="failed",
                                                                   error="404 not found"))
    await store.fail(run_id=run.id, worker="A", error="step s2: 404 not found")
    failed = await store.get_run(run.id)
    assert failed.status == "failed" and failed.error == "step s2: 404 not found"
    assert await store.claim(worker="A", limit=1, lease=10) == []
    replayed = await store.replay(run.id)
    assert replayed.status == "queued" and replayed.replays == 1 and replayed.attempt == 0
    assert [s.step_id for s in replayed.steps] == ["s1"]  # the failed checkpoint is gone
    with pytest.raises(StoreError, match="only failed runs"):
        await store.replay(run.id)
    with pytest.raises(NotFound):
        await store.replay("no-such-run")
    [again] = await store.claim(worker="B", limit=1, lease=10)
    assert again.id == run.id and again.attempt == 1


async def test_release_gives_runs_back_at_once(store: Store) -> None:
    await store.ingest([(event("x"), ["f"])])
    [run] = await store.claim(worker="A", limit=1, lease=600)
    await store.release(worker="A", run_ids=[run.id])
    released = await store.get_run(run.id)
    assert released.status == "queued" and released.attempt == 0
    assert released.lease_owner is None
    [again] = await store.claim(worker="B", limit=1, lease=10)
    assert again.id == run.id and again.attempt == 1


async def test_list_get_and_counts(store: Store, clock: Clock) -> None:
    for i in range(3):
        await store.ingest([(event(f"e{i}", at=T0 + timedelta(seconds=i)), ["f1", "f2"])])
    [run] = await store.claim(worker="A", limit=1, lease=10)
    await store.fail(run_id=run.id, worker="A", error="nope")
    newest = await store.list_runs(limit=2)
    assert len(newest) == 2 and newest[0].created_at >= newest[1].created_at
    assert [r.id for r in await store.list_runs(status="failed")] == [run.id]
    assert {r.flow for r in await store.list_runs(flow="f2")} == {"f2"}
    assert len(await store.list_runs(flow="f2")) == 3
    assert len(await store.list_runs(since=T0 + timedelta(seconds=1))) == 4
    assert len(await store.list_runs(limit=10, offset=4)) == 2
    assert await store.count_runs() == {"failed": 1, "queued": 5}
    got = await store.get_run(run.id)
    assert got.event is not None and got.event.dedupe_key.startswith("webhook:make:")
    with pytest.raises(NotFound):
        await store.get_run("missing")
    await store.ping()


# ---- keyed state ------------------------------------------------------------------------------

async def test_kv_setdefault_is_atomic_across_instances(open_store) -> None:
    a, b = await open_store(), await open_store()
    values = await asyncio.gather(*(
        (a, b)[n % 2].kv_setdefault("ns", f"key{n % 5}", {"by": n}) for n in range(40)))
    for i in range(5):
        seen = [v for n, v in enumerate(values) if n % 5 == i]
        assert all(v == seen[0] for v in seen), seen
        assert await a.kv_get("ns", f"key{i}") == seen[0]
    await a.kv_put("ns", "key0", [1, 2])
    assert await b.kv_get("ns", "key0") == [1, 2]
    assert await b.kv_setdefault("ns", "key0", "other") == [1, 2]
    assert await b.kv_get("ns", "missing") is None


async def test_lock_holds_a_name_across_instances(open_store) -> None:
    a, b = await open_store(), await open_store()
    inside: list[str] = []
    overlaps: list[list[str]] = []

    async def hold(store: Store, who: str, name: str) -> None:
        async with store.lock(name, poll=0.005):
            inside.append(who)
            if len([w for w in inside if w.startswith(name)]) > 1:
                overlaps.append(list(inside))
            await asyncio.sleep(0.02)
            inside.remove(who)

    await asyncio.gather(*(hold((a, b)[n % 2], f"x{n}", "x") for n in range(6)),
                         hold(a, "y0", "y"))
    assert overlaps == [] and inside == []
    # Every holding let go of its row: the next one takes the lock at once.
    async with a.lock("x"), b.lock("y"):
        pass


async def test_lock_of_a_holder_that_died_is_overtaken(open_store, clock: Clock) -> None:
    a, b = await open_store(), await open_store()
    assert await a._take_lock("name", 60) is not None  # taken, never let go (process died)
    held = b.lock("name", expires=60, poll=0.005)
    waiting = asyncio.ensure_future(held.__aenter__())
    await asyncio.sleep(0.05)
    assert not waiting.done()
    clock.advance(61)
    await asyncio.wait_for(waiting, 5)
    await held.__aexit__(None, None, None)  # let go while the store is open


async def test_a_late_holder_letting_go_leaves_the_new_holder_alone(open_store,
                                                                    clock: Clock) -> None:
    a, b = await open_store(), await open_store()
    late = a.lock("name", expires=60)
    await late.__aenter__()
    clock.advance(61)  # a stalled past the expiry: b takes the lock over
    async with b.lock("name", expires=60, poll=0.005):
        await late.__aexit__(None, None, None)  # a finishes and lets go of what it held
        assert await a._take_lock("name", 60) is None  # b still holds it


# ---- retention --------------------------------------------------------------------------------

async def test_prune_removes_old_finished_work_and_keeps_failed(store: Store,
                                                                 clock: Clock) -> None:
    old = T0 - timedelta(days=40)
    clock.now = old
    [ok] = await store.ingest([(event("old-ok", at=old), ["f"])])
    [bad] = await store.ingest([(event("old-bad", at=old), ["f"])])
    [waiting] = await store.ingest([(event("old-queued", at=old), ["f"])])
    [late] = await store.ingest([(event("old-finished-late", at=old), ["f"])])
    [nothing] = await store.ingest([(event("old-no-flow", at=old), [])])
    await store.ingest([(event("old-ok", at=old), ["f"])])  # a duplicate row to prune too
    claimed = {r.event_id: r for r in await store.claim(worker="A", limit=10, lease=60)}
    await store.record_step(run_id=claimed[ok.event_id].id, worker="A", step=step("s1", 0))
    await store.finish(run_id=claimed[ok.event_id].id, worker="A")
    await store.fail(run_id=claimed[bad.event_id].id, worker="A", error="x")
    await store.release(worker="A", run_ids=[claimed[waiting.event_id].id])
    clock.now = T0
    await store.finish(run_id=claimed[late.event_id].id, worker="A")
    [recent] = await store.ingest([(event("new-ok", at=T0), ["f"])])
    [run] = await store.claim(worker="A", limit=1, lease=60)
    await store.record_step(run_id=run.id, worker="A", step=step("s1", 0))
    await store.finish(run_id=run.id, worker="A")

    cutoff = T0 - timedelta(days=30)
    assert await store.prune(older_than=cutoff, batch=1) == 2  # old-ok, old-no-flow
    kept = {bad.event_id, waiting.event_id, late.event_id, recent.event_id}
    assert {r.event_id for r in await store.list_runs(limit=10)} == kept
    assert nothing.event_id not in {r.event_id for r in await store.list_runs(limit=10)}
    assert await count(store, "event_duplicates") == 0
    assert await count(store, "run_steps") == 1  # the recent run's
    assert await count(store, "events") == 4

    assert await store.prune(older_than=cutoff, failed=True) == 1
    assert {r.event_id for r in await store.list_runs(limit=10)} == kept - {bad.event_id}
    assert await store.prune(older_than=cutoff, failed=True) == 0


# ---- migrations ---------------------------------------------------------------------------

def _head() -> str:
    """The newest revision of the migration scripts (several issues add one each)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from app.store.migrate import MIGRATIONS

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(cfg).get_current_head()
    assert head is not None
    return head


async def test_migrations_are_idempotent_and_concurrent_safe(store_url: str) -> None:
    stores = await asyncio.gather(*(Store.open(store_url) for _ in range(4)))
    try:
        await migrate(stores[0].engines)
        await migrate(stores[1].engines)
        assert {await current_revision(s.engines) for s in stores} == {_head()}
        await stores[0].ingest([(event("after-migrate"), ["f"])])
        assert await count(stores[3], "runs") == 1
    finally:
        for s in stores:
            await s.close()
