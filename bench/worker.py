"""Flow throughput: a backlog of queued two-step runs, drained by worker processes.

Each step is an ``http.request`` to an instant local endpoint (bench/bare_app.py ``/ok``),
so the number measures the worker's own cost: claiming, rendering, calling, checkpointing.
Runs per second count from the first run's start to the last run's finish, as the store
recorded them, so process start-up is not counted.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from bench import backlog, servers

FLOW = "bench-forward"


def drain(workdir: Path, *, name: str, database_url: str, runs: int, workers: int,
          timeout: float = 900) -> dict[str, Any]:
    asyncio.run(backlog.fill(database_url, count=runs, flow=FLOW))
    with servers.uvicorn_app("ok", "bench.bare_app:app", log=workdir / "ok.log") as ok:
        env = servers.passerelle_env(database_url=database_url, ok_url=ok.url + "/ok",
                                     PASSERELLE_POLL_INTERVAL="0.1")
        procs = [servers.worker_process(env=env, log=workdir / f"{name}-{i}.log")
                 for i in range(workers)]
        try:
            backlog.wait_until_done(database_url, runs, timeout=timeout)
        finally:
            for proc in procs:
                servers.stop(proc)
    counts, rate = backlog.progress(database_url)
    row = {"target": name, "workers": workers, "runs": runs,
           "runs_per_s": round(rate, 1) if rate else None,
           "succeeded": counts.get("succeeded", 0), "failed": counts.get("failed", 0),
           "unfinished": runs - counts.get("succeeded", 0) - counts.get("failed", 0)}
    print(f"  {name}: {row['runs_per_s']} runs/s", flush=True)
    return row


def run(workdir: Path, *, runs: int = 10_000, postgres: bool = True) -> list[dict[str, Any]]:
    rows = [drain(workdir, name="sqlite, 1 worker", runs=runs, workers=1,
                  database_url=f"sqlite:///{workdir / 'worker.db'}")]
    if postgres:
        rows.append(drain(workdir, name="postgres, 2 workers", runs=runs, workers=2,
                          database_url=servers.fresh_postgres()))
    return rows
