"""Quota use: a backlog of Notion writes against the stand-in limited to 3 requests per second.

The stand-in runs in its own process (bench/notion_app.py) and records every answer; one
``passerelle worker`` drains the backlog. Reports the rate of accepted requests over the
drain, the 429s, and the runs that failed.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx

from bench import backlog, servers

LIMIT = 3.0


def run(workdir: Path, *, runs: int = 90, timeout: float = 300) -> list[dict[str, Any]]:
    url = f"sqlite:///{workdir / 'quota.db'}"
    asyncio.run(backlog.fill(url, count=runs, flow="bench-notion", source="notion-bench"))
    with servers.uvicorn_app("notion", "bench.notion_app:app", log=workdir / "notion.log"
                             ) as notion:
        env = servers.passerelle_env(database_url=url, PASSERELLE_SANDBOX_URL=notion.url)
        proc = servers.worker_process(env=env, log=workdir / "quota-worker.log")
        try:
            backlog.wait_until_done(url, runs, timeout=timeout)
        finally:
            servers.stop(proc)
        answered = httpx.get(notion.url + "/bench/counts").json()
    counts, _ = backlog.progress(url)
    ok = [t for t, status in answered if status < 400]
    span = ok[-1] - ok[0] if len(ok) > 1 else 0
    rate = (len(ok) - 1) / span if span else None
    row = {"target": "notion.create_page, 1 worker", "runs": runs, "requests": len(answered),
           "rate_per_s": round(rate, 2) if rate else None,
           "share_of_limit": round(rate / LIMIT, 3) if rate else None,
           "http_429": sum(1 for _, s in answered if s == 429),
           "succeeded": counts.get("succeeded", 0), "failed": counts.get("failed", 0)}
    print(f"  {row['rate_per_s']} req/s, {row['http_429']} x 429, {row['failed']} failed",
          flush=True)
    return [row]
