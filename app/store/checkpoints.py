"""The worker's writes, as synchronous operations for a group commit (group.py).

A step checkpoint and a run's final status are written only by the worker holding the run's
lease; each operation checks that inside the transaction and raises ``LeaseLost`` before
writing anything, so a group's other writes stand. The statements are built once per
dialect with bound parameters: building them per call (``values()``, ``on_conflict``) cost
more CPU than executing them.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from app.errors import StoreError
from app.store import tables as t
from app.store.records import StepRecord

_STEP_COLUMNS = ("position", "action", "status", "attempt", "input", "output", "error",
                 "deduplicated", "started_at", "finished_at")


class LeaseLost(StoreError):
    """The run is no longer held by this worker (its lease expired and another took it)."""


@dataclass(frozen=True)
class _Statements:
    holder: Any  # the run's lease owner and status, locked (FOR UPDATE on PostgreSQL)
    step: Any  # upsert of one step checkpoint
    finished: Any  # final status with finished_at (succeeded, failed)
    retrying: Any  # back to the queue with not_before


@functools.lru_cache(maxsize=2)
def statements(dialect: str) -> _Statements:
    r, s = t.runs, t.run_steps
    insert = (postgresql if dialect == "postgresql" else sqlite).insert(s)
    mine = (r.c.id == sa.bindparam("b_run_id"), r.c.lease_owner == sa.bindparam("b_worker"),
            r.c.status == "running")
    release: dict[str, Any] = {"lease_owner": None, "lease_until": None,
                               "status": sa.bindparam("b_status"),
                               "error": sa.bindparam("b_error")}
    return _Statements(
        holder=sa.select(r.c.lease_owner, r.c.status)
        .where(r.c.id == sa.bindparam("b_run_id")).with_for_update(),
        step=insert.on_conflict_do_update(
            index_elements=["run_id", "step_id"],
            set_={c: insert.excluded[c] for c in _STEP_COLUMNS}),
        finished=sa.update(r).where(*mine).values(
            **release, finished_at=sa.bindparam("b_finished_at", type_=r.c.finished_at.type)),
        retrying=sa.update(r).where(*mine).values(
            **release, not_before=sa.bindparam("b_not_before", type_=r.c.not_before.type)),
    )


def record_step(conn: sa.Connection, *, run_id: str, worker: str, step: StepRecord) -> None:
    """Checkpoint ``step`` if ``worker`` still holds the run; else LeaseLost."""
    stmts = statements(conn.dialect.name)
    # FOR UPDATE (PostgreSQL): a claim by another worker cannot slip in between this check
    # and the write that follows it.
    holder = conn.execute(stmts.holder, {"b_run_id": run_id}).first()
    if holder is None or holder.lease_owner != worker or holder.status != "running":
        raise LeaseLost(f"run {run_id} is no longer held by worker {worker}")
    conn.execute(stmts.step, {
        "run_id": run_id, "step_id": step.step_id, "position": step.position,
        "action": step.action, "status": step.status, "attempt": step.attempt,
        "input": step.input, "output": step.output, "error": step.error,
        "deduplicated": step.deduplicated, "started_at": step.started_at,
        "finished_at": step.finished_at,
    })


def end(conn: sa.Connection, *, run_id: str, worker: str, status: str, error: str | None,
        finished_at: datetime | None = None, not_before: datetime | None = None) -> None:
    """The run's final status (or its retry), guarded by its lease in the WHERE: LeaseLost
    when that matched nothing, so nothing was written."""
    stmts = statements(conn.dialect.name)
    params: dict[str, Any] = {"b_run_id": run_id, "b_worker": worker, "b_status": status,
                              "b_error": error}
    if not_before is not None:
        stmt = stmts.retrying
        params["b_not_before"] = not_before
    else:
        stmt = stmts.finished
        params["b_finished_at"] = finished_at
    if conn.execute(stmt, params).rowcount != 1:
        raise LeaseLost(f"run {run_id} is no longer held by worker {worker}")
