"""What the reliability tests drive: real `passerelle` processes and a recording HTTP server.

``Recorder`` is the outside API a flow calls through ``http.request``: it counts effects by
``Idempotency-Key`` (stable per run and step) and can answer with faults. ``Proc`` starts
``.venv/bin/passerelle`` with an environment of the test's own, and kills it for real.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import signal
import socket
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
PASSERELLE = ROOT / ".venv" / "bin" / "passerelle"
ADMIN = "reliability-admin-token-5e3a91"
WHSEC = "whsec_" + base64.b64encode(b"reliability-hmac-key-0123456789ab").decode()

# A fault plan answers (key, n-th call of that key, path) with one of: ok, 429, 500, 529,
# timeout (no answer before the client gives up), drop (connection closed), 400, slow:<seconds>
# (an effect, answered late), echo (200 repeating the request headers and ``leak``) or leak
# (400 whose body repeats ``leak``).
FaultPlan = Callable[[str, int, str], str]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def no_faults(_key: str, _n: int, _path: str) -> str:
    return "ok"


@dataclass
class Recorder:
    """A local HTTP API that records each call's effect once it accepts it."""

    plan: FaultPlan = no_faults
    leak: str = ""  # a secret the "echo" and "leak" answers repeat back
    calls: Counter[str] = field(default_factory=Counter)  # every request, by key
    effects: Counter[str] = field(default_factory=Counter)  # accepted requests, by key
    answers: Counter[str] = field(default_factory=Counter)  # what was answered, by kind
    bodies: dict[str, Any] = field(default_factory=dict)
    started: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> str:
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                return None

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                key = self.headers.get("Idempotency-Key") or "no-key"
                with recorder._lock:
                    recorder.calls[key] += 1
                    kind = recorder.plan(key, recorder.calls[key], self.path)
                    recorder.answers[kind.split(":")[0]] += 1
                    if kind in ("ok", "echo") or kind.startswith("slow"):
                        recorder.effects[key] += 1
                        recorder.bodies[key] = json.loads(body or b"null")
                recorder.started.set()
                if kind == "drop":
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                if kind == "timeout":
                    time.sleep(2.5)
                    self.close_connection = True
                    return
                if kind.startswith("slow:"):
                    time.sleep(float(kind.split(":")[1]))
                status = {"ok": 200, "429": 429, "500": 500, "529": 529, "400": 400,
                          "leak": 400}.get(kind, 200)
                answer: dict[str, Any] = {}
                if kind in ("echo", "leak"):  # an API that repeats credentials back to us
                    answer.update(note=f"got {recorder.leak}", token=recorder.leak,
                                  headers=dict(self.headers))
                answer.update(ok=status == 200, key=key)
                payload = json.dumps(answer).encode()
                self.send_response(status)
                if status == 429:
                    self.send_header("Retry-After", "1")
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                return None  # a client killed mid-request is part of the test, not news

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def flow(name: str, *, source: str, url: str, steps: int = 1, timeout: float = 15) -> str:
    """A webhook flow whose steps each POST the event to the recorder."""
    lines = [f"name: {name}", "on:", f"  webhook: {source}", "steps:"]
    for i in range(1, steps + 1):
        lines += [f"  - id: s{i}", "    use: http.request", "    with:",
                  "      method: POST", f'      url: "{url}/{name}/s{i}"',
                  f"      timeout: {timeout}",
                  '      json: {n: "{{ event.n }}", text: "{{ event.text }}"}']
    return "\n".join(lines) + "\n"


def signed(body: bytes, msg_id: str, secret: str = WHSEC) -> dict[str, str]:
    """Standard Webhooks headers, signed over the raw bytes (which may not be UTF-8)."""
    ts = str(int(datetime.now(UTC).timestamp()))
    key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.new(key, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()
    return {"webhook-id": msg_id, "webhook-timestamp": ts,
            "webhook-signature": "v1," + base64.b64encode(mac).decode(),
            "content-type": "application/json"}


def base_env(tmp: Path, database_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PASSERELLE_", "SLACK_",
                                                                     "NOTION_"))}
    env.update({
        "PASSERELLE_DATABASE_URL": database_url,
        "PASSERELLE_FLOWS": str(tmp / "flows"),
        "PASSERELLE_ADMIN_TOKEN": ADMIN,
        "PASSERELLE_WEBHOOK_SECRET_LOAD": WHSEC,
        "PASSERELLE_LOG_FORMAT": "json",
        "PASSERELLE_POLL_INTERVAL": "0.05",
        "PASSERELLE_LEASE_SECONDS": "2",
        "PASSERELLE_MAX_ATTEMPTS": "12",
        "PASSERELLE_HTTP_ALLOW_PRIVATE": "true",  # the flows call a recorder on 127.0.0.1
    })
    env.update(extra)
    return env


class Proc:
    """One `passerelle` process; its output goes to files in the test's folder."""

    def __init__(self, args: list[str], env: dict[str, str], logdir: Path, name: str) -> None:
        self.args, self.env, self.logdir, self.name = args, env, logdir, name
        self.popen: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> Proc:
        self.starts += 1
        out = (self.logdir / f"{self.name}.{self.starts}.stdout.log").open("wb")
        err = (self.logdir / f"{self.name}.{self.starts}.stderr.log").open("wb")
        self.popen = subprocess.Popen([str(PASSERELLE), *self.args], env=self.env,
                                      cwd=self.logdir, stdout=out, stderr=err)
        out.close()
        err.close()
        return self

    def wait_log(self, text: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        path = self.logdir / f"{self.name}.{self.starts}.stderr.log"
        while text not in path.read_text(errors="replace"):
            assert self.popen is not None and self.popen.poll() is None, self.output()
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name}: no '{text}' in time\n{self.output()}")
            time.sleep(0.05)

    def wait_http(self, url: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while True:
            assert self.popen is not None and self.popen.poll() is None, self.output()
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name} did not answer in time\n{self.output()}")
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as in a crash or an OOM kill."""
        if self.popen is not None and self.popen.poll() is None:
            self.popen.send_signal(signal.SIGKILL)
            self.popen.wait(timeout=10)

    def term(self, timeout: float = 30) -> int:
        """SIGTERM and wait. Uvicorn re-raises the signal after a clean shutdown, so `serve`
        ends with -SIGTERM; `worker` exits 0."""
        assert self.popen is not None
        self.popen.send_signal(signal.SIGTERM)
        return self.popen.wait(timeout=timeout)

    def logs(self) -> str:
        return "".join(p.read_text(errors="replace")
                       for p in sorted(self.logdir.glob(f"{self.name}.*.log")))

    def output(self) -> str:
        return self.logs()[-4000:]
