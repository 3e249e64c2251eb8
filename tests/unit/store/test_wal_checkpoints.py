"""WAL checkpoints run on their own thread, never inside a group commit on the event loop."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import sqlalchemy as sa

from app.store.engines import _sqlite_pragmas
from app.store.writer import SqliteWriter

ROW = "x" * 3000  # about one 4 KiB page per row


def _table(db: Path) -> None:
    setup = sqlite3.connect(db, isolation_level=None)
    setup.execute("PRAGMA journal_mode=WAL")
    setup.execute("CREATE TABLE t (v INTEGER PRIMARY KEY, pad TEXT)")
    setup.close()


def _insert_rows(conn: sa.Connection, first: int, count: int) -> None:
    conn.exec_driver_sql("INSERT INTO t (v, pad) SELECT value, ? FROM json_each(?)",
                         (ROW, str(list(range(first, first + count)))))


def _wal_pages(db: Path) -> int:
    size = db.with_name(db.name + "-wal").stat().st_size
    return max(size - 32, 0) // (4096 + 24)  # WAL header, then frames of header + page


async def test_commits_never_checkpoint_on_the_calling_thread(tmp_path: Path,
                                                              monkeypatch) -> None:
    db = tmp_path / "w.db"
    _table(db)
    writer = SqliteWriter(f"sqlite:///{db}", on_connect=_sqlite_pragmas)
    # Keep the checkpoint thread away: whatever gets checkpointed was done by the commits.
    monkeypatch.setattr(writer.checkpointer, "nudge", lambda: None)
    try:
        for i in range(30):  # 1,500 pages: SQLite's own automatic checkpoint would run
            await writer.run(_insert_rows, i * 50, 50)
        # With SQLite's automatic checkpoint the WAL would have started over at 1,000 pages.
        assert _wal_pages(db) >= 1500
    finally:
        await writer.dispose()


async def test_the_thread_checkpoints_and_the_wal_starts_over(tmp_path: Path) -> None:
    db = tmp_path / "w.db"
    _table(db)
    writer = SqliteWriter(f"sqlite:///{db}", on_connect=_sqlite_pragmas)
    try:
        for i in range(20):
            await writer.run(_insert_rows, i * 50, 50)
        deadline = time.monotonic() + 10
        while writer.checkpointer.checkpoints == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.2)  # the last nudge's checkpoint
        high_water = _wal_pages(db)
        for i in range(20, 40):  # the WAL was copied: these reuse its first pages
            await writer.run(_insert_rows, i * 50, 50)
            time.sleep(0.06)
        assert writer.checkpointer.checkpoints >= 2
        assert _wal_pages(db) <= high_water
        count = sqlite3.connect(db).execute("SELECT count(*) FROM t").fetchone()
        assert count == (2000,)
    finally:
        await writer.dispose()


async def test_commits_that_never_pause_still_let_the_wal_start_over(tmp_path: Path) -> None:
    """Each background checkpoint ends with pages left to copy when commits follow each other
    at once: past ``restart_pages`` the writer copies those itself after a commit, and its
    next transaction starts the WAL over. Without it the WAL would grow with every commit."""
    db = tmp_path / "w.db"
    _table(db)
    writer = SqliteWriter(f"sqlite:///{db}", on_connect=_sqlite_pragmas)
    writer.checkpointer.restart_pages = 300
    writer.checkpointer.interval = 0.0
    try:
        for i in range(2000):  # 10,000 pages, no pause between commits
            await writer.run(_insert_rows, i * 5, 5)
        assert writer.checkpointer.finishes >= 1
        assert _wal_pages(db) < 5000  # it started over at least once
        count = sqlite3.connect(db).execute("SELECT count(*) FROM t").fetchone()
        assert count == (10000,)
    finally:
        await writer.dispose()


async def test_after_a_burst_the_wal_file_is_trimmed_back(tmp_path: Path, monkeypatch) -> None:
    """A burst leaves a large ``-wal`` file behind; once it has been copied, the writer's next
    commit starts the WAL over and trims the file to ``JOURNAL_SIZE_LIMIT``."""
    monkeypatch.setattr("app.store.wal.JOURNAL_SIZE_LIMIT", 256 * 1024)
    db = tmp_path / "w.db"
    _table(db)
    writer = SqliteWriter(f"sqlite:///{db}", on_connect=_sqlite_pragmas)
    writer.checkpointer.interval = 0.0
    wal = db.with_name(db.name + "-wal")
    try:
        for i in range(400):  # 2,000 pages, no pause between commits
            await writer.run(_insert_rows, i * 5, 5)
        burst = wal.stat().st_size
        for n in range(3):  # pauses: the thread copies everything, the next commit restarts
            time.sleep(0.3)
            await writer.run(_insert_rows, 10_000 + n, 1)
        assert burst > 1024 * 1024
        assert wal.stat().st_size <= 256 * 1024
    finally:
        await writer.dispose()
