"""A served hub picks up flow edits within seconds, and keeps its flows when an edit is broken."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

TOKEN = "reload-secret-123"
FLOW = """
name: echo
on:
  webhook: make
steps:
  - id: call
    use: http.request
    with:
      method: GET
      url: "{{ event.url }}"
      params: {version: "VERSION"}
"""


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PASSERELLE_WEBHOOK_SECRET_MAKE", TOKEN)


async def _version(hub, c, key: str) -> Any:
    r = await c.post("/hooks/make", json={"url": f"{hub.url}/healthz"},
                     headers={"Authorization": f"Bearer {TOKEN}", "Idempotency-Key": key})
    assert r.status_code == 202, r.text
    if not r.json()["runs"]:
        return None
    run = await hub.wait_for_run(r.json()["runs"][0])
    return run["steps"][0]["input"]["params"]["version"]


async def _until(predicate, seconds: float = 10.0) -> float:
    start = time.monotonic()
    while not await predicate():
        assert time.monotonic() - start < seconds, "no reload within the time"
        await asyncio.sleep(0.1)
    return time.monotonic() - start


async def test_edit_reloads_and_broken_edit_keeps_the_running_flows(hub_factory, env) -> None:
    with hub_factory({"echo.yaml": FLOW.replace("VERSION", "one")}) as hub:
        path = hub.settings.flows / "echo.yaml"
        async with hub.client() as c:
            assert await _version(hub, c, "k0") == "one"
            path.write_text(FLOW.replace("VERSION", "two"), encoding="utf-8")
            keys = iter(range(1, 1000))

            async def is_two() -> bool:
                return await _version(hub, c, f"k{next(keys)}") == "two"
            took = await _until(is_two)
            assert took < 8  # polled every second; the rest is one run per try, under load

            # A broken edit (a misspelt action): refused, the running flow stays.
            path.write_text(FLOW.replace("VERSION", "three").replace("http.request",
                                                                      "http.requst"))

            async def rejected() -> bool:
                ready = (await c.get("/readyz")).json()
                return bool(ready["flow_reload"]["status"] == "rejected")
            await _until(rejected)
            ready = (await c.get("/readyz")).json()
            assert ready["flows"] == 1
            assert any("did you mean http.request" in p
                       for p in ready["flow_reload"]["problems"])
            assert await _version(hub, c, "after-broken") == "two"
            page = await c.get("/flows", headers=hub.admin)
            assert "was not applied" in page.text and "http.requst" in page.text

            # Fixed again, and a new file: both in place without a restart.
            path.write_text(FLOW.replace("VERSION", "four"), encoding="utf-8")
            (hub.settings.flows / "other.yaml").write_text(
                FLOW.replace("name: echo", "name: other").replace("VERSION", "other"))

            async def both() -> bool:
                ready = (await c.get("/readyz")).json()
                return bool(ready["flows"] == 2 and ready["flow_reload"]["status"] == "reloaded")
            await _until(both)
            r = await c.post("/hooks/make", json={"url": f"{hub.url}/healthz"},
                             headers={"Authorization": f"Bearer {TOKEN}"})
            assert len(r.json()["runs"]) == 2
            assert (await c.get("/readyz")).json()["flow_problems"] == 0
