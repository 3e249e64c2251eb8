"""Raw rows behind the adoption KPIs: small plain records, read in three queries.

The store knows no flow and no time zone: it returns what happened since a UTC instant, and
``app.stats`` buckets it into local ISO weeks. Bucketing in Python keeps the SQL portable
(SQLite and PostgreSQL disagree on date functions and time zones) and the volumes are those of
one team's tooling: a few thousand rows a week.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa

from app.events import CLI_KEY_PREFIX
from app.store import tables as t
from app.store.store import Store

# Sources whose repeated deliveries are the hub's own re-submissions (the scheduler submits
# the current slot again every tick), not an item a person was spared from entering twice.
NOT_DOUBLE_ENTRY_SOURCES = ("schedule",)
# A succeeded run whose note starts so ended early on purpose (passerelle.stop: empty input).
STOPPED_PREFIX = "stopped at step "


@dataclass(frozen=True)
class RunRow:
    """One run: its flow, status, when its event was received, when it finished, by whom."""

    event_id: str
    flow: str
    status: str
    received_at: datetime
    finished_at: datetime | None
    actor: str | None
    note: str | None = None

    @property
    def stopped(self) -> bool:
        """Succeeded by ending early on purpose (nothing to do: empty input)."""
        return self.status == "succeeded" and (self.note or "").startswith(STOPPED_PREFIX)


@dataclass(frozen=True)
class DoubleEntryRow:
    """One double entry avoided for ``flow`` at ``at``.

    Either a repeated delivery of an event that ran this flow (counted at the repeat's arrival)
    or a step of this flow whose upsert updated instead of creating (counted at the run's
    event time).
    """

    flow: str
    at: datetime
    kind: str  # "event" | "step"


@dataclass
class KpiRows:
    runs: list[RunRow] = field(default_factory=list)
    double_entries: list[DoubleEntryRow] = field(default_factory=list)


async def kpi_rows(store: Store, *, since: datetime, until: datetime | None = None) -> KpiRows:
    """Everything the KPIs need about events received in ``[since, until)`` (UTC instants)."""
    r, e, d, s = t.runs, t.events, t.event_duplicates, t.run_steps

    def window(column: sa.ColumnElement[datetime]) -> sa.ColumnElement[bool]:
        cond = column >= since
        return sa.and_(cond, column < until) if until is not None else cond

    by_a_person = sa.not_(e.c.dedupe_key.startswith(CLI_KEY_PREFIX, autoescape=True))
    runs_q = (
        sa.select(r.c.event_id, r.c.flow, r.c.status, r.c.created_at, r.c.finished_at, e.c.actor,
                  r.c.error)
        .join(e, e.c.id == r.c.event_id)
        .where(window(r.c.created_at), by_a_person)
    )
    # One repeated delivery (a Slack retry, a webhook re-sent with its key) avoids one run of
    # every flow the original event started; the scheduler's own re-submissions do not count.
    dups_q = (
        sa.select(r.c.flow, d.c.received_at)
        .join(r, r.c.event_id == d.c.event_id)
        .join(e, e.c.id == d.c.event_id)
        .where(window(d.c.received_at), by_a_person,
               e.c.source.not_in(NOT_DOUBLE_ENTRY_SOURCES))
    )
    # An upsert that found the item it was about to create again (the runner records no
    # ``deduplicated`` for pages many items share, such as a sprint's retro page).
    steps_q = (
        sa.select(r.c.flow, r.c.created_at)
        .join(r, r.c.id == s.c.run_id)
        .join(e, e.c.id == r.c.event_id)
        .where(s.c.deduplicated.is_(True), s.c.status == "succeeded", window(r.c.created_at),
               by_a_person)
    )
    out = KpiRows()
    async with store.engines.read.connect() as conn:
        for row in await conn.execute(runs_q):
            out.runs.append(RunRow(row.event_id, row.flow, row.status, row.created_at,
                                   row.finished_at, row.actor, row.error))
        for dup in await conn.execute(dups_q):
            out.double_entries.append(DoubleEntryRow(dup.flow, dup.received_at, "event"))
        for step in await conn.execute(steps_q):
            out.double_entries.append(DoubleEntryRow(step.flow, step.created_at, "step"))
    return out
