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
