"""Store backends for the integration and reliability suites (imported by their conftests).

``store_url`` yields a fresh SQLite file, and — whenever a PostgreSQL server answers — a fresh
PostgreSQL database created for this test and dropped afterwards. When no server answers, the
PostgreSQL cases are skipped loudly: the reason is printed in the terminal summary.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

PG_HOST = os.environ.get("PASSERELLE_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("PASSERELLE_TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("PASSERELLE_TEST_PG_USER", "postgres")
PG_ADMIN_DB = os.environ.get("PASSERELLE_TEST_PG_DB", "test")
NOT_REACHABLE = (f"PostgreSQL NOT REACHABLE at {PG_HOST}:{PG_PORT} "
                 f"— PostgreSQL store tests skipped")

_reachable: bool | None = None
_skipped_for_pg: list[str] = []


async def _admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER,
                                 database=PG_ADMIN_DB, timeout=3)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def pg_reachable() -> bool:
    global _reachable
    if _reachable is None:
        try:
            asyncio.run(_admin("SELECT 1"))
            _reachable = True
        except Exception:
            _reachable = False
    return _reachable


@pytest.fixture
def pg_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh PostgreSQL database for this test (dropped afterwards), or a loud skip."""
    if not pg_reachable():
        _skipped_for_pg.append(request.node.nodeid)
        pytest.skip(NOT_REACHABLE)
    name = f"passerelle_test_{secrets.token_hex(6)}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty store on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/store.db"
    url: str = request.getfixturevalue("pg_url")
    return url


_warned = False


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    global _warned
    if _skipped_for_pg and not _warned:
        _warned = True
        terminalreporter.write_sep("!", "WARNING: " + NOT_REACHABLE, red=True, bold=True)
        terminalreporter.write_line(f"{len(_skipped_for_pg)} PostgreSQL test(s) did not run.")
