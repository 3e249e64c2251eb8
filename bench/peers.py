"""The tools users would pick instead, measured beside bare FastAPI in one run (not committed).

Installed outside the repository (``BENCH_PEERS``, default /tmp/peers) as docs/performance.md
shows: n8n 2.8.4 with a Webhook workflow on its default SQLite, and Node-RED 4.1.15 with a flow
that appends each body to a file before answering. Each gets the same signed JSON requests
(they ignore the signature headers) at 50 connections.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from bench import load, servers
from bench.ingest import WARMUP_SECONDS
from bench.load import Result

PEERS = Path(os.environ.get("BENCH_PEERS", "/tmp/peers"))


@contextlib.contextmanager
def n8n(log: Path) -> Iterator[servers.Server]:
    port = servers.free_port()
    env = {"N8N_USER_FOLDER": str(PEERS / "n8n" / "home"), "N8N_PORT": str(port),
           "N8N_RUNNERS_BROKER_PORT": str(servers.free_port()),
           "N8N_DIAGNOSTICS_ENABLED": "false", "N8N_LOG_LEVEL": "warn"}
    cmd = [str(PEERS / "n8n" / "node_modules" / ".bin" / "n8n"), "start"]
    with servers.process("n8n", cmd, env=env, ready="/healthz", log=log, port=port,
                         timeout=300) as server:
        _until_webhook_answers(server.url + "/webhook/bench")  # workflows activate later
        yield server


def _until_webhook_answers(url: str, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while httpx.post(url, json={}, timeout=5).status_code != 200:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} still not answering 200 after {timeout}s")
        time.sleep(1)


NODE_RED = PEERS / "nodered" / "node_modules" / ".bin" / "node-red"


@contextlib.contextmanager
def node_red(log: Path) -> Iterator[servers.Server]:
    port = servers.free_port()
    cmd = [str(NODE_RED), "--port", str(port),
           "--userDir", str(PEERS / "nodered" / "userdir"), "flows.json"]
    with servers.process("node-red", cmd, env={}, ready="/", log=log, port=port,
                         timeout=120) as server:
        yield server


def run(workdir: Path, *, duration: int, connections: int = 50) -> list[Result]:
    targets = [
        ("bare FastAPI", lambda: servers.uvicorn_app("bare", "bench.bare_app:app",
                                                    log=workdir / "bare.log"), "/hooks/bench"),
        ("n8n 2.8.4 (SQLite)", lambda: n8n(workdir / "n8n.log"), "/webhook/bench"),
        ("Node-RED 4.1.15 (file)", lambda: node_red(workdir / "node-red.log"), "/hooks/bench"),
    ]
    results = []
    for name, start, path in targets:
        try:
            with start() as server:
                load.run_wrk(name, server.url + path, load.webhook_request,
                             connections=connections, duration=WARMUP_SECONDS,
                             workdir=workdir, pid=server.pid)
                result = load.run_wrk(name, server.url + path, load.webhook_request,
                                      connections=connections, duration=duration,
                                      workdir=workdir, pid=server.pid)
        except (OSError, RuntimeError) as exc:  # not installed, or did not start
            print(f"  {name}: not measured ({exc})", flush=True)
            continue
        print(f"  {name}: {result.rps:.0f} rps, p99 {result.p99_ms:.1f} ms", flush=True)
        results.append(result)
    return results
