"""Words for the KPIs: durations people read, and the weekly digest posted to Slack."""

from __future__ import annotations

from typing import Any


def duration(seconds: float | None) -> str:
    """``0.42 s``, ``4.2 s``, ``3 min 5 s``, ``2 h 10 min``, ``1 d 3 h``; ``-`` for None."""
    if seconds is None:
        return "-"
    if seconds < 10:
        return f"{seconds:.2g} s" if seconds < 1 else f"{seconds:.1f} s"
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def line(k: dict[str, Any]) -> str:
    """One week's numbers in a sentence."""
    parts = [
        f"{_plural(k['events'], 'event')} from {_plural(k['contributors'], 'person', 'people')}",
        f"{k['succeeded']} succeeded, {k['failed']} failed"
        + (f", {k['pending']} in progress" if k["pending"] else "")
        + (f", {k['skipped']} skipped (nothing to save)" if k.get("skipped") else ""),
        f"{_plural(k['duplicates_prevented'], 'double entry', 'double entries')} avoided",
    ]
    if k["median_seconds"] is not None:
        parts.append(f"done in {duration(k['median_seconds'])} "
                     f"(median; p95 {duration(k['p95_seconds'])})")
    return " · ".join(parts)


def digest_text(doc: dict[str, Any]) -> str:
    """A Slack mrkdwn summary of the newest week of a KPI document, with the week before."""
    weeks = doc["totals"]["weeks"]
    latest = weeks[-1]
    start = doc["weeks"][-1]["start"]
    out = [f"*Passerelle adoption — week {latest['week']}* (from {start}, {doc['timezone']})",
           line(latest)]
    active = [(f["flow"], f["weeks"][-1]) for f in doc["flows"]
              if f["weeks"][-1]["events"] or f["weeks"][-1]["duplicates_prevented"]]
    for name, k in sorted(active, key=lambda item: -item[1]["events"]):
        out.append(f"• *{name}*: {_plural(k['events'], 'event')}, "
                   f"{_plural(k['contributors'], 'person', 'people')}, "
                   f"{k['failed']} failed, "
                   f"{_plural(k['duplicates_prevented'], 'double entry', 'double entries')} "
                   f"avoided")
    if not active:
        out.append("No flow ran this week.")
    if len(weeks) > 1:
        before = weeks[-2]
        out.append(f"Week before ({before['week']}): {_plural(before['events'], 'event')} from "
                   f"{_plural(before['contributors'], 'person', 'people')}.")
    return "\n".join(out)
