"""Scheduled flows: one event per cron slot, whatever the number of workers.

Each tick looks only at the newest slot that is due, so after downtime a missed slot fires
once (not once per missed minute). The event's dedupe key names the slot, so two workers that
tick at the same moment create one event. A flow seen for the first time is armed from that
moment: deploying on a Wednesday does not fire last Monday's digest.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from croniter import croniter

from app.engine.model import Flow
from app.engine.triggers import ScheduleTrigger
from app.events import Event


def latest_slot(trigger: ScheduleTrigger, now: datetime) -> datetime:
    """The newest slot at or before ``now``, as an aware datetime in the trigger's zone.

    Slots are wall-clock times, each firing once: in the hour repeated when clocks go back,
    the first pass counts (a 02:30 job does not run again at the second 02:30, and the slot
    never moves back to yesterday's); a slot in the hour skipped when clocks go forward fires
    once, an hour later by the wall clock.
    """
    zone = ZoneInfo(trigger.timezone)
    local = now.astimezone(zone).replace(microsecond=0)
    wall = local.replace(tzinfo=None)
    if local.fold:
        # Second pass of a repeated hour: its wall times up to the transition have passed
        # once already, so search from where the first pass reached.
        wall += (local.replace(fold=0).utcoffset() or timedelta()) - (
            local.utcoffset() or timedelta())
    times = croniter(trigger.cron, wall + timedelta(seconds=1))
    while True:
        candidate: datetime = times.get_prev(datetime)
        slot = candidate.replace(tzinfo=zone, fold=0).astimezone(UTC).astimezone(zone)
        if slot <= now:
            return slot


def slot_event(flow: Flow, slot: datetime) -> Event:
    assert isinstance(flow.trigger, ScheduleTrigger)
    return Event(
        source="schedule",
        type="schedule",
        dedupe_key=f"schedule:{flow.name}:{slot.isoformat()}",
        data={"flow": flow.name, "slot": slot.isoformat(), "cron": flow.trigger.cron,
              "timezone": flow.trigger.timezone},
    )


def due_events(flows: list[Flow], now: datetime, armed: dict[str, datetime]) -> list[Event]:
    """Events for the newest due slot of each schedule flow armed before that slot."""
    out = []
    for flow in flows:
        if not isinstance(flow.trigger, ScheduleTrigger) or not flow.enabled:
            continue
        slot = latest_slot(flow.trigger, now)
        since = armed.get(flow.name)
        if since is not None and slot > since:
            out.append(slot_event(flow, slot))
    return out
