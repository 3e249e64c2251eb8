"""SQLite's writer for group commits: a whole transaction in one call, on the loop if it can.

Through aiosqlite every statement is a round trip between its thread and the event loop, and
under load each return to a busy loop waits a full loop turn: a five-statement ingest then
took tens of milliseconds while each request waited for it. Here a group commit's whole
transaction runs in one synchronous call (plain ``sqlite3``, one connection kept open).

Where the call runs: SQLite does a group's work in a few milliseconds of CPU, and when the
thread that ran it was another than the event loop's, the hand-offs (waking the thread, the
GIL going back and forth, the result coming back through the loop) cost more CPU than they
saved and doubled the wall time of each group (docs/performance.md). So the transaction runs
on the calling (event loop) thread whenever the write lock is free at once. When another
connection holds it (a second process, the async engine's writer), waiting on the loop would
stall every request, so the transaction goes to a dedicated thread that waits for the lock
(up to ``BUSY_TIMEOUT`` seconds, as the other connections' busy timeout). Transactions never
overlap on the connection: while one waits on the thread, later ones queue behind it. WAL
checkpoints, which SQLite would otherwise run inside a commit, have a thread of their own
(wal.py).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event

from app.store import wal
from app.store.bulk import STATEMENT_CACHE

T = TypeVar("T")
BUSY_TIMEOUT = 30.0


class _Busy(Exception):
    """The write lock is held elsewhere and this transaction may not wait for it here."""


def _locked(exc: sa.exc.OperationalError) -> bool:
    return "database is locked" in str(exc.orig) or "database is busy" in str(exc.orig)


def _writer_pragmas(dbapi: Any, _record: Any) -> None:
    dbapi.execute("PRAGMA busy_timeout=0")
    dbapi.execute("PRAGMA wal_autocheckpoint=0")
    # SQLite trims the WAL file in the connection whose commit starts the WAL over: this one.
    dbapi.execute(f"PRAGMA journal_size_limit={wal.JOURNAL_SIZE_LIMIT}")


class SqliteWriter:
    """Runs ``fn(connection, *args)`` inside one ``BEGIN IMMEDIATE`` transaction."""

    def __init__(self, url: str, *, on_connect: Callable[[Any, Any], None]) -> None:
        # One connection, used by the loop's thread or by the writer thread, never both at
        # once (see ``run``); the pool never hands it to anyone else.
        self.engine = sa.create_engine(url, pool_size=1, max_overflow=0,
                                       connect_args={"check_same_thread": False,
                                                     "cached_statements": STATEMENT_CACHE})
        event.listen(self.engine, "connect", on_connect)
        # After the pragmas (the switch to WAL needs the busy timeout): this connection never
        # sleeps inside SQLite; ``_begin`` decides whether and where to wait.
        # It never checkpoints the WAL either: ``checkpointer``'s thread does (wal.py).
        event.listen(self.engine, "connect", _writer_pragmas)
        self.checkpointer = wal.WalCheckpointer(str(self.engine.url.database))
        event.listen(self.engine, "begin", self._begin)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-writer")
        self._conn: sa.Connection | None = None
        self._patient = False  # set for the transaction being begun: may it wait for the lock?
        self._on_thread = 0  # transactions handed to the thread and not finished yet

    def _begin(self, conn: sa.Connection) -> None:
        delay, deadline = 0.001, time.monotonic() + BUSY_TIMEOUT
        while True:
            try:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
                return
            except sa.exc.OperationalError as exc:
                if not _locked(exc):
                    raise
                if not self._patient:
                    raise _Busy from None
                if time.monotonic() >= deadline:
                    raise
            time.sleep(delay)
            delay = min(delay * 2, 0.05)

    def _transaction(self, patient: bool, fn: Callable[..., T], *args: Any) -> T:
        if self._conn is None or self._conn.closed or self._conn.invalidated:
            self._conn = self.engine.connect()
        self._patient = patient
        with self._conn.begin():
            result = fn(self._conn, *args)
        if self.checkpointer.finish_due:
            # The driver's connection, in autocommit: through SQLAlchemy's, the checkpoint
            # would begin a transaction, and a checkpoint cannot run inside one.
            driver = self._conn.connection.driver_connection
            assert driver is not None  # a live connection: it just committed
            self.checkpointer.finish(driver)
        self.checkpointer.nudge()
        return result

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
        self.engine.dispose()
        self.checkpointer.close()

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        if not self._on_thread:
            try:
                return self._transaction(False, fn, *args)
            except _Busy:
                pass
        loop = asyncio.get_running_loop()
        self._on_thread += 1
        job = self._executor.submit(self._transaction, True, fn, *args)
        # Counted down when the thread is done with it, even if our caller is cancelled
        # first: until then the connection is the thread's.
        job.add_done_callback(lambda _: loop.call_soon_threadsafe(self._thread_done))
        return await asyncio.wrap_future(job)

    def _thread_done(self) -> None:
        self._on_thread -= 1

    async def dispose(self) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._close)
        self._executor.shutdown(wait=True)
