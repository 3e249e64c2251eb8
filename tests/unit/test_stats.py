"""Adoption KPIs against a real SQLite store with runs whose times we choose."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from app.errors import ConfigError
from app.events import Event
from app.stats import kpis, local_midnight, percentile, week_label, window
from app.stats_text import duration
from app.store import StepRecord, Store

# Wednesday of ISO week 2025-W03 (Monday 13 January 2025).
NOW = datetime(2025, 1, 15, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[tuple[Store, Clock]]:
    clock = Clock()
    s = await Store.open(f"sqlite:///{tmp_path}/kpi.db", clock=clock)
    try:
        yield s, clock
    finally:
        await s.close()


async def seed(store: Store, clock: Clock, *, key: str, flows: list[str], at: datetime,
               actor: str | None = None, outcome: str = "succeeded", seconds: float = 1.0,
               upserts_updated: int = 0) -> list[str]:
    """One event received at ``at``; its runs end with ``outcome`` ``seconds`` later."""
    event = Event(source="make", type="webhook", dedupe_key=key, data={}, received_at=at,
                  actor=actor)
    (result,) = await store.ingest([(event, flows)])
    if outcome == "queued":
        return result.runs
    clock.now = at
    claimed = await store.claim(worker="w", limit=10, lease=60)
    assert sorted(r.id for r in claimed) == sorted(result.runs)
    clock.now = at + timedelta(seconds=seconds)
    for run_id in result.runs:
        for n in range(upserts_updated):
            await store.record_step(run_id=run_id, worker="w", step=StepRecord(
                f"s{n}", n, "notion.upsert_page", "succeeded", 1, at, clock.now,
                output={"deduplicated": True}, deduplicated=True))
        if outcome == "succeeded":
            await store.finish(run_id=run_id, worker="w")
        else:
            await store.fail(run_id=run_id, worker="w", error="boom")
    clock.now = NOW
    return result.runs


async def duplicate(store: Store, *, key: str, at: datetime) -> None:
    (result,) = await store.ingest([(Event(source="make", type="webhook", dedupe_key=key,
                                           data={}, received_at=at), ["ignored"])])
    assert result.duplicate


def week(doc: dict, flow: str | None, label: str) -> dict:
    rows = doc["totals"]["weeks"] if flow is None else next(
        f["weeks"] for f in doc["flows"] if f["flow"] == flow)
    return next(w for w in rows if w["week"] == label)


async def test_sunday_night_utc_is_monday_in_paris(store) -> None:
    s, clock = store
    sunday_late = datetime(2025, 1, 12, 23, 30, tzinfo=UTC)  # Monday 00:30 in Paris
    await seed(s, clock, key="k1", flows=["feedback"], at=sunday_late, actor="U1")

    utc = await kpis(s, weeks=2, timezone="UTC", now=NOW)
    assert [w["week"] for w in utc["weeks"]] == ["2025-W02", "2025-W03"]
    assert week(utc, "feedback", "2025-W02")["events"] == 1
    assert week(utc, "feedback", "2025-W03")["events"] == 0

    paris = await kpis(s, weeks=2, timezone="Europe/Paris", now=NOW)
    assert paris["timezone"] == "Europe/Paris"
    assert paris["since"] == "2025-01-05T23:00:00+00:00"
    assert week(paris, "feedback", "2025-W02")["events"] == 0
    assert week(paris, "feedback", "2025-W03")["events"] == 1
    assert week(paris, "feedback", "2025-W03")["contributors"] == 1


async def test_counts_per_flow_and_totals(store) -> None:
    s, clock = store
    monday = datetime(2025, 1, 13, 9, 0, tzinfo=UTC)
    # One event starts two flows: two runs, one event in the totals.
    await seed(s, clock, key="both", flows=["feedback", "retro"], at=monday, actor="U1",
               seconds=1)
    await seed(s, clock, key="f2", flows=["feedback"], at=monday + timedelta(hours=1),
               actor="U2", seconds=2, upserts_updated=2)
    await seed(s, clock, key="f3", flows=["feedback"], at=monday + timedelta(hours=2),
               actor="U1", seconds=3)
    await seed(s, clock, key="f4", flows=["feedback"], at=monday + timedelta(hours=3),
               actor=None, seconds=4)
    await seed(s, clock, key="bad", flows=["feedback"], at=monday + timedelta(hours=4),
               actor="U3", outcome="failed", seconds=50)
    await seed(s, clock, key="wait", flows=["retro"], at=monday + timedelta(hours=5),
               actor="U4", outcome="queued")
    await duplicate(s, key="both", at=monday + timedelta(hours=6))
    await duplicate(s, key="f2", at=monday + timedelta(hours=7))

    doc = await kpis(s, weeks=1, now=NOW, flows=["idle-flow"])
    fb = week(doc, "feedback", "2025-W03")
    assert fb == {
        "week": "2025-W03", "events": 5, "succeeded": 4, "failed": 1, "pending": 0, "skipped": 0,
        # repeats of "both" and "f2", plus the two upserts of f2 that updated
        "duplicates_prevented": 4,
        "contributors": 3,
        "median_seconds": 2.5,  # of 1, 2, 3, 4 (the failed run is not counted)
        "p95_seconds": 3.85,
    }
    retro = week(doc, "retro", "2025-W03")
    assert (retro["events"], retro["succeeded"], retro["pending"]) == (2, 1, 1)
    assert retro["duplicates_prevented"] == 1
    assert retro["contributors"] == 2

    total = week(doc, None, "2025-W03")
    assert total["events"] == 6  # distinct events: "both" counts once
    assert (total["succeeded"], total["failed"], total["pending"]) == (5, 1, 1)
    assert total["duplicates_prevented"] == 5
    assert total["contributors"] == 4
    assert total["median_seconds"] == 2.0  # of 1, 1, 2, 3, 4
    assert doc["totals"]["total"] == {k: v for k, v in total.items() if k != "week"}

    names = [f["flow"] for f in doc["flows"]]
    assert names == ["feedback", "idle-flow", "retro"]
    assert week(doc, "idle-flow", "2025-W03")["events"] == 0
    assert "6 events from 4 people" in doc["text"]
    assert "*feedback*: 5 events, 3 people, 1 failed, 4 double entries avoided" in doc["text"]


async def test_window_excludes_older_and_later_weeks(store) -> None:
    s, clock = store
    await seed(s, clock, key="old", flows=["feedback"], at=datetime(2024, 12, 20, tzinfo=UTC))
    await seed(s, clock, key="w2", flows=["feedback"], at=datetime(2025, 1, 8, tzinfo=UTC))
    await seed(s, clock, key="w3", flows=["feedback"], at=datetime(2025, 1, 14, tzinfo=UTC))

    doc = await kpis(s, weeks=2, now=NOW)
    assert [w["events"] for w in doc["totals"]["weeks"]] == [1, 1]
    assert doc["totals"]["total"]["events"] == 2

    last_complete = await kpis(s, weeks=1, now=NOW, include_current=False)
    assert [w["week"] for w in last_complete["weeks"]] == ["2025-W02"]
    assert last_complete["totals"]["total"]["events"] == 1
    assert "week 2025-W02" in last_complete["text"]


async def test_empty_store_has_zero_weeks_and_no_latency(store) -> None:
    s, _ = store
    doc = await kpis(s, weeks=3, now=NOW)
    assert doc["flows"] == []
    assert [w["events"] for w in doc["totals"]["weeks"]] == [0, 0, 0]
    assert doc["totals"]["total"]["median_seconds"] is None
    assert "No flow ran this week." in doc["text"]


def test_percentile_interpolates_between_ranks() -> None:
    assert percentile([], 50) is None
    assert percentile([7.0], 95) == 7.0
    assert percentile([4.0, 1.0, 3.0, 2.0], 50) == 2.5
    assert percentile([float(n) for n in range(1, 101)], 95) == pytest.approx(95.05)
    assert percentile([1.0, 2.0], 0) == 1.0 and percentile([1.0, 2.0], 100) == 2.0
    with pytest.raises(ValueError):
        percentile([1.0], 101)


def test_weeks_and_time_zones() -> None:
    # ISO week 1 of 2025 starts on Monday 30 December 2024.
    assert week_label(date(2024, 12, 30)) == "2025-W01"
    assert week_label(date(2021, 1, 3)) == "2020-W53"
    paris = ZoneInfo("Europe/Paris")
    # The Monday after the switch to summer time starts at 22:00 UTC, not 23:00.
    assert local_midnight(date(2025, 3, 31), paris) == datetime(2025, 3, 30, 22, tzinfo=UTC)
    assert window(weeks=2, tz=paris, now=datetime(2025, 1, 12, 23, 30, tzinfo=UTC)) == [
        date(2025, 1, 6), date(2025, 1, 13)]
    with pytest.raises(ConfigError, match="weeks must be between"):
        window(weeks=0, tz=paris, now=NOW)


async def test_unknown_time_zone_is_a_clear_error(store) -> None:
    s, _ = store
    with pytest.raises(ConfigError, match="unknown time zone 'Mars/Olympus'"):
        await kpis(s, timezone="Mars/Olympus", now=NOW)


@pytest.mark.parametrize(("seconds", "text"), [
    (None, "-"), (0.4234, "0.42 s"), (4.26, "4.3 s"), (42.4, "42 s"), (185, "3 min 5 s"),
    (7800, "2 h 10 min"), (97200, "1 d 3 h"),
])
def test_durations_read_like_words(seconds, text) -> None:
    assert duration(seconds) == text


def test_digest_line_says_how_many_runs_had_nothing_to_save() -> None:
    from app.stats_text import line

    week = {"events": 3, "contributors": 2, "succeeded": 1, "failed": 0, "pending": 0,
            "skipped": 2, "duplicates_prevented": 0, "median_seconds": None,
            "p95_seconds": None}
    assert "1 succeeded, 0 failed, 2 skipped (nothing to save)" in line(week)
    assert "skipped" not in line({**week, "skipped": 0})
