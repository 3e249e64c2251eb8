"""Memory: peak RSS of ``passerelle serve`` (with its worker) over a backlog of queued events.

The backlog is stored first, then the server starts and drains it while RSS is sampled; the
backlog must stay in the store, not in memory.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import psutil

from bench import backlog, servers
from bench.worker import FLOW


def run(workdir: Path, *, events: int = 100_000, seconds: float = 60) -> list[dict[str, Any]]:
    url = f"sqlite:///{workdir / 'memory.db'}"
    asyncio.run(backlog.fill(url, count=events, flow=FLOW))
    with servers.uvicorn_app("ok", "bench.bare_app:app", log=workdir / "ok.log") as ok:
        env = servers.passerelle_env(database_url=url, ok_url=ok.url + "/ok")
        with servers.passerelle("memory", env=env, log=workdir / "memory.log") as server:
            proc = psutil.Process(server.pid)
            start = peak = proc.memory_info().rss
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                peak = max(peak, proc.memory_info().rss)
                time.sleep(0.2)
    counts, rate = backlog.progress(url)
    row = {"target": "serve + worker, sqlite", "queued_at_start": events,
           "rss_start_mb": round(start / 2**20, 1), "rss_peak_mb": round(peak / 2**20, 1),
           "sampled_s": seconds, "drained": counts.get("succeeded", 0) + counts.get("failed", 0),
           "runs_per_s": round(rate, 1) if rate else None}
    print(f"  peak RSS {row['rss_peak_mb']} MB, {row['drained']} runs drained", flush=True)
    return [row]
