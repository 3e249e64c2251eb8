"""GET /api/stats over real HTTP: KPIs of real webhook runs, auth and bad parameters."""

from __future__ import annotations

import pytest

FLOW = """
name: collect
on:
  webhook: make
steps:
  - use: http.request
    with:
      method: GET
      url: "{{ event.url }}"
"""
SECRET = "make-stats-secret-4242"


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PASSERELLE_WEBHOOK_SECRET_MAKE", SECRET)


async def test_stats_count_real_runs(hub_factory, env) -> None:
    idle = FLOW.replace("name: collect", "name: idle").replace("webhook: make",
                                                               "webhook: never")
    with hub_factory({"collect.yaml": FLOW, "idle.yaml": idle}) as hub:
        async with hub.client() as c:
            runs = []
            for n, author in enumerate(["ada@example.com", "bob@example.com", "ada@example.com"]):
                r = await c.post("/hooks/make", json={"url": f"{hub.url}/healthz",
                                                      "author": author},
                                 headers={"Authorization": f"Bearer {SECRET}",
                                          "Idempotency-Key": f"k{n}"})
                runs += r.json()["runs"]
            again = await c.post("/hooks/make", json={"url": f"{hub.url}/healthz"},
                                 headers={"Authorization": f"Bearer {SECRET}",
                                          "Idempotency-Key": "k0"})
            assert again.json()["duplicate"] is True
        for run_id in runs:
            await hub.wait_for_run(run_id)
        async with hub.client(headers=hub.admin) as c:
            r = await c.get("/api/stats", params={"weeks": 2, "timezone": "Europe/Paris"})
        assert r.status_code == 200, r.text
        doc = r.json()
        assert doc["timezone"] == "Europe/Paris" and len(doc["weeks"]) == 2
        by_flow = {f["flow"]: f["total"] for f in doc["flows"]}
        assert set(by_flow) == {"collect", "idle"}
        collect = by_flow["collect"]
        assert (collect["events"], collect["succeeded"], collect["failed"]) == (3, 3, 0)
        assert collect["duplicates_prevented"] == 1
        assert collect["contributors"] == 2
        assert collect["median_seconds"] is not None
        assert collect["p95_seconds"] >= collect["median_seconds"]
        assert by_flow["idle"]["events"] == 0
        last = doc["totals"]["weeks"][-1]
        assert doc["text"].splitlines()[1].startswith(f"{last['events']} event")


@pytest.mark.parametrize(("params", "status", "needle"), [
    ({"weeks": 0}, 400, "weeks"),
    ({"weeks": 500}, 400, "weeks"),
    ({"timezone": "Mars/Olympus"}, 400, "unknown time zone"),
])
async def test_stats_bad_parameters(hub_factory, params, status, needle) -> None:
    with hub_factory({}) as hub:
        async with hub.client(headers=hub.admin) as c:
            r = await c.get("/api/stats", params=params)
        assert r.status_code == status
        assert needle in r.json()["message"]


async def test_stats_need_the_admin_token(hub_factory) -> None:
    with hub_factory({}) as hub:
        async with hub.client() as c:
            assert (await c.get("/api/stats")).status_code == 401
            wrong = await c.get("/api/stats", headers={"Authorization": "Bearer nope"})
            assert wrong.status_code == 401
