"""Starting and stopping the servers under test, each in its own process."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
# Another checkout can be measured (before/after a change) with BENCH_PASSERELLE=<its script>.
PASSERELLE = os.environ.get("BENCH_PASSERELLE", str(ROOT / ".venv" / "bin" / "passerelle"))
PG_ADMIN_URL = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    name: str
    url: str
    process: subprocess.Popen[bytes]

    @property
    def pid(self) -> int:
        return self.process.pid


def wait_ready(url: str, process: subprocess.Popen[bytes], *, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode} before it was ready")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1).status_code < 500:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{url} not ready after {timeout}s")


@contextlib.contextmanager
def process(name: str, cmd: list[str], *, env: dict[str, str], ready: str, log: Path,
            port: int, timeout: float = 60) -> Iterator[Server]:
    """Run ``cmd`` until the block ends (SIGTERM, then SIGKILL after 30 s)."""
    with log.open("ab") as out:
        proc = subprocess.Popen(cmd, env={**os.environ, **env}, cwd=ROOT, stdout=out,
                                stderr=subprocess.STDOUT)
        try:
            wait_ready(f"http://127.0.0.1:{port}{ready}", proc, timeout=timeout)
            yield Server(name, f"http://127.0.0.1:{port}", proc)
        finally:
            stop(proc)


def uvicorn_app(name: str, target: str, *, log: Path, env: dict[str, str] | None = None
                ) -> contextlib.AbstractContextManager[Server]:
    """An ASGI app served like ``passerelle serve`` is: one process, uvloop, httptools."""
    port = free_port()
    cmd = [sys.executable, "-m", "uvicorn", target, "--port", str(port), "--no-access-log",
           "--log-level", "warning"]
    return process(name, cmd, env=env or {}, ready="/docs", log=log, port=port)


def passerelle(name: str, *, env: dict[str, str], log: Path, worker: bool = True
               ) -> contextlib.AbstractContextManager[Server]:
    port = free_port()
    cmd = [PASSERELLE, "serve", "--port", str(port), *([] if worker else ["--no-worker"])]
    return process(name, cmd, env=env, ready="/healthz", log=log, port=port)


def worker_process(*, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen([PASSERELLE, "worker"], env={**os.environ, **env}, cwd=ROOT,
                                stdout=out, stderr=subprocess.STDOUT)


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def fresh_postgres(name: str = "passerelle_bench") -> str:
    """Drop and create database ``name`` on the local server; returns its URL."""
    base, _, _ = PG_ADMIN_URL.rpartition("/")
    for sql in (f"DROP DATABASE IF EXISTS {name} WITH (FORCE)", f"CREATE DATABASE {name}"):
        subprocess.run(["psql", PG_ADMIN_URL, "-q", "-c", sql], check=True,
                       capture_output=True)
    return f"{base}/{name}"


def passerelle_env(*, database_url: str, ok_url: str = "http://127.0.0.1:9/ok",
                   **extra: str) -> dict[str, str]:
    """Settings of a benchmarked Passerelle: the bench flows, the bench secrets, sandbox on."""
    from bench.load import SLACK_SECRET, WHSEC

    return {
        "PASSERELLE_DATABASE_URL": database_url,
        "PASSERELLE_FLOWS": str(ROOT / "bench" / "flows"),
        "PASSERELLE_WEBHOOK_SECRET_BENCH": WHSEC,
        "SLACK_SIGNING_SECRET": SLACK_SECRET,
        "PASSERELLE_ADMIN_TOKEN": "bench-admin-token",
        "BENCH_OK_URL": ok_url,
        # The bench flows call a local endpoint (loopback): allowed as an operator would.
        "PASSERELLE_HTTP_ALLOW_PRIVATE": "true",
        **extra,
    }
