"""Feedback through the shipped flows against the stand-ins' limits (issue 18).

``notion-items``: N ``/feedback`` commands sent together (signed as Slack sends them) to
``passerelle serve``; the Notion stand-in runs in its own process with Notion's limit on.
Reports items per second from the first command to the last confirmation, Notion requests
per item and 429s; every item must be filed once and confirmed once. With ``workers=2`` on
PostgreSQL, two ``passerelle worker`` processes drain beside ``serve`` and the stand-in's
busiest second shows whether they share one quota.

``time-to-sync``: commands at a steady 1 per second (p50/p99 from command to confirmation),
then commands sent while a 500-item webhook import is queued in front of them.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import statistics
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

from bench import servers
from bench.load import SLACK_SECRET

HOOK_SECRET = "bench-feedback-hook-secret"


@contextmanager
def hub(workdir: Path, name: str, *, workers: int = 0, postgres: bool = False
        ) -> Iterator[tuple[servers.Server, servers.Server]]:
    """The stand-ins' process, then ``serve`` (and ``workers`` worker processes)."""
    url = (servers.fresh_postgres(f"passerelle_{name.replace('-', '_')}") if postgres
           else f"sqlite:///{workdir / (name + '.db')}")
    with ExitStack() as stack:
        standin = stack.enter_context(servers.uvicorn_app(
            "stand-ins", "bench.sync_app:app", log=workdir / f"{name}-standin.log"))
        env = servers.passerelle_env(
            database_url=url, PASSERELLE_FLOWS=str(servers.ROOT / "flows"),
            PASSERELLE_SANDBOX_URL=standin.url, PASSERELLE_LOG_LEVEL="WARNING",
            PASSERELLE_WEBHOOK_SECRET_FEEDBACK=HOOK_SECRET)
        served = stack.enter_context(servers.passerelle(name, env=env,
                                                        log=workdir / f"{name}-serve.log"))
        for n in range(workers):
            proc = servers.worker_process(env=env, log=workdir / f"{name}-worker{n}.log")
            stack.callback(servers.stop, proc)
        yield standin, served


def command(n: int, text: str, response_url: str) -> tuple[bytes, dict[str, str]]:
    body = urlencode({
        "token": "unused", "team_id": "T0BENCH", "team_domain": "bench",
        "channel_id": "C0BENCH", "channel_name": "product", "user_id": f"U{n % 97:07d}",
        "user_name": "ana", "command": "/feedback", "text": text, "api_app_id": "A0BENCH",
        "response_url": response_url, "trigger_id": f"{n}.{uuid.uuid4().hex}",
    }).encode()
    ts = str(int(time.time()))
    sig = hmac.new(SLACK_SECRET.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256)
    return body, {"Content-Type": "application/x-www-form-urlencoded",
                  "X-Slack-Request-Timestamp": ts, "X-Slack-Signature": "v0=" + sig.hexdigest()}


async def send(c: httpx.AsyncClient, served: str, standin: str, n: int) -> float:
    """One signed /feedback; returns the wall time it was sent."""
    body, headers = command(n, f"Export to CSV times out on large boards #item{n}",
                            f"{standin}/bench/response/c{n}")
    sent = time.time()
    r = await c.post(f"{served}/slack/commands", content=body, headers=headers)
    r.raise_for_status()
    return sent


def state(standin: str) -> dict[str, Any]:
    data: dict[str, Any] = httpx.get(f"{standin}/bench/state", timeout=30).json()
    return data


def wait_confirmed(standin: str, keys: set[str], *, timeout: float) -> dict[str, float]:
    """Wall time of the first confirmation of each key (waits until all are in)."""
    deadline = time.monotonic() + timeout
    while True:
        got: dict[str, float] = {}
        for at, key, _ in state(standin)["confirmed"]:
            got.setdefault(key, at)
        if keys <= got.keys() or time.monotonic() > deadline:
            return got
        time.sleep(0.25)


def busiest_second(answered: list[tuple[float, int]], since: float) -> int:
    """Most Notion requests the stand-in answered within any one second (sliding)."""
    times = sorted(t for t, _ in answered if t >= since)
    most, lo = 0, 0
    for hi, t in enumerate(times):
        while t - times[lo] >= 1.0:
            lo += 1
        most = max(most, hi - lo + 1)
    return most


def _rate(answered: list[tuple[float, int]], start: float) -> float | None:
    """Notion requests per second over the drain: from the first command to the last
    request the stand-in answered."""
    last = max((t for t, _ in answered), default=start)
    return round(len(answered) / (last - start), 2) if last > start else None


def notion_items(workdir: Path, *, items: int = 45, workers: int = 0,
                 postgres: bool = False) -> list[dict[str, Any]]:
    name = f"notion-items-{workers}w"
    with hub(workdir, name, workers=workers, postgres=postgres) as (standin, served):
        async def go() -> float:
            async with httpx.AsyncClient(timeout=30) as c:
                await send(c, served.url, standin.url, -1)  # warm-up: schema and key scan
                wait_confirmed(standin.url, {"c-1"}, timeout=60)
                sends = await asyncio.gather(*[send(c, served.url, standin.url, n)
                                               for n in range(items)])
                return min(sends)

        start = asyncio.run(go())
        got = wait_confirmed(standin.url, {f"c{n}" for n in range(items)}, timeout=600)
        final = state(standin.url)
    keys = [key for _, key, _ in final["confirmed"] if key != "c-1"]
    span = max(got.values()) - start if got else None
    answered = [a for a in final["answered"] if a[0] >= start]
    row = {"target": f"/feedback x{items}, serve + {workers} workers, "
                     f"{'postgres' if postgres else 'sqlite'}",
           "items": items, "confirmed": len(set(keys)), "confirmed_twice": len(keys) - len(
               set(keys)), "pages": final["feedback_pages"] - 1,
           "items_per_s": round(items / span, 2) if span else None,
           "notion_requests": len(answered),
           "requests_per_item": round(len(answered) / items, 2),
           "rate_per_s": _rate(answered, start),
           "busiest_second": busiest_second(final["answered"], start),
           "http_429": sum(1 for _, s in answered if s == 429), "by_endpoint": final["requests"]}
    print(f"  {row}", flush=True)
    return [row]


def time_to_sync(workdir: Path, *, steady_s: int = 60, imports: int = 500,
                 during_import: int = 5) -> list[dict[str, Any]]:
    rows = []
    with hub(workdir, "time-to-sync") as (standin, served):
        async def steady() -> dict[str, float]:
            sent: dict[str, float] = {}
            async with httpx.AsyncClient(timeout=30) as c:
                for n in range(steady_s):
                    tick = time.monotonic()
                    sent[f"c{n}"] = await send(c, served.url, standin.url, n)
                    await asyncio.sleep(max(0.0, 1.0 - (time.monotonic() - tick)))
            return sent

        sent = asyncio.run(steady())
        got = wait_confirmed(standin.url, set(sent), timeout=120)
        rows.append(_latencies("steady 1 command/s", sent, got))

        async def under_import() -> dict[str, float]:
            async with httpx.AsyncClient(timeout=30) as c:
                auth = {"Authorization": f"Bearer {HOOK_SECRET}"}
                for batch in range(0, imports, 50):
                    await asyncio.gather(*[
                        c.post(f"{served.url}/hooks/feedback", headers={
                            **auth, "Idempotency-Key": f"import-{i}"},
                            json={"id": f"imp-{i}", "origin": "import",
                                  "text": f"Imported ticket {i}"})
                        for i in range(batch, min(batch + 50, imports))])
                sent: dict[str, float] = {}
                for n in range(1000, 1000 + during_import):
                    sent[f"c{n}"] = await send(c, served.url, standin.url, n)
                    await asyncio.sleep(2.0)
                return sent

        sent = asyncio.run(under_import())
        got = wait_confirmed(standin.url, set(sent), timeout=120)
        rows.append(_latencies(f"commands while {imports} webhook items are queued", sent, got))
    for row in rows:
        print(f"  {row}", flush=True)
    return rows


def _latencies(target: str, sent: dict[str, float], got: dict[str, float]) -> dict[str, Any]:
    lat = sorted(got[k] - sent[k] for k in sent if k in got)
    if not lat:
        return {"target": target, "commands": len(sent), "confirmed": 0}
    p99 = lat[min(len(lat) - 1, round(0.99 * (len(lat) - 1)))]
    return {"target": target, "commands": len(sent), "confirmed": len(lat),
            "p50_s": round(statistics.median(lat), 3), "p99_s": round(p99, 3),
            "max_s": round(lat[-1], 3)}
