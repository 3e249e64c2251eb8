"""Ingest's inserts on SQLite: a whole group of rows in one statement.

Through ``executemany`` every row is its own ``sqlite3_step``, and Python's ``sqlite3`` lets go
of the GIL around each step and must take it back afterwards. On a busy server the writer
thread then waited for the event loop's thread once per row: a group of 30 events took about
12 ms of wall time for 4 ms of work, and every request of the group waited for it. Here the
rows travel as one JSON array and SQLite unpacks them itself (``json_each``): one step per
table, and the per-row work (parsing, index and foreign-key checks) runs without the GIL.

Values go in as JSON: text and numbers as they are, datetimes as the text SQLAlchemy stores
for them (its own bind processor), and the ``data`` object embedded as JSON, which SQLite
keeps verbatim. Rows that JSON cannot carry exactly (NaN, values that are not JSON, NUL
characters) raise
``Unsupported`` before anything is written, and the caller uses SQLAlchemy's path for them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from app.store import tables as t


class Unsupported(ValueError):
    """These rows cannot travel as JSON: insert them another way."""


def _select(columns: Sequence[str]) -> str:
    picks = ", ".join(f"json_extract(value, '$[{i}]')" for i in range(len(columns)))
    return f"SELECT {picks} FROM json_each(?)"


# ``WHERE true``: SQLite's grammar needs it between a SELECT and an upsert clause.
_EVENT_COLUMNS = ("id", "source", "type", "dedupe_key", "actor", "received_at", "data")
EVENTS_SQL = (f"INSERT INTO events ({', '.join(_EVENT_COLUMNS)}) {_select(_EVENT_COLUMNS)}"
              " WHERE true ON CONFLICT DO NOTHING")
_RUN_COLUMNS = ("id", "event_id", "flow", "status", "attempt", "not_before", "created_at")
RUNS_SQL = f"INSERT INTO runs ({', '.join(_RUN_COLUMNS)}) {_select(_RUN_COLUMNS)}"


class SqliteBulk:
    """Inserts events and runs rows, one statement per table."""

    def __init__(self, dialect: sa.Dialect) -> None:
        # dialect_impl: the decorator chained to SQLite's own DATETIME (its text format).
        column_type = t.events.c.received_at.type
        processor = column_type.dialect_impl(dialect).bind_processor(dialect)
        if processor is None:  # pragma: no cover - SQLite's DateTime always has one
            raise RuntimeError("no datetime bind processor for SQLite")
        self._stamp: Callable[[datetime], str] = processor

    def _run(self, conn: sa.Connection, sql: str, rows: list[list[Any]]) -> int:
        try:
            payload = json.dumps(rows, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise Unsupported(str(exc)) from None
        if "\\u0000" in payload:  # SQLite's text functions could cut a value at a NUL
            raise Unsupported("a value holds a NUL character")
        return int(conn.exec_driver_sql(sql, (payload,)).rowcount)

    def events(self, conn: sa.Connection, rows: Sequence[dict[str, Any]]) -> int:
        """Insert ``rows`` (dicts of the events table), skipping stored dedupe keys; returns
        how many went in."""
        if any(not isinstance(r["data"], dict) for r in rows):
            raise Unsupported("event data must be a JSON object")
        stamp = self._stamp
        return self._run(conn, EVENTS_SQL, [
            [r["id"], r["source"], r["type"], r["dedupe_key"], r["actor"],
             stamp(r["received_at"]), r["data"]] for r in rows])

    def runs(self, conn: sa.Connection, rows: Sequence[dict[str, Any]]) -> int:
        stamp = self._stamp
        return self._run(conn, RUNS_SQL, [
            [r["id"], r["event_id"], r["flow"], r["status"], r["attempt"],
             stamp(r["not_before"]), stamp(r["created_at"])] for r in rows])
