"""Notion and Slack stand-ins in their own process, as the sync benchmarks meet them.

The Notion stand-in keeps Notion's limit (3 requests per second, bursts of 10) and counts
what it answered; ``POST /bench/response/{key}`` is the ``response_url`` of each benchmarked
command and records when its confirmation arrived (wall clock, comparable across processes).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request

from app.engine.notion_specs import load_specs
from app.sandbox.notion import NotionSandbox
from app.sandbox.slack import SlackSandbox

ROOT = Path(__file__).resolve().parent.parent
notion = NotionSandbox(seed=load_specs(ROOT / "flows"), rate_limit=3.0)
slack = SlackSandbox(rate_limits=True)
app = FastAPI()
app.include_router(notion.router(), prefix="/sandbox/notion/v1")
app.include_router(slack.router(), prefix="/sandbox/slack")
answered: list[tuple[float, int]] = []  # (wall time, status) of every Notion request
confirmed: list[tuple[float, str, str]] = []  # (wall time, key, text) of every confirmation


@app.middleware("http")
async def count(request: Request, call_next: Any) -> Any:
    response = await call_next(request)
    if request.url.path.startswith("/sandbox/notion/"):
        answered.append((time.time(), response.status_code))
    return response


@app.post("/bench/response/{key}")
async def response(key: str, request: Request) -> dict[str, bool]:
    body = await request.json()
    confirmed.append((time.time(), key, str(body.get("text", ""))))
    return {"ok": True}


@app.get("/bench/state")
async def state() -> dict[str, Any]:
    pages = sum(row["pages"] for row in notion.summary() if row["database"] == "Feedback")
    return {"answered": answered, "confirmed": confirmed, "feedback_pages": pages,
            "requests": dict(notion.requests)}
