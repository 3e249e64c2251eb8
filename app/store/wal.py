"""SQLite's WAL checkpoints, on a thread of their own instead of on the event loop.

In WAL mode every commit appends the pages it changed to the ``-wal`` file; a checkpoint
copies them back into the database file and syncs both. By default the connection that
commits runs the checkpoint itself, inside its commit, once the WAL holds 1,000 pages. Group
commits run on the event loop's thread (writer.py), so that meant the loop stood still for
the copy and two ``fsync`` calls — 8 to 10 ms every few dozen groups under load, during which no
request was read or answered (docs/performance.md).

Here the group-commit connection never checkpoints (``wal_autocheckpoint=0``), and this
thread does it with a connection of its own: a ``PASSIVE`` checkpoint, which takes no lock
that writers or readers wait for, at most every ``interval`` seconds while commits come in.
SQLite starts the WAL over from its beginning at the first write after a checkpoint that
copied every page, so the file stays small. Under commits that never pause, that never
happens: each background checkpoint takes longer than the gap between two commits, so some
pages are always left to copy, and a ``RESTART`` checkpoint from this thread would wait for
the write lock behind commits that follow each other at once. So once the WAL holds
``restart_pages`` pages, ``finish_due`` asks the writer to run one passive checkpoint itself,
right after a commit (``finish``): it only copies the pages written since the background
checkpoint, and the writer's next transaction starts the WAL over. The writer's connection
has ``journal_size_limit`` set (writer.py): SQLite trims the file back there, in the commit
that starts the WAL over after a burst.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time

log = logging.getLogger("passerelle.store")

RESTART_PAGES = 10_000  # ~40 MB of 4 KiB pages: past this, the writer helps (``finish``)
JOURNAL_SIZE_LIMIT = 64 * 1024 * 1024  # bytes the WAL file is trimmed to after a restart


class WalCheckpointer:
    """Checkpoints ``path``'s WAL on a daemon thread whenever ``nudge`` says it grew."""

    def __init__(self, path: str, *, interval: float = 0.05,
                 restart_pages: int = RESTART_PAGES) -> None:
        self.path = path
        self.interval = interval
        self.restart_pages = restart_pages
        self._wake = threading.Event()
        self._stop = False
        self._thread: threading.Thread | None = None
        self.checkpoints = 0  # background checkpoints run (for tests)
        self.finishes = 0  # checkpoints the writer ran itself so that the WAL starts over
        self.finish_due = False

    def nudge(self) -> None:
        """A transaction committed: checkpoint soon. Cheap enough to call after every commit."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="sqlite-checkpoint",
                                            daemon=True)
            self._thread.start()
        self._wake.set()

    def close(self) -> None:
        """Stop the thread after a last checkpoint of what was committed."""
        thread, self._thread = self._thread, None
        if thread is not None:
            self._stop = True
            self._wake.set()
            thread.join()

    def _run(self) -> None:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            conn.execute("PRAGMA busy_timeout=30000")
            while True:
                self._wake.wait()
                self._wake.clear()
                self._checkpoint(conn)
                if self._stop:
                    return
                time.sleep(self.interval)  # let commits accumulate: one checkpoint per interval
        finally:
            conn.close()

    def _checkpoint(self, conn: sqlite3.Connection) -> None:
        try:
            _busy, pages, _copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            self.checkpoints += 1
            if pages >= self.restart_pages:
                self.finish_due = True
        except sqlite3.Error as exc:  # the next nudge tries again; SQLite keeps the WAL
            log.warning("WAL checkpoint failed: %s", exc)

    def finish(self, conn: sqlite3.Connection) -> None:
        """Called by the writer with its own connection right after a commit, when
        ``finish_due``. Busy (the thread is copying right now): the writer tries again after
        its next commit."""
        busy, _pages, _copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        if not busy:
            self.finish_due = False
            self.finishes += 1
