"""Ingest's inserts on SQLite: a whole group of rows in one statement.

Through ``executemany`` every row is its own ``sqlite3_step``, with Python work around each
(SQLAlchemy's type processing, binding). Here the rows travel as one JSON array and SQLite
unpacks them itself (``json_each``): one step per table, the per-row work in C. On the
writer's thread (writer.py, when the lock is contended) each step also made the thread take
the GIL back from the busy event loop: a group of 30 events took about 12 ms of wall time for
4 ms of work. On the loop's thread the two paths cost about the same CPU (0.106 against
0.110 ms per event, docs/performance.md).

Values go in as JSON: text and numbers as they are, datetimes as the text SQLAlchemy stores
for them (``sqlite_stamp``, checked against SQLAlchemy's own in the tests), and the ``data``
object embedded as JSON, which SQLite keeps verbatim. Rows that JSON cannot carry exactly
(NaN, values that are not JSON, NUL characters) raise ``Unsupported`` before anything is
written, and the caller uses SQLAlchemy's path for them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa


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


def sqlite_stamp(value: datetime) -> str:
    """The text SQLAlchemy stores for an aware datetime on SQLite (``tables.UTCDateTime``):
    naive UTC, always with microseconds. ``isoformat`` in C, a tenth of SQLAlchemy's cost."""
    if value.tzinfo is None:
        raise ValueError("naive datetime given to the store; use aware UTC datetimes")
    if value.utcoffset():
        value = value.astimezone(UTC)
    return value.replace(tzinfo=None).isoformat(" ", "microseconds")


def _insert(conn: sa.Connection, sql: str, rows: list[list[Any]]) -> int:
    try:
        payload = json.dumps(rows, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise Unsupported(str(exc)) from None
    if "\\u0000" in payload:  # SQLite's text functions could cut a value at a NUL
        raise Unsupported("a value holds a NUL character")
    return int(conn.exec_driver_sql(sql, (payload,)).rowcount)


def insert_events(conn: sa.Connection, rows: Sequence[dict[str, Any]]) -> int:
    """Insert ``rows`` (dicts of the events table), skipping stored dedupe keys; returns how
    many went in."""
    if any(not isinstance(r["data"], dict) for r in rows):
        raise Unsupported("event data must be a JSON object")
    return _insert(conn, EVENTS_SQL, [
        [r["id"], r["source"], r["type"], r["dedupe_key"], r["actor"],
         sqlite_stamp(r["received_at"]), r["data"]] for r in rows])


def insert_runs(conn: sa.Connection, rows: Sequence[dict[str, Any]]) -> int:
    out = []
    for r in rows:
        due = sqlite_stamp(r["not_before"])  # at ingest, created when due
        created = due if r["created_at"] is r["not_before"] else sqlite_stamp(r["created_at"])
        out.append([r["id"], r["event_id"], r["flow"], r["status"], r["attempt"], due, created])
    return _insert(conn, RUNS_SQL, out)
