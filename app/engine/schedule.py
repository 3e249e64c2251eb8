"""Scheduled flows: one event per cron slot, whatever the number of workers.

Each tick looks only at the newest slot that is due, so after downtime a missed slot fires
once (not once per missed minute). The event's dedupe key names the slot, so two workers that
tick at the same moment create one event. A flow seen for the first time is armed from that
moment: deploying on a Wednesday does not fire last Monday's digest.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from croniter import croniter

from app.engine.model import Flow
from app.engine.triggers import ScheduleTrigger
from app.events import Event


def latest_slot(trigger: ScheduleTrigger, now: datetime) -> datetime:
    """The newest slot at or before ``now``, as an aware datetime in the trigger's zone."""
    local = now.astimezone(ZoneInfo(trigger.timezone)).replace(microsecond=0)
    prev: datetime = croniter(trigger.cron, local + timedelta(seconds=1)).get_prev(datetime)
    return prev


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
