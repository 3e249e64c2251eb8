"""The load generator: wrk replaying pre-signed requests.

Why wrk and not a Python generator: on this 2-core machine the generator shares the CPU with
the server, and a Python client needs about as much CPU per request as the server it measures,
so it would measure itself. wrk (C, epoll, one thread) spends a small fraction of a core at
these rates. Signing inside wrk's Lua would need an HMAC library it lacks, so each request is
signed here beforehand (signatures stay valid for 5 minutes, far longer than a run).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import psutil

SCRIPT = Path(__file__).with_name("signed.lua")
WHSEC = "whsec_" + base64.b64encode(b"bench-secret-0123456789abcdefghij").decode()
SLACK_SECRET = "bench-slack-signing-secret"
# Requests signed per second of run, above any rate seen here: 12,000 was passed once (run 87).
POOL_PER_SECOND = 20_000


@dataclass
class Result:
    target: str
    connections: int
    rps: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    requests: int
    non2xx: int
    socket_errors: int
    pool_wrapped: bool  # more requests than signed ones: the tail repeated keys (duplicates)
    # CPU the server process spent per request (user + system, all its threads), in ms: less
    # sensitive than rates to other work on a shared machine. Excludes PostgreSQL's own CPU.
    cpu_ms_per_req: float
    load_avg: float  # 1-minute load average when the run ended: >2 means others shared the CPU

    def row(self) -> dict[str, object]:
        return asdict(self)


def _raw(path: str, host: str, headers: dict[str, str], body: bytes) -> bytes:
    head = [f"POST {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
    head += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def webhook_request(i: int, ts: int, host: str, path: str) -> bytes:
    """A Make-style JSON webhook, Standard Webhooks signed, with its own webhook-id.

    The signature covers id, timestamp and body, not the path, so any path keeps it valid.
    """
    msg_id = f"msg_{uuid.uuid4().hex}"
    body = json.dumps({
        "event": "feedback.created", "author": f"user{i % 97}@example.com",
        "text": f"Export to CSV times out on large boards (#{i})", "customer": "Acme",
        "tags": ["export", "performance"], "score": i % 10,
    }).encode()
    key = base64.b64decode(WHSEC.removeprefix("whsec_"))
    sig = base64.b64encode(hmac.digest(key, f"{msg_id}.{ts}.".encode() + body, "sha256"))
    headers = {"Content-Type": "application/json", "webhook-id": msg_id,
               "webhook-timestamp": str(ts), "webhook-signature": f"v1,{sig.decode()}"}
    return _raw(path, host, headers, body)


def slack_command_request(i: int, ts: int, host: str, path: str) -> bytes:
    """A signed ``/feedback`` slash command, with its own trigger_id (Slack signs no path)."""
    body = urlencode({
        "token": "unused", "team_id": "T0BENCH", "team_domain": "bench",
        "channel_id": "C0BENCH", "channel_name": "product", "user_id": f"U{i % 97:07d}",
        "user_name": "ana", "command": "/feedback",
        "text": f"Export to CSV times out on large boards #{i}", "api_app_id": "A0BENCH",
        "response_url": f"https://hooks.slack.com/commands/T0BENCH/{i}/x",
        "trigger_id": f"{i}.{uuid.uuid4().hex}",
    }).encode()
    base = f"v0:{ts}:".encode() + body
    sig = "v0=" + hmac.new(SLACK_SECRET.encode(), base, hashlib.sha256).hexdigest()
    headers = {"Content-Type": "application/x-www-form-urlencoded",
               "X-Slack-Request-Timestamp": str(ts), "X-Slack-Signature": sig}
    return _raw(path, host, headers, body)


# (index, timestamp, Host header, request path) -> one raw signed request
Maker = Callable[[int, int, str, str], bytes]


def _pool(make: Maker, count: int, host: str, path: str) -> Iterator[bytes]:
    ts = int(time.time())
    for i in range(count):
        raw = make(i, ts, host, path)
        yield str(len(raw)).encode() + b"\n" + raw


def _cpu(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


def run_wrk(target: str, url: str, make: Maker, *, connections: int, duration: int,
            workdir: Path, pid: int) -> Result:
    """Sign a fresh pool, run wrk against ``url`` and parse its summary.

    wrk replays the pool's raw requests as they are, so their request line must carry ``url``'s
    path (wrk's own URL then only chooses where to connect).
    """
    parts = urlsplit(url)
    host = parts.netloc
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    count = POOL_PER_SECOND * duration
    pool = workdir / "pool.bin"
    with pool.open("wb") as f:
        f.writelines(_pool(make, count, host, path))
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--timeout", "10s",
           "-s", str(SCRIPT), url, "--", str(pool)]
    cpu = _cpu(pid)
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    cpu = _cpu(pid) - cpu
    pool.unlink()
    data = json.loads(out.split("BENCH ", 1)[1])
    seconds = data["duration_us"] / 1e6
    return Result(
        target=target, connections=connections, rps=round(data["requests"] / seconds, 1),
        p50_ms=data["p50_us"] / 1000, p99_ms=data["p99_us"] / 1000,
        max_ms=data["max_us"] / 1000, requests=data["requests"], non2xx=data["non2xx"],
        socket_errors=data["socket_errors"], pool_wrapped=data["requests"] > count,
        cpu_ms_per_req=round(cpu * 1000 / max(data["requests"], 1), 3),
        load_avg=os.getloadavg()[0],
    )
