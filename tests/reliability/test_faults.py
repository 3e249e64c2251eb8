"""Faults at the outside API: every run still completes, none twice; 4xx fails and replays.

The flows call a local API (``Recorder``) through ``http.request``; it answers a share of calls
with 429 (``Retry-After: 1``), 500, 529, no answer before the client's timeout, or a dropped
connection. An effect is recorded only when the API accepts a call, so "none twice" is exact.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections import Counter

import pytest
from harness import WHSEC, Recorder, flow, signed

from app.engine.retry import RetryPolicy

FAULTS = ("429", "500", "529", "timeout", "drop")


def faulty(key: str, n: int, path: str) -> str:
    """Per key, deterministically: one or two faults of different kinds, then success."""
    if path.startswith("/strict/"):
        return "400"
    h = int(hashlib.sha256(key.encode()).hexdigest(), 16)
    faults = 1 + h % 2
    return FAULTS[(h // 2 + n) % len(FAULTS)] if n <= faults else "ok"


@pytest.fixture
def secrets_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PASSERELLE_WEBHOOK_SECRET_LOAD", WHSEC)
    monkeypatch.setenv("PASSERELLE_WEBHOOK_SECRET_STRICT", WHSEC)


@pytest.mark.slow
async def test_transient_faults_end_in_exactly_one_success_per_call(hub_factory,
                                                                    secrets_env) -> None:
    recorder = Recorder(plan=faulty)
    api = recorder.start()
    flows = {"f.yaml": flow("faulty", source="load", url=api, steps=2, timeout=1)}
    with hub_factory(flows, max_attempts=8) as hub:
        # Short backoff so the test is quick; Retry-After (1 s) still sets the floor.
        hub.app.state.runtime.worker.policy = RetryPolicy(max_attempts=8, base=0.05, cap=0.5)
        runs = []
        async with hub.client() as c:
            for n in range(30):
                body = json.dumps({"n": n, "text": "t"}).encode()
                r = await c.post("/hooks/load", content=body, headers=signed(body, f"f-{n}"))
                assert r.status_code == 202, r.text
                runs += r.json()["runs"]
        done = await asyncio.gather(*(hub.wait_for_run(r, timeout=60) for r in runs))
    recorder.stop()
    assert Counter(r["status"] for r in done) == {"succeeded": 30}
    keys = {f"{r['id']}:s{i}" for r in done for i in (1, 2)}
    assert set(recorder.effects) == keys
    assert set(recorder.effects.values()) == {1}  # each call took effect exactly once
    assert all(recorder.answers[kind] > 0 for kind in FAULTS), recorder.answers
    attempts = Counter(r["attempt"] for r in done)
    assert max(attempts) > 1  # the faults did force retries
    print(f"\nfaults: {dict(recorder.answers)}; runs by attempt: {dict(attempts)}; "
          f"calls: {sum(recorder.calls.values())} for {len(keys)} step calls")


async def test_permanent_error_fails_readably_and_replay_retries(hub_factory,
                                                                secrets_env) -> None:
    recorder = Recorder(plan=faulty)
    api = recorder.start()
    with hub_factory({"s.yaml": flow("strict", source="strict", url=api)}) as hub:
        async with hub.client() as c:
            body = b'{"n": 1, "text": "t"}'
            r = await c.post("/hooks/strict", content=body, headers=signed(body, "s-1"))
            [run_id] = r.json()["runs"]
            failed = await hub.wait_for_run(run_id)
            assert failed["status"] == "failed" and failed["attempt"] == 1  # no retry of a 4xx
            assert failed["error"].startswith("step s1: http.request: 127.0.0.1 answered 400")
            assert failed["steps"][0]["status"] == "failed"
            recorder.plan = lambda _k, _n, _p: "ok"  # the API is fixed
            replay = await c.post(f"/api/runs/{run_id}/replay", headers=hub.admin)
            assert replay.status_code == 202 and replay.json()["status"] == "queued"
            again = await hub.wait_for_run(run_id)
            assert again["status"] == "succeeded" and again["replays"] == 1
            assert again["error"] is None
            assert (await c.post(f"/api/runs/{run_id}/replay",
                                 headers=hub.admin)).status_code == 409
    recorder.stop()
    assert recorder.calls == {f"{run_id}:s1": 2} and recorder.effects == {f"{run_id}:s1": 1}
