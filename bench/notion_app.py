"""The Notion stand-in on its own, limited to 3 requests per second, counting what it answered.

``GET /bench/counts`` lists (monotonic time, status) per request, for the quota benchmark.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request

from app.engine.notion_specs import load_specs
from app.sandbox.notion import NotionSandbox

ROOT = Path(__file__).resolve().parent.parent
sandbox = NotionSandbox(seed=load_specs(ROOT / "flows"), rate_limit=3.0)
app = FastAPI()
app.include_router(sandbox.router(), prefix="/sandbox/notion/v1")
answered: list[tuple[float, int]] = []


@app.middleware("http")
async def count(request: Request, call_next: Any) -> Any:
    response = await call_next(request)
    if request.url.path.startswith("/sandbox/"):
        answered.append((time.monotonic(), response.status_code))
    return response


@app.get("/bench/counts")
async def counts() -> list[tuple[float, int]]:
    return answered
