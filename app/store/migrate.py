"""Schema migrations (Alembic), run programmatically at start-up and by tests."""

from __future__ import annotations

import asyncio
import weakref
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection

from app.store.engines import Engines

MIGRATIONS = Path(__file__).parent / "migrations"
# Any constant will do: it serialises concurrent start-ups on one PostgreSQL database.
_PG_LOCK_ID = 0x7061737365
_SQLITE_LOCKS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = \
    weakref.WeakKeyDictionary()


def _upgrade(conn: Connection) -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = conn
    command.upgrade(cfg, "head")


def _current(conn: Connection) -> str | None:
    if not sa.inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()


async def migrate(engines: Engines) -> None:
    """Bring the schema to the newest revision; safe to call from several processes at once."""
    if engines.dialect == "sqlite":
        # Stores opened at once in one process migrate one after another: connections of one
        # process switching a new file to WAL while another migrates it could deadlock.
        loop = asyncio.get_running_loop()
        lock = _SQLITE_LOCKS.setdefault(loop, asyncio.Lock())
        async with lock:
            await _migrate(engines)
    else:
        await _migrate(engines)


async def _migrate(engines: Engines) -> None:
    async with engines.write.begin() as conn:
        if engines.dialect == "postgresql":
            await conn.execute(sa.text(f"SELECT pg_advisory_xact_lock({_PG_LOCK_ID})"))
        await conn.run_sync(_upgrade)


async def current_revision(engines: Engines) -> str | None:
    async with engines.read.connect() as conn:
        return await conn.run_sync(_current)
