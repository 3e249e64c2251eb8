"""Schedule slots: newest due slot, DST in Europe/Paris, one event per slot, armed rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.engine.model import Flow
from app.engine.schedule import due_events, latest_slot
from app.engine.triggers import ScheduleTrigger

DAILY_0230 = ScheduleTrigger(cron="30 2 * * *", timezone="Europe/Paris")
MONDAY_9 = ScheduleTrigger(cron="0 9 * * MON", timezone="Europe/Paris")


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(("now", "slot"), [
    # Winter (CET, +01:00) and summer (CEST, +02:00): 09:00 by the wall clock either way.
    ("2026-03-23T08:00:00", "2026-03-23T09:00:00+01:00"),
    ("2026-03-30T06:59:59", "2026-03-23T09:00:00+01:00"),
    ("2026-03-30T07:00:00", "2026-03-30T09:00:00+02:00"),
    ("2026-03-30T07:00:00.900000", "2026-03-30T09:00:00+02:00"),
    ("2026-10-26T07:59:00", "2026-10-19T09:00:00+02:00"),
    ("2026-10-26T08:00:00", "2026-10-26T09:00:00+01:00"),
])
def test_latest_slot_follows_the_wall_clock(now: str, slot: str) -> None:
    assert latest_slot(MONDAY_9, utc(now)).isoformat() == slot


def test_clocks_going_back_repeat_no_slot_and_never_go_back_a_day() -> None:
    # 2026-10-25: 03:00 CEST becomes 02:00 CET at 01:00 UTC, so 02:30 happens twice.
    seen = [latest_slot(DAILY_0230, utc("2026-10-25T00:00:00") + timedelta(minutes=m))
            for m in range(0, 240, 7)]
    assert seen == sorted(seen)  # monotonic: never back to yesterday's slot
    assert {s.isoformat() for s in seen} == {"2026-10-24T02:30:00+02:00",
                                              "2026-10-25T02:30:00+02:00"}
    # In the second pass of 02:00-03:00 (CET) the slot is still the first 02:30.
    assert latest_slot(DAILY_0230, utc("2026-10-25T01:45:00")).isoformat() == (
        "2026-10-25T02:30:00+02:00")


def test_a_slot_in_the_skipped_hour_fires_once_after_the_jump() -> None:
    # 2026-03-29: 02:00 CET jumps to 03:00 CEST at 01:00 UTC; 02:30 does not exist.
    assert latest_slot(DAILY_0230, utc("2026-03-29T01:00:00")).isoformat() == (
        "2026-03-28T02:30:00+01:00")
    after = {latest_slot(DAILY_0230, utc("2026-03-29T01:30:00") + timedelta(minutes=m))
             for m in range(0, 600, 13)}
    assert [s.isoformat() for s in after] == ["2026-03-29T03:30:00+02:00"]


def flow(name: str, trigger: object, enabled: bool = True) -> Flow:
    return Flow.model_validate({"name": name, "trigger": trigger, "enabled": enabled,
                                "steps": [{"use": "http.request", "with": {}}]})


def test_due_events_once_per_slot_and_armed_after_deploy() -> None:
    weekly = flow("digest", MONDAY_9)
    armed = {"digest": utc("2026-03-25T12:00:00")}  # deployed on a Wednesday
    # Last Monday's slot is before the flow was armed: nothing fires.
    assert due_events([weekly], utc("2026-03-27T10:00:00"), armed) == []
    first = due_events([weekly], utc("2026-03-30T07:00:05"), armed)
    again = due_events([weekly], utc("2026-03-30T07:14:00"), armed)
    (event,) = first
    assert event.dedupe_key == "schedule:digest:2026-03-30T09:00:00+02:00"
    assert [e.dedupe_key for e in again] == [event.dedupe_key]  # same slot, same key
    assert (event.type, event.source, event.data) == ("schedule", "schedule", {
        "flow": "digest", "slot": "2026-03-30T09:00:00+02:00", "cron": "0 9 * * MON",
        "timezone": "Europe/Paris"})
    assert MONDAY_9.matches(event, "digest") and not MONDAY_9.matches(event, "other")
    nxt = due_events([weekly], utc("2026-04-06T07:00:00"), armed)
    assert [e.dedupe_key for e in nxt] == ["schedule:digest:2026-04-06T09:00:00+02:00"]


def test_due_events_skips_unarmed_disabled_and_other_flows() -> None:
    now = utc("2026-03-30T08:00:00")
    webhook = flow("hook", {"source": "make"})
    off = flow("off", MONDAY_9, enabled=False)
    new = flow("new", MONDAY_9)
    assert due_events([webhook, off, new], now, {"off": utc("2020-01-01T00:00:00")}) == []
