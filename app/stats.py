"""Adoption KPIs per flow and per ISO week, in a configurable time zone.

The same numbers feed ``passerelle stats``, ``GET /api/stats``, the dashboard and the
``passerelle.stats`` action. Definitions (also in docs/dashboard.md):

- a run belongs to the week its event was received in (local time of ``timezone``);
- events: events that started a run of the flow (totals: distinct events);
- succeeded / failed / pending: the runs' statuses now (pending: queued, running, retrying);
  skipped: succeeded runs that ended early on purpose (empty input), not in succeeded;
- duplicates prevented: repeated deliveries of those events (counted in the week the repeat
  arrived; not the scheduler's re-submissions) plus upserts that found the item they were
  about to create (not a page many items share, such as a sprint's retro page);
- events made on the CLI (``passerelle run``) are not adoption: left out of every number;
- contributors: distinct actors (Slack user, webhook author) of those events;
- median / p95: seconds from event received to run finished, over succeeded runs,
  percentiles by linear interpolation between closest ranks (numpy's default).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from app.errors import ConfigError
from app.events import utcnow
from app.stats_text import digest_text
from app.store.stats import KpiRows, kpi_rows
from app.store.store import Store

MAX_WEEKS = 104


def zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name``, or a clear error."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"unknown time zone '{name}' (use an IANA name such as "
                          f"Europe/Paris or UTC)") from None


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile (0 to 100) by linear interpolation; None for no values."""
    if not values:
        return None
    if not 0 <= q <= 100:
        raise ValueError("percentile must be between 0 and 100")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def week_start(day: date) -> date:
    """The Monday of ``day``'s ISO week."""
    return day - timedelta(days=day.weekday())


def week_label(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    """``day`` at 00:00 in ``tz``, as a UTC instant (DST-correct)."""
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


@dataclass
class Bucket:
    """Counters for one flow (or all flows) over one week (or the whole window)."""

    events: set[str] = field(default_factory=set)
    succeeded: int = 0
    failed: int = 0
    pending: int = 0
    skipped: int = 0
    duplicates_prevented: int = 0
    contributors: set[str] = field(default_factory=set)
    latencies: list[float] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        def rounded(v: float | None) -> float | None:
            return None if v is None else round(v, 3)

        return {
            "events": len(self.events),
            "succeeded": self.succeeded,
            "failed": self.failed,
            "pending": self.pending,
            "skipped": self.skipped,
            "duplicates_prevented": self.duplicates_prevented,
            "contributors": len(self.contributors),
            "median_seconds": rounded(percentile(self.latencies, 50)),
            "p95_seconds": rounded(percentile(self.latencies, 95)),
        }


def window(*, weeks: int, tz: ZoneInfo, now: datetime,
           include_current: bool = True) -> list[date]:
    """The Mondays of the ``weeks`` local weeks ending with the current (or the last complete)."""
    if not 1 <= weeks <= MAX_WEEKS:
        raise ConfigError(f"weeks must be between 1 and {MAX_WEEKS} (got {weeks})")
    current = week_start(now.astimezone(tz).date())
    last = current if include_current else current - timedelta(weeks=1)
    return [last - timedelta(weeks=n) for n in range(weeks - 1, -1, -1)]


def compute(rows: KpiRows, *, mondays: list[date], tz: ZoneInfo,
            flows: Iterable[str] = ()) -> dict[str, Any]:
    """Bucket raw rows into the KPI document (pure: no clock, no store)."""
    index = {monday: i for i, monday in enumerate(mondays)}
    names = sorted({*flows, *(r.flow for r in rows.runs), *(d.flow for d in rows.double_entries)})
    per_flow = {n: [Bucket() for _ in mondays] for n in names}
    flow_total = {n: Bucket() for n in names}
    all_weeks = [Bucket() for _ in mondays]
    everything = Bucket()

    def slot(at: datetime) -> int | None:
        return index.get(week_start(at.astimezone(tz).date()))

    for run in rows.runs:
        i = slot(run.received_at)
        if i is None:
            continue
        for b in (per_flow[run.flow][i], flow_total[run.flow], all_weeks[i], everything):
            b.events.add(run.event_id)
            if run.actor:
                b.contributors.add(run.actor)
            if run.stopped:
                b.skipped += 1
            elif run.status == "succeeded":
                b.succeeded += 1
                if run.finished_at is not None:
                    b.latencies.append((run.finished_at - run.received_at).total_seconds())
            elif run.status == "failed":
                b.failed += 1
            else:
                b.pending += 1
    for entry in rows.double_entries:
        i = slot(entry.at)
        if i is None:
            continue
        for b in (per_flow[entry.flow][i], flow_total[entry.flow], all_weeks[i], everything):
            b.duplicates_prevented += 1

    def weekly(buckets: list[Bucket]) -> list[dict[str, Any]]:
        return [{"week": week_label(m), **b.as_dict()} for m, b in zip(mondays, buckets,
                                                                       strict=True)]

    doc: dict[str, Any] = {
        "timezone": tz.key,
        "since": local_midnight(mondays[0], tz).isoformat(),
        "until": local_midnight(mondays[-1] + timedelta(weeks=1), tz).isoformat(),
        "weeks": [{"week": week_label(m), "start": m.isoformat()} for m in mondays],
        "flows": [{"flow": n, "weeks": weekly(per_flow[n]), "total": flow_total[n].as_dict()}
                  for n in names],
        "totals": {"weeks": weekly(all_weeks), "total": everything.as_dict()},
    }
    doc["text"] = digest_text(doc)
    return doc


async def kpis(store: Store, *, weeks: int = 4, timezone: str = "UTC",
               now: datetime | None = None, include_current: bool = True,
               flows: Iterable[str] = ()) -> dict[str, Any]:
    """The KPI document for the last ``weeks`` ISO weeks; ``flows`` are listed even when idle."""
    tz = zone(timezone)
    mondays = window(weeks=weeks, tz=tz, now=now or utcnow(), include_current=include_current)
    since = local_midnight(mondays[0], tz)
    until = local_midnight(mondays[-1] + timedelta(weeks=1), tz)
    rows = await kpi_rows(store, since=since, until=until)
    return compute(rows, mondays=mondays, tz=tz, flows=flows)
