"""SQLite ingest writer: a whole transaction per trip to a thread that owns one connection.

Through aiosqlite every statement is a round trip between its thread and the event loop, and
under load each return to a busy loop waits a full loop turn: a five-statement ingest then
took tens of milliseconds while each request waited for it. Here the group commit's whole
transaction runs in one call on a dedicated thread (plain ``sqlite3``), so it costs one trip.
SQLite serialises this connection and the async writer with ``BEGIN IMMEDIATE`` and the busy
timeout, exactly as it serialises two processes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event

T = TypeVar("T")


class ThreadWriter:
    """Runs ``fn(connection, *args)`` inside one transaction on the writer thread."""

    def __init__(self, url: str, *, on_connect: Callable[[Any, Any], None]) -> None:
        # One thread, one connection: the pool never hands the connection to another thread.
        self.engine = sa.create_engine(url, pool_size=1, max_overflow=0)
        event.listen(self.engine, "connect", on_connect)
        event.listen(self.engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-writer")
        # Kept open by the thread: a pool check-out and check-in per transaction cost as
        # much as a small transaction itself.
        self._conn: sa.Connection | None = None

    def _transaction(self, fn: Callable[..., T], *args: Any) -> T:
        if self._conn is None or self._conn.closed or self._conn.invalidated:
            self._conn = self.engine.connect()
        with self._conn.begin():
            return fn(self._conn, *args)

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
        self.engine.dispose()

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._transaction, fn, *args)

    async def dispose(self) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._close)
        self._executor.shutdown(wait=True)
