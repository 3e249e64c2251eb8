"""The ingest group commit: each caller gets its own result, one refused event fails alone."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from app.events import Event
from app.store.batcher import IngestBatcher
from app.store.records import IngestResult


class RefusingStore:
    """Stores events like a store would, but refuses any transaction holding a 'bad' one."""

    writers = 1
    group_size = 256

    def __init__(self) -> None:
        self.transactions: list[list[str]] = []

    async def ingest(self, items: Sequence[tuple[Event, Sequence[str]]]) -> list[IngestResult]:
        keys = [event.dedupe_key for event, _ in items]
        self.transactions.append(keys)
        if any(event.data.get("bad") for event, _ in items):
            raise ValueError("refused by the database")
        return [IngestResult(event.id, [f"run-of-{event.dedupe_key}"], False)
                for event, _ in items]


def _event(key: str, **data: object) -> Event:
    return Event(source="make", type="webhook", dedupe_key=key, data=dict(data))


async def test_one_refused_event_fails_alone_and_the_others_commit() -> None:
    store = RefusingStore()
    batcher = IngestBatcher(store)  # type: ignore[arg-type]
    outcomes = await asyncio.gather(
        batcher.submit(_event("a"), ["f"]), batcher.submit(_event("b", bad=True), ["f"]),
        batcher.submit(_event("c"), ["f"]), return_exceptions=True)
    await batcher.close()
    assert isinstance(outcomes[1], ValueError)
    assert [o.runs for o in outcomes if isinstance(o, IngestResult)] == [
        ["run-of-a"], ["run-of-c"]]
    # One group of three was tried first, then each event alone.
    assert store.transactions == [["a", "b", "c"], ["a"], ["b"], ["c"]]


async def test_a_lone_failure_reaches_its_caller() -> None:
    batcher = IngestBatcher(RefusingStore())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="refused"):
        await batcher.submit(_event("x", bad=True), ["f"])
    await batcher.close()


class SlowStore:
    """A store that accepts concurrent transactions (as PostgreSQL does), each taking a while."""

    writers = 3
    group_size = 256

    def __init__(self) -> None:
        self.open = 0
        self.most_open = 0
        self.groups: list[int] = []

    async def ingest(self, items: Sequence[tuple[Event, Sequence[str]]]) -> list[IngestResult]:
        self.open += 1
        self.most_open = max(self.most_open, self.open)
        self.groups.append(len(items))
        await asyncio.sleep(0.02)  # the commit's flush
        self.open -= 1
        return [IngestResult(event.id, [f"run-of-{event.dedupe_key}"], False)
                for event, _ in items]


async def test_several_groups_commit_at_once_when_the_store_takes_concurrent_writers() -> None:
    store = SlowStore()
    batcher = IngestBatcher(store, max_batch=4)  # type: ignore[arg-type]
    events = [_event(f"k{i}") for i in range(40)]
    results = await asyncio.gather(*(batcher.submit(e, ["f"]) for e in events))
    await batcher.close()
    assert [r.runs for r in results] == [[f"run-of-k{i}"] for i in range(40)]
    assert store.most_open == 3 and sum(store.groups) == 40


async def _submit_after(batcher: IngestBatcher, turns: int, key: str) -> IngestResult:
    for _ in range(turns):  # parsed a few loop turns later, as requests arriving in a stream
        await asyncio.sleep(0)
    return await batcher.submit(_event(key), ["f"])


async def test_writes_arriving_over_the_next_loop_turns_join_the_same_group() -> None:
    store = RefusingStore()
    batcher = IngestBatcher(store)  # type: ignore[arg-type]
    await asyncio.gather(*(_submit_after(batcher, turns, f"k{turns}") for turns in range(6)))
    await batcher.close()
    assert store.transactions == [[f"k{turns}" for turns in range(6)]]


async def test_a_group_waits_no_longer_than_settle_seconds_for_more(monkeypatch) -> None:
    monkeypatch.setattr("app.store.group.SETTLE_SECONDS", 0.05)
    store = RefusingStore()
    batcher = IngestBatcher(store, max_batch=10**6)  # type: ignore[arg-type]
    loop = asyncio.get_running_loop()
    started = loop.time()
    stop = False
    pending: list[asyncio.Task[IngestResult]] = []

    async def stream() -> None:  # a write on every loop turn, without end
        i = 0
        while not stop:
            pending.append(asyncio.create_task(batcher.submit(_event(f"s{i}"), ["f"])))
            i += 1
            await asyncio.sleep(0)

    producer = asyncio.create_task(stream())
    while (not pending or not pending[0].done()) and loop.time() - started < 5:
        await asyncio.sleep(0.001)
    first = pending[0].result()
    waited = loop.time() - started
    stop = True
    await producer
    await asyncio.gather(*pending)
    await batcher.close()
    assert first.runs == ["run-of-s0"]
    assert 0.04 <= waited < 1.0  # settled for SETTLE_SECONDS, then committed
    assert len(store.transactions) >= 2  # the stream went on in later groups
