"""Group commit for the worker's writes: many runs' checkpoints and outcomes, one transaction.

A worker runs many runs at once, and each step checkpoint or final status was its own
transaction: a commit, and on SQLite one event-loop round trip per statement. Here each
write is a synchronous function of a connection; the writes that arrive while a group is
being committed form the next group, which runs in one transaction (on SQLite in one trip to
the SQLite writer, like ingest). Each caller resumes after the commit of its own group, with
its own result or its own ``StoreError`` (``LeaseLost``): a write raises it before writing
anything, so it does not undo the others. Under no load a lone write commits after one loop
turn (``Grouped._settle``).
"""

from __future__ import annotations

import asyncio
import contextlib
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic, TypeVar

import sqlalchemy as sa

from app.errors import StoreError

T = TypeVar("T")
Op = Callable[[sa.Connection], Any]
Outcome = tuple[bool, Any]  # (True, result) or (False, the StoreError it raised)
Transaction = Callable[[Callable[[sa.Connection, Sequence[Op]], list[Outcome]], Sequence[Op]],
                       Awaitable[list[Outcome]]]


def _apply(conn: sa.Connection, ops: Sequence[Op]) -> list[Outcome]:
    outcomes: list[Outcome] = []
    for op in ops:
        try:
            outcomes.append((True, op(conn)))
        except StoreError as exc:
            outcomes.append((False, exc))
    return outcomes


ItemT = TypeVar("ItemT")
SETTLE_SECONDS = 0.02  # the longest a group waits for more writes before it commits


class Grouped(ABC, Generic[ItemT]):
    """The loop both group commits share: callers append, one task drains in groups.

    A list and an event rather than an asyncio.Queue: the task takes everything waiting at
    once, and an append is all a caller pays. Subclasses commit a group in ``_commit``.

    ``in_flight`` groups may be committing at once. SQLite has one writer: 1. PostgreSQL
    takes concurrent writers, and a commit waits for its WAL flush (``fsync``): with one group
    at a time, requests at 50 connections spent most of their time waiting for the previous
    group's flush (docs/performance.md); with a few in flight, one group is written while
    another's flush is under way, and PostgreSQL flushes concurrent commits together.
    """

    max_group: int

    def __init__(self, *, max_group: int, name: str, in_flight: int = 1) -> None:
        self.max_group = max_group
        self.in_flight = in_flight
        self._committing: set[asyncio.Task[None]] = set()
        self._name = name
        self._pending: list[ItemT] = []
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._event_loop: asyncio.AbstractEventLoop | None = None

    def _future(self) -> asyncio.Future[Any]:
        """A future on the running loop. The loop is looked up once: before Python 3.12,
        ``asyncio.get_running_loop()`` makes a ``getpid()`` system call every time."""
        loop = self._event_loop
        if loop is None or loop.is_closed():
            loop = self._event_loop = asyncio.get_running_loop()
        return loop.create_future()

    def _add(self, item: ItemT) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._loop(), name=self._name)
        self._pending.append(item)
        self._ready.set()

    async def _loop(self) -> None:
        while True:
            await self._ready.wait()
            self._ready.clear()
            while self._pending:
                if self.in_flight == 1:
                    await self._settle()
                    group = self._take()
                    await self._commit(group)
                elif len(self._committing) < self.in_flight:
                    await self._settle()
                    task = asyncio.create_task(self._commit(self._take()))
                    self._committing.add(task)
                    task.add_done_callback(self._committing.discard)
                else:
                    await asyncio.wait(self._committing, return_when=asyncio.FIRST_COMPLETED)

    async def _settle(self) -> None:
        """Let the group grow while writes are still coming in, one loop turn at a time.

        The requests whose bytes arrived together are parsed in the same loop turn and join
        the group there; if the next turn brought more, they join too, until a turn brings
        none, the group is full, or ``SETTLE_SECONDS`` have passed. Under load, groups then
        hold every request waiting, not just the last turn's (on SQLite the commit runs on the
        loop, so nothing arrives while it runs): fewer, larger commits, and less CPU per event
        (docs/performance.md). Under no load it costs one loop turn.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SETTLE_SECONDS
        seen = -1
        while (seen != len(self._pending) and len(self._pending) < self.max_group
               and loop.time() < deadline):
            seen = len(self._pending)
            await asyncio.sleep(0)

    def _take(self) -> list[ItemT]:
        group = self._pending[:self.max_group]
        del self._pending[:self.max_group]
        return group

    async def _commit(self, group: list[ItemT]) -> None:
        """Commit ``group``. If its transaction fails as a whole, each item goes again alone:
        one item the database refuses then fails alone, and the others go in."""
        try:
            await self._write(group)
        except Exception as exc:
            if len(group) > 1:
                for item in group:
                    await self._commit([item])
            else:
                self._refuse(group[0], exc)

    @abstractmethod
    async def _write(self, group: list[ItemT]) -> None:
        """Commit ``group`` in one transaction and resolve each caller's future; if the
        transaction fails, raise and resolve nothing."""

    @abstractmethod
    def _refuse(self, item: ItemT, exc: Exception) -> None:
        """Tell the caller of ``item`` that its write failed with ``exc``."""

    async def close(self) -> None:
        tasks = [t for t in (self._task, *self._committing) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


class GroupCommit(Grouped[tuple[Op, "asyncio.Future[Any]"]]):
    def __init__(self, transaction: Transaction, *, max_group: int = 128,
                 in_flight: int = 1) -> None:
        """``transaction(fn, ops)`` runs ``fn(conn, ops)`` in one transaction and commits."""
        super().__init__(max_group=max_group, name="store-group-commit", in_flight=in_flight)
        self._transaction = transaction

    async def run(self, op: Callable[[sa.Connection], T]) -> T:
        """Run ``op`` in the next group's transaction; returns once that is committed."""
        fut: asyncio.Future[T] = self._future()
        self._add((op, fut))
        return await fut

    async def _write(self, group: list[tuple[Op, asyncio.Future[Any]]]) -> None:
        try:
            outcomes = await self._transaction(_apply, [op for op, _ in group])
        except asyncio.CancelledError:  # closing: nobody will commit these
            for _, fut in group:
                fut.cancel()
            raise
        for (_, fut), (ok, value) in zip(group, outcomes, strict=True):
            if fut.done():  # the caller was cancelled; its write stands
                continue
            if ok:
                fut.set_result(value)
            else:
                fut.set_exception(value)

    def _refuse(self, item: tuple[Op, asyncio.Future[Any]], exc: Exception) -> None:
        if not item[1].done():
            item[1].set_exception(exc)

    async def close(self) -> None:
        await super().close()
        for _, fut in self._pending:
            if not fut.done():
                fut.set_exception(StoreError("the store was closed before this write"))
        self._pending.clear()
