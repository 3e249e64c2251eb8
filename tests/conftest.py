"""Shared fixtures: settings in a temporary folder, and a real server on a free port."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from app.settings import Settings

# The tests' http.request calls go to servers on this machine: allowed here as an operator
# would allow them (PASSERELLE_HTTP_ALLOW_PRIVATE); the tests of that rule pass the setting
# explicitly (issue 15).
os.environ.setdefault("PASSERELLE_HTTP_ALLOW_PRIVATE", "true")
from app.store import Store

ADMIN_TOKEN = "test-admin-token-0123456789"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve_app(app: FastAPI, port: int | None = None) -> Iterator[str]:
    """Serve an ASGI app with uvicorn in a thread; yields its base URL."""
    port = port or free_port()
    from app.main import SERVER_OPTIONS

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="on", **SERVER_OPTIONS))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("test server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    """Settings with the store and flows in tmp_path; keyword arguments override fields."""

    def make(**overrides: Any) -> Settings:
        flows = tmp_path / "flows"
        flows.mkdir(exist_ok=True)
        values: dict[str, Any] = {
            "database_url": f"sqlite:///{tmp_path}/passerelle.db",
            "flows": flows,
            "admin_token": ADMIN_TOKEN,
            "poll_interval": 0.05,
            "log_format": "text",
            # Tests start from empty Feedback databases; the demo pages have their own test.
            "sandbox_demo_feedback": False,
        }
        values.update(overrides)
        return Settings(_env_file=None, **values)  # type: ignore[call-arg]

    return make


@dataclass
class Hub:
    """A running Passerelle server for a test."""

    url: str
    settings: Settings
    app: FastAPI

    @property
    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {ADMIN_TOKEN}"}

    def client(self, **kw: Any) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, timeout=30, **kw)

    @asynccontextmanager
    async def store(self) -> AsyncIterator[Store]:
        """A second connection to the hub's store, on the test's own event loop."""
        store = await Store.open(self.settings.database_url)
        try:
            yield store
        finally:
            await store.close()

    async def wait_for_run(self, run_id: str, *, statuses: tuple[str, ...] = ("succeeded",
                           "failed"), timeout: float = 20) -> dict[str, Any]:
        """Poll the admin API until the run reaches one of ``statuses``."""
        import asyncio

        deadline = time.monotonic() + timeout
        async with self.client(headers=self.admin) as c:
            while True:
                r = await c.get(f"/api/runs/{run_id}")
                r.raise_for_status()
                run: dict[str, Any] = r.json()
                if run["status"] in statuses:
                    return run
                if time.monotonic() > deadline:
                    raise AssertionError(f"run {run_id} stuck in {run['status']}: {run}")
                await asyncio.sleep(0.05)


@pytest.fixture
def hub_factory(make_settings: Callable[..., Settings], tmp_path: Path) -> Iterator[
        Callable[..., Any]]:
    """``with hub_factory(flows={"f.yaml": text}, **settings) as hub:`` starts a server."""
    from app.main import create_app

    @contextmanager
    def start(flows: dict[str, str] | None = None, *, worker: bool = True,
              **overrides: Any) -> Iterator[Hub]:
        port = free_port()
        overrides.setdefault("sandbox_url", f"http://127.0.0.1:{port}")
        settings = make_settings(**overrides)
        for name, text in (flows or {}).items():
            (settings.flows / name).write_text(text, encoding="utf-8")
        app = create_app(settings, worker=worker)
        with serve_app(app, port) as url:
            yield Hub(url=url, settings=settings, app=app)

    yield start
