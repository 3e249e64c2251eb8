"""Group commit for the worker's writes: many runs' checkpoints and outcomes, one transaction.

A worker runs many runs at once, and each step checkpoint or final status was its own
transaction: a commit, and on SQLite one event-loop round trip per statement. Here each
write is a synchronous function of a connection; the writes that arrive while a group is
being committed form the next group, which runs in one transaction (on SQLite in one trip to
the writer thread, like ingest). Each caller resumes after the commit of its own group, with
its own result or its own ``StoreError`` (``LeaseLost``): a write raises it before writing
anything, so it does not undo the others. Under no load a lone write commits at once.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

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


class GroupCommit:
    def __init__(self, transaction: Transaction, *, max_group: int = 128) -> None:
        """``transaction(fn, ops)`` runs ``fn(conn, ops)`` in one transaction and commits."""
        self._transaction = transaction
        self.max_group = max_group
        self._pending: list[tuple[Op, asyncio.Future[Any]]] = []
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def run(self, op: Callable[[sa.Connection], T]) -> T:
        """Run ``op`` in the next group's transaction; returns once that is committed."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._loop(), name="store-group-commit")
        fut: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._pending.append((op, fut))
        self._ready.set()
        return await fut

    async def _loop(self) -> None:
        while True:
            await self._ready.wait()
            self._ready.clear()
            while self._pending:
                group = self._pending[:self.max_group]
                del self._pending[:self.max_group]
                await self._commit(group)

    async def _commit(self, group: list[tuple[Op, asyncio.Future[Any]]]) -> None:
        try:
            outcomes = await self._transaction(_apply, [op for op, _ in group])
        except asyncio.CancelledError:  # closing: nobody will commit these
            for _, fut in group:
                fut.cancel()
            raise
        except Exception as exc:
            if len(group) > 1:  # one bad write must not fail the others: each alone again
                for item in group:
                    await self._commit([item])
                return
            outcomes = [(False, exc)]
        for (_, fut), (ok, value) in zip(group, outcomes, strict=True):
            if fut.done():  # the caller was cancelled; its write stands
                continue
            if ok:
                fut.set_result(value)
            else:
                fut.set_exception(value)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for _, fut in self._pending:
            if not fut.done():
                fut.set_exception(StoreError("the store was closed before this write"))
        self._pending.clear()
