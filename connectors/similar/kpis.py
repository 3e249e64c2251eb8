"""Similar feedback KPIs: items linked to an earlier one per ISO week, and demand per item.

The same numbers feed the ``similar.stats`` action (the weekly digest) and the dashboard.
Definitions (docs/similar.md): *linked* counts items filed in that week (time zone of the
KPIs) that were linked to an earlier one; *demand* of an item is the number of distinct
people (reporters) and customers behind it and the items linked to it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from app.events import utcnow
from app.stats import local_midnight, week_label, week_start, zone
from connectors.similar.port import SimilarStore

TOP = 5


async def similar_kpis(port: SimilarStore, *, collection: str = "feedback", weeks: int = 4,
                       timezone: str = "UTC", include_current: bool = True,
                       top: int = TOP) -> dict[str, Any]:
    tz = zone(timezone)
    today = utcnow().astimezone(tz).date()
    last = week_start(today) - (timedelta(0) if include_current else timedelta(weeks=1))
    starts = [last - timedelta(weeks=weeks - 1 - i) for i in range(weeks)]
    since = local_midnight(starts[0], tz)
    until = local_midnight(last + timedelta(weeks=1), tz)
    counts = dict.fromkeys(starts, 0)
    for created, n in await port.link_counts(collection=collection, since=since):
        if created >= until:
            continue
        counts[week_start(created.astimezone(tz).date())] += n
    rows = [{"week": week_label(s), "linked": counts[s]} for s in starts]
    demand = await port.top_demand(collection=collection, limit=top)
    return {"collection": collection, "timezone": timezone, "weeks": rows, "top": demand,
            "text": summary(rows, demand)}


def summary(rows: list[dict[str, Any]], demand: list[dict[str, Any]]) -> str:
    """A few Slack lines: the last week's links and the most asked-for items."""
    latest = rows[-1]
    lines = [f"*Similar feedback, {latest['week']}:* {latest['linked']} new item"
             f"{'' if latest['linked'] == 1 else 's'} linked to an earlier request."]
    if demand:
        lines.append("Most asked for:")
        for d in demand:
            customers = f", {d['customers']} customers" if d["customers"] else ""
            lines.append(f"• <{d['url']}|{d['title']}>: {d['reporters']} people{customers}")
    return "\n".join(lines)
