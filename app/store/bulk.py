"""Ingest's inserts: a whole group of rows in one statement per table.

Through ``executemany`` every row is its own ``sqlite3_step`` (or, on PostgreSQL, its own
bind and execute of a prepared statement), with Python work around each (SQLAlchemy's type
processing, binding). Here the rows go in one statement and the database unpacks them
itself: the per-row work is in C.

**SQLite**: one ``INSERT ... VALUES (?, ...), (?, ...)`` of as many rows as the group has
(the statement text is cached per row count, and so is SQLite's prepared statement: the
writer's connection keeps up to ``STATEMENT_CACHE`` of them). Datetimes go in as the text
SQLAlchemy stores for them (``sqlite_stamp``, checked against SQLAlchemy's own in the
tests), and ``data`` as JSON text. An earlier version sent the rows as one JSON array
unpacked by ``json_each`` and ``json_extract``: measured alternately, the
``VALUES`` form took 0.040 to 0.046 against 0.046 to 0.054 ms of CPU per stored event (groups of
30, six runs each). Rows whose ``data`` JSON cannot carry exactly (NaN, values that are not
JSON) raise ``Unsupported`` before anything is written, and the caller uses SQLAlchemy's path
for them.

**PostgreSQL**: one array per column, unpacked by ``unnest`` (asyncpg encodes the arrays in
its binary format); ``data`` goes as JSON text cast to ``jsonb``. Rows jsonb would refuse
(NaN, NUL) raise ``Unsupported`` too, and SQLAlchemy's path gives the database's own error.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from app.store.tables import naive_utc


class Unsupported(ValueError):
    """These rows cannot go in this way (NaN, NUL on PostgreSQL): insert them another way."""


MAX_ROWS = 256  # per SQLite statement (it takes up to 32,766 values: 4,681 rows of seven)
STATEMENT_CACHE = 1024  # prepared statements the writer's connection keeps (one per size)


@functools.lru_cache(maxsize=STATEMENT_CACHE)
def _values(head: str, columns: int, rows: int, tail: str) -> str:
    row = "(" + ", ".join("?" * columns) + ")"
    return f"{head}VALUES {', '.join([row] * rows)}{tail}"


def _unnest(columns: Sequence[str], types: Sequence[str], first: int = 1) -> str:
    arrays = ", ".join(f"${i}::{kind}[]" for i, kind in enumerate(types, first))
    picks = ", ".join(f"{c}::jsonb" if c == "data" else c for c in columns)
    return f"SELECT {picks} FROM unnest({arrays}) AS u({', '.join(columns)})"


_EVENT_COLUMNS = ("id", "source", "type", "dedupe_key", "actor", "received_at", "data", "kind")
_EVENT_TYPES = ("varchar",) * 5 + ("timestamp", "text", "varchar")
_RUN_COLUMNS = ("id", "event_id", "flow", "status", "attempt", "not_before", "created_at")
_RUN_TYPES = ("varchar",) * 4 + ("int", "timestamp", "timestamp")
_INTO_EVENTS = f"INSERT INTO events ({', '.join(_EVENT_COLUMNS)}) "
_INTO_RUNS = f"INSERT INTO runs ({', '.join(_RUN_COLUMNS)}) "
EVENTS_SQL = {"sqlite": (_INTO_EVENTS, " ON CONFLICT DO NOTHING"),
              "postgresql": f"{_INTO_EVENTS}{_unnest(_EVENT_COLUMNS, _EVENT_TYPES)}"
                            " ON CONFLICT DO NOTHING"}
RUNS_SQL = {"sqlite": (_INTO_RUNS, ""),
            "postgresql": _INTO_RUNS + _unnest(_RUN_COLUMNS, _RUN_TYPES)}
# Store._ingest_one_statement: new events and the runs of those that went in; returns their ids.
PG_INGEST = (f"WITH e AS ({EVENTS_SQL['postgresql']} RETURNING id), "
             f"r AS ({_INTO_RUNS}{_unnest(_RUN_COLUMNS, _RUN_TYPES, len(_EVENT_TYPES) + 1)}"
             " WHERE u.event_id IN (SELECT id FROM e)) SELECT id FROM e")


def sqlite_stamp(value: datetime) -> str:
    """The text SQLAlchemy stores for an aware datetime on SQLite (``tables.UTCDateTime``):
    naive UTC, always with microseconds. ``isoformat`` in C, a tenth of SQLAlchemy's cost."""
    return naive_utc(value).isoformat(" ", "microseconds")


# Built once: json.dumps with any option builds a new encoder on every call.
_ENCODER = json.JSONEncoder(allow_nan=False)


def _json(value: Any) -> str:
    try:
        return _ENCODER.encode(value)
    except (TypeError, ValueError) as exc:
        raise Unsupported(str(exc)) from None


def _insert(conn: sa.Connection, sql: dict[str, Any], rows: list[list[Any]]) -> int:
    if conn.dialect.name == "sqlite":
        head, tail = sql["sqlite"]
        count = 0
        for start in range(0, len(rows), MAX_ROWS):
            chunk = rows[start:start + MAX_ROWS]
            statement = _values(head, len(chunk[0]), len(chunk), tail)
            params = tuple(value for row in chunk for value in row)
            count += conn.exec_driver_sql(statement, params).rowcount
        return count
    return int(conn.exec_driver_sql(sql["postgresql"], _columns(rows)).rowcount)


def _columns(rows: list[list[Any]]) -> tuple[list[Any], ...]:
    """PostgreSQL: one array per column. Neither jsonb nor text can hold a NUL (a string that
    merely looks like the escape takes SQLAlchemy's path too, which stores it)."""
    columns = tuple(list(column) for column in zip(*rows, strict=True))
    if any("\\u0000" in v or "\x00" in v
           for column in columns for v in column if isinstance(v, str)):
        raise Unsupported("a value holds a NUL character")
    return columns


def insert_events(conn: sa.Connection, rows: Sequence[dict[str, Any]]) -> int:
    """Insert ``rows`` (dicts of the events table), skipping stored dedupe keys; returns how
    many went in."""
    return _insert(conn, EVENTS_SQL, _event_values(rows, conn.dialect.name))


def insert_runs(conn: sa.Connection, rows: Sequence[dict[str, Any]]) -> int:
    return _insert(conn, RUNS_SQL, _run_values(rows, conn.dialect.name))


def pg_ingest_params(events: Sequence[dict[str, Any]],
                     runs: Sequence[dict[str, Any]]) -> tuple[list[Any], ...]:
    """``PG_INGEST``'s parameters: the events' column arrays, then the runs'."""
    columns = _columns(_event_values(events, "postgresql"))
    if not runs:  # unnest of empty arrays: no runs (a group of events no flow takes)
        return columns + tuple([] for _ in _RUN_COLUMNS)
    return columns + _columns(_run_values(runs, "postgresql"))


def _event_values(rows: Sequence[dict[str, Any]], dialect: str) -> list[list[Any]]:
    if any(not isinstance(r["data"], dict) for r in rows):
        raise Unsupported("event data must be a JSON object")
    stamp: Any = sqlite_stamp if dialect == "sqlite" else naive_utc
    return [[r["id"], r["source"], r["type"], r["dedupe_key"], r["actor"],
             stamp(r["received_at"]), _json(r["data"]), r.get("kind")] for r in rows]


def _run_values(rows: Sequence[dict[str, Any]], dialect: str) -> list[list[Any]]:
    stamp = sqlite_stamp if dialect == "sqlite" else naive_utc
    out = []
    for r in rows:
        due: Any = stamp(r["not_before"])  # at ingest, created when due
        created = due if r["created_at"] is r["not_before"] else stamp(r["created_at"])
        out.append([r["id"], r["event_id"], r["flow"], r["status"], r["attempt"], due, created])
    return out
