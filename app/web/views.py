"""What the dashboard pages show, assembled from the runtime (no HTTP, no HTML here).

Everything that reaches a page passes through the runtime's redactor first.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from app.events import utcnow
from app.runtime import Runtime
from app.stats import kpis
from app.store import apiusage
from app.store.similar import SimilarItems
from connectors.similar.kpis import similar_kpis

FAILURE_DAYS = 7
# Connectors that talk to no outside system have no sandbox/live mode worth showing.
INTERNAL_CONNECTORS = {"passerelle", "similar"}


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str


def bars(values: list[int], labels: list[str], *, width: int = 168, height: int = 44,
         gap: int = 3) -> list[Bar]:
    """Geometry of a small SVG bar chart (y grows downwards; bars stand on the bottom)."""
    if not values:
        return []
    top = max(values) or 1
    slot = width / len(values)
    out = []
    for i, (value, label) in enumerate(zip(values, labels, strict=True)):
        h = round(height * value / top, 1) if value else 0.0
        # A zero keeps a one-pixel stub so the week is visibly there.
        h = max(h, 1.0)
        out.append(Bar(x=round(i * slot + gap / 2, 1), y=round(height - h, 1),
                       width=round(slot - gap, 1), height=h, label=f"{label}: {value}"))
    return out


def pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str, sort_keys=False)


async def overview(rt: Runtime, *, weeks: int) -> dict[str, Any]:
    doc = await kpis(rt.store, weeks=weeks, timezone=rt.settings.timezone, flows=rt.flows.flows)
    labels = [w["week"] for w in doc["weeks"]]
    charts = []
    for flow in doc["flows"]:
        runs = [w["succeeded"] + w["failed"] + w["pending"] for w in flow["weeks"]]
        people = [w["contributors"] for w in flow["weeks"]]
        charts.append({
            "flow": flow["flow"], "total": flow["total"], "latest": flow["weeks"][-1],
            "runs": bars(runs, labels), "people": bars(people, labels),
            "runs_text": ", ".join(f"{lb} {v}" for lb, v in zip(labels, runs, strict=True)),
            "people_text": ", ".join(f"{lb} {v}" for lb, v in
                                     zip(labels, people, strict=True)),
        })
    since = utcnow() - timedelta(days=FAILURE_DAYS)
    failures = await rt.store.list_runs(status="failed", since=since, limit=50)
    return {
        "doc": doc,
        "latest": doc["totals"]["weeks"][-1],
        "previous": doc["totals"]["weeks"][-2] if len(doc["totals"]["weeks"]) > 1 else None,
        "charts": charts,
        "failures": [rt.redactor.value(r.as_dict(with_steps=False)) for r in failures],
        "failure_days": FAILURE_DAYS,
        "queue_depth": await rt.store.queue_depth(),
        "quota": apiusage.quota_use(await apiusage.last_hour(rt.store),
                                    rt.settings.notion_rate_limit),
        "counts": await rt.store.count_runs(),
        "modes": {k: v for k, v in sorted(rt.connectors.modes().items())
                  if k not in INTERNAL_CONNECTORS},
        # Similar feedback (issue 21): links per week and the most asked-for items
        "similar": await similar_kpis(SimilarItems(rt.store.engines), weeks=weeks,
                                      timezone=rt.settings.timezone),
    }


async def flows(rt: Runtime) -> list[dict[str, Any]]:
    out = []
    for flow in rt.flows.flows.values():
        last = await rt.store.list_runs(flow=flow.name, limit=1)
        trigger = flow.trigger.model_dump(mode="json", exclude_defaults=True, by_alias=True)
        out.append({
            "name": flow.name, "description": flow.description, "enabled": flow.enabled,
            "file": rt.flows.files.get(flow.name), "trigger_kind": flow.trigger.kind,
            "trigger": rt.redactor.value(trigger),
            "steps": [{"id": s.id, "use": s.use, "if": s.if_} for s in flow.steps],
            "last_run": rt.redactor.value(last[0].as_dict(with_steps=False)) if last else None,
        })
    return sorted(out, key=lambda f: f["name"])


def _prop_text(prop: dict[str, Any]) -> str:
    kind = prop.get("type", "")
    value = prop.get(kind)
    if kind in ("title", "rich_text") and isinstance(value, list):
        return "".join(str(part.get("plain_text", "")) for part in value)
    if kind in ("select", "status") and isinstance(value, dict):
        return str(value.get("name", ""))
    if kind == "multi_select" and isinstance(value, list):
        return ", ".join(str(v.get("name", "")) for v in value)
    if kind == "checkbox":
        return "yes" if value else "no"
    if kind == "date" and isinstance(value, dict):
        return str(value.get("start") or "")
    if kind in ("people", "relation") and isinstance(value, list):
        return ", ".join(str(v.get("name") or v.get("id", "")) for v in value)
    if kind in ("number", "url", "email", "phone_number") and value is not None:
        return str(value)
    return ""


def notion_page(page: dict[str, Any]) -> dict[str, Any]:
    """A Notion page object, as a title and a few ``name: value`` lines."""
    title, props = "", []
    for name, prop in (page.get("properties") or {}).items():
        text = _prop_text(prop) if isinstance(prop, dict) else ""
        if isinstance(prop, dict) and prop.get("type") == "title":
            title = text
        elif text:
            props.append((name, text[:200]))
    return {"id": page.get("id"), "title": title or "(untitled)", "props": props,
            "created": page.get("created_time"), "in_trash": bool(page.get("in_trash"))}


def _block_line(block: dict[str, Any]) -> tuple[str, str]:
    """A block of a page's content as (type, its text), for the Sandbox page."""
    kind = str(block.get("type"))
    payload = block.get(kind) or {}
    text = "".join(t.get("plain_text", "") for t in payload.get("rich_text") or [])
    return kind, (text or str(payload.get("title") or payload.get("url") or ""))[:300]


def sandbox(rt: Runtime, *, page_limit: int = 50, message_limit: int = 200,
            block_limit: int = 30) -> dict[str, Any]:
    notion, slack = rt.extras.get("notion_sandbox"), rt.extras.get("slack_sandbox")
    sources = []
    if notion is not None:
        for entry in notion.summary():
            pages = [notion_page(p) for p in notion.pages(entry["data_source_id"])]
            for page in pages[-page_limit:]:
                page["blocks"] = [_block_line(b) for b in notion.blocks(page["id"])[:block_limit]]
            sources.append({**entry, "shown": rt.redactor.value(pages[-page_limit:][::-1])})
    messages = []
    if slack is not None:
        messages = rt.redactor.value(slack.messages()[-message_limit:][::-1])
    return {"notion": notion is not None, "sources": sources, "slack": slack is not None,
            "messages": messages}


def local_time(value: str | datetime | None, tz: Any) -> str:
    """An ISO timestamp in the dashboard's time zone, to the second."""
    if not value:
        return "-"
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    return when.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")
