"""Admin API, health, readiness and metrics over real HTTP."""

from __future__ import annotations

import pytest

from tests.conftest import ADMIN_TOKEN

FAILING = """
name: failing
on:
  webhook: make
steps:
  - id: call
    use: http.request
    with:
      url: "{{ event.url }}"
"""


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PASSERELLE_WEBHOOK_SECRET_MAKE", "make-secret-value")


async def test_runs_api_lists_gets_and_replays(hub_factory, env) -> None:
    with hub_factory({"failing.yaml": FAILING}) as hub:
        async with hub.client() as c:
            # The hub answers 404 here: a permanent error, so the run fails at once.
            r = await c.post("/hooks/make", json={"url": f"{hub.url}/nope"},
                             headers={"Authorization": "Bearer make-secret-value"})
            run_id = r.json()["runs"][0]
            run = await hub.wait_for_run(run_id)
            assert run["status"] == "failed"
            assert "answered 404" in run["error"]
            assert run["steps"][0]["status"] == "failed"

            listed = await c.get("/api/runs", params={"status": "failed"}, headers=hub.admin)
            assert [x["id"] for x in listed.json()["runs"]] == [run_id]
            assert (await c.get("/api/runs", params={"status": "bogus"},
                                headers=hub.admin)).status_code == 400

            replay = await c.post(f"/api/runs/{run_id}/replay", headers=hub.admin)
            assert replay.status_code == 202
            assert replay.json()["status"] == "queued"
            again = await hub.wait_for_run(run_id)
            assert again["replays"] == 1 and again["status"] == "failed"

            # Only failed runs can be replayed; unknown ids are 404.
            assert (await c.post("/api/runs/nope/replay", headers=hub.admin)).status_code == 404

            flows = await c.get("/api/flows", headers=hub.admin)
            assert flows.json()["flows"][0]["trigger"] == {"kind": "webhook", "source": "make"}


async def test_admin_routes_need_the_token(hub_factory) -> None:
    with hub_factory({}) as hub:
        async with hub.client() as c:
            for path in ("/api/runs", "/api/flows", "/api/runs/x"):
                r = await c.get(path)
                assert r.status_code == 401
                assert ADMIN_TOKEN not in r.text
            bad = await c.get("/api/runs", headers={"Authorization": "Bearer wrong"})
            assert bad.status_code == 401


async def test_health_ready_metrics(hub_factory, env) -> None:
    with hub_factory({"failing.yaml": FAILING}) as hub:
        async with hub.client() as c:
            assert (await c.get("/healthz")).json() == {"status": "ok"}
            ready = await c.get("/readyz")
            assert ready.status_code == 200
            assert ready.json()["flows"] == 1 and ready.json()["store"] == "ok"
            await c.post("/hooks/make", json={"url": f"{hub.url}/nope"},
                         headers={"Authorization": "Bearer make-secret-value"})
            await c.post("/hooks/make", json={}, headers={"Authorization": "Bearer bad"})
            text = (await c.get("/metrics")).text
        assert 'passerelle_events_received_total{outcome="accepted",source="make"}' in text
        assert 'passerelle_events_received_total{outcome="401",source="hooks"}' in text
        assert "passerelle_queue_depth" in text
        assert "passerelle_step_seconds_bucket" in text


async def test_unknown_route_and_method_are_json(hub_factory) -> None:
    with hub_factory({}) as hub:
        async with hub.client() as c:
            r = await c.get("/no/such/route")
            assert r.status_code == 404 and r.json()["error"]
            r = await c.get("/hooks/make")
            assert r.status_code == 405
