"""SQLite's group-commit writer: inline when the lock is free, on its thread when it is not."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import sqlalchemy as sa

from app.store.engines import _sqlite_pragmas
from app.store.writer import SqliteWriter


def _insert(conn: sa.Connection, value: int) -> str:
    conn.exec_driver_sql("INSERT INTO t (v) VALUES (?)", (value,))
    return threading.current_thread().name


async def test_runs_inline_when_free_and_waits_on_its_thread_when_locked(tmp_path: Path) -> None:
    db = tmp_path / "w.db"
    other = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    other.execute("PRAGMA journal_mode=WAL")
    other.execute("CREATE TABLE t (v INTEGER)")
    writer = SqliteWriter(f"sqlite:///{db}", on_connect=_sqlite_pragmas)
    try:
        # Free lock: the transaction runs on the caller's (the loop's) thread.
        assert await writer.run(_insert, 1) == threading.current_thread().name

        # Another connection holds the write lock for 0.5 s: the writer must wait for it
        # without blocking the event loop, and must not fail.
        other.execute("BEGIN IMMEDIATE")
        threading.Timer(0.5, lambda: other.execute("COMMIT")).start()
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        tick_task = asyncio.create_task(ticker())
        first, second = await asyncio.gather(writer.run(_insert, 2), writer.run(_insert, 3))
        tick_task.cancel()
        assert first.startswith("sqlite-writer") and second.startswith("sqlite-writer")
        assert ticks >= 20  # the loop kept turning while the lock was held elsewhere

        # Lock free again: back on the loop's thread.
        assert await writer.run(_insert, 4) == threading.current_thread().name
        assert [v for (v,) in other.execute("SELECT v FROM t ORDER BY v")] == [1, 2, 3, 4]
    finally:
        await writer.dispose()
        other.close()


async def test_a_failing_transaction_rolls_back_and_the_writer_goes_on(tmp_path: Path) -> None:
    db = tmp_path / "w.db"
    setup = sqlite3.connect(db)
    setup.execute("CREATE TABLE t (v INTEGER UNIQUE)")
    setup.close()
    writer = SqliteWriter(f"sqlite:///{db}", on_connect=_sqlite_pragmas)
    try:
        def twice(conn: sa.Connection) -> None:
            _insert(conn, 7)
            _insert(conn, 7)

        try:
            await writer.run(twice)
        except sa.exc.IntegrityError:
            pass
        else:
            raise AssertionError("the duplicate insert should fail")
        await writer.run(_insert, 8)

        def values(conn: sa.Connection) -> list[int]:
            return [v for (v,) in conn.exec_driver_sql("SELECT v FROM t")]

        assert await writer.run(values) == [8]
    finally:
        await writer.dispose()
