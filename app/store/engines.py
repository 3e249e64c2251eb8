"""Database engines per URL scheme; drivers are imported lazily by SQLAlchemy."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from app.errors import ConfigError
from app.store.writer import SqliteWriter


@dataclass(frozen=True)
class Engines:
    """``write`` takes every write transaction, ``read`` serves queries.

    On SQLite there is one writer connection whose transactions start with ``BEGIN IMMEDIATE``
    (so two writers wait for each other instead of failing on a lock upgrade) and a pool of
    readers that WAL lets run beside it. On PostgreSQL both are the same pooled engine.
    ``ingest`` (SQLite only) runs group commits in one synchronous call (writer.py).
    ``statements`` (PostgreSQL only) is the pool of ingest's one-statement commits: it skips
    the check that costs a round trip at every checkout, because ingest sees a lost
    connection itself and tries again on a new one (``Store._ingest_one_statement``).
    """

    write: AsyncEngine
    read: AsyncEngine
    dialect: str
    ingest: SqliteWriter | None = None
    statements: AsyncEngine | None = None

    async def dispose(self) -> None:
        if self.ingest is not None:
            await self.ingest.dispose()
        if self.statements is not None:
            await self.statements.dispose()
        await self.write.dispose()
        if self.read is not self.write:
            await self.read.dispose()


def async_url(url: str) -> str:
    """``sqlite:///x`` → ``sqlite+aiosqlite:///x``; ``postgresql://`` → ``postgresql+asyncpg://``."""
    if url.startswith("sqlite+aiosqlite://") or url.startswith("postgresql+asyncpg://"):
        return url
    if url.startswith("sqlite://"):
        return "sqlite+aiosqlite://" + url.removeprefix("sqlite://")
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url.removeprefix(prefix)
    raise ConfigError(
        "PASSERELLE_DATABASE_URL must start with sqlite:/// or postgresql:// "
        f"(got {url.split(':')[0]}:...)"
    )


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # The driver must not open transactions on its own: we emit BEGIN ourselves.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    # First: switching to WAL takes a lock that another connection may hold for a moment.
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA journal_mode=WAL")
    # NORMAL in WAL mode survives a crash of the process (only power loss can drop the last
    # commits), which is the durability the ack promises.
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def make_engines(url: str) -> Engines:
    full = async_url(url)
    if full.startswith("sqlite"):
        if ":memory:" in full or full.rstrip("/").endswith("sqlite+aiosqlite:"):
            raise ConfigError(
                "an in-memory SQLite store would lose accepted events; give a file path")
        write = create_async_engine(full, pool_size=1, max_overflow=0, pool_timeout=60)
        read = create_async_engine(full, pool_size=4, max_overflow=4)
        for eng in (write, read):
            event.listen(eng.sync_engine, "connect", _sqlite_pragmas)
        event.listen(
            write.sync_engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE")
        )
        event.listen(read.sync_engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN"))
        ingest = SqliteWriter(full.replace("sqlite+aiosqlite://", "sqlite://", 1),
                              on_connect=_sqlite_pragmas)
        return Engines(write=write, read=read, dialect="sqlite", ingest=ingest)
    engine = create_async_engine(full, pool_size=10, max_overflow=10, pool_pre_ping=True)
    statements = create_async_engine(full, pool_size=4, max_overflow=4)
    return Engines(write=engine, read=engine, dialect="postgresql", statements=statements)
