"""An accepted event survives SIGKILL, and a load of webhooks survives repeated SIGKILLs.

Real `passerelle` processes on a real database; the flows call a local recording API whose
counts by ``Idempotency-Key`` show which calls happened. The sender behaves like Make or
Zapier: it resends an event until it gets a 2xx, with the same ``webhook-id``.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from harness import Proc, Recorder, base_env, flow, free_port, signed

from app.store import Store

FLOWS = {"alpha": 2, "beta": 1}  # flow name -> number of steps; both match source "load"


def write_flows(tmp: Path, url: str) -> None:
    (tmp / "flows").mkdir(exist_ok=True)
    for name, steps in FLOWS.items():
        (tmp / "flows" / f"{name}.yaml").write_text(flow(name, source="load", url=url,
                                                         steps=steps))


async def post_event(client: httpx.AsyncClient, url: str, msg_id: str, n: int) -> httpx.Response:
    body = json.dumps({"n": n, "text": f"event {n}"}).encode()
    return await client.post(f"{url}/hooks/load", content=body, headers=signed(body, msg_id))


async def wait_all_final(database_url: str, expected_runs: int, timeout: float = 45) -> None:
    store = await Store.open(database_url)
    try:
        async with asyncio.timeout(timeout):
            while True:
                counts = await store.count_runs()
                if sum(counts.values()) >= expected_runs and set(counts) <= {"succeeded",
                                                                            "failed"}:
                    return
                await asyncio.sleep(0.2)
    finally:
        await store.close()


async def check_exactly_once(database_url: str, acked: dict[str, str],
                             recorder: Recorder) -> dict[str, int]:
    """Every acked event: one succeeded run per flow, every step's call made at least once."""
    store = await Store.open(database_url)
    try:
        async with store.engines.read.connect() as conn:
            events = {row.dedupe_key: row.id for row in await conn.execute(
                sa.text("SELECT id, dedupe_key FROM events"))}
            runs = list(await conn.execute(sa.text("SELECT id, event_id, flow, status FROM runs")))
    finally:
        await store.close()
    for msg_id, event_id in acked.items():
        assert events.get(f"webhook:load:{msg_id}") == event_id, f"acked event {msg_id} lost"
    per_event = Counter((r.event_id, r.flow) for r in runs)
    for event_id in acked.values():
        for name in FLOWS:
            assert per_event[(event_id, name)] == 1, (event_id, name, per_event)
    assert {r.status for r in runs} == {"succeeded"}, Counter(r.status for r in runs)
    assert len(runs) == len(acked) * len(FLOWS)
    expected_keys = {f"{r.id}:s{i}" for r in runs for i in range(1, FLOWS[r.flow] + 1)}
    missing = expected_keys - set(recorder.effects)
    assert not missing, f"{len(missing)} step calls never happened"
    assert set(recorder.effects) == expected_keys, "calls for runs that do not exist"
    return {"events": len(acked), "runs": len(runs), "step_calls": len(expected_keys),
            "duplicate_calls": sum(c - 1 for c in recorder.effects.values())}


@pytest.mark.slow
async def test_acked_event_survives_sigkill_right_after_the_answer(tmp_path: Path) -> None:
    recorder = Recorder()
    write_flows(tmp_path, recorder.start())
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    db = f"sqlite:///{tmp_path}/hub.db"
    env = base_env(tmp_path, db)
    receiver = Proc(["serve", "--port", str(port), "--no-worker"], env, tmp_path, "serve")
    receiver.start().wait_http(url)
    async with httpx.AsyncClient(timeout=10) as client:
        answer = await post_event(client, url, "must-hold-1", 1)
    receiver.kill()  # at once: no shutdown code runs
    assert answer.status_code == 202, answer.text
    assert len(answer.json()["runs"]) == len(FLOWS)
    assert not recorder.calls  # nothing ran before the crash

    hub = Proc(["serve", "--port", str(port)], env, tmp_path, "hub")
    hub.start().wait_http(url)
    try:
        await wait_all_final(db, len(FLOWS))
        stats = await check_exactly_once(db, {"must-hold-1": answer.json()["event_id"]},
                                         recorder)
        assert stats["duplicate_calls"] == 0
    finally:
        hub.term()
        assert "Application shutdown complete" in hub.logs(), hub.output()
        recorder.stop()


async def crash_load(tmp_path: Path, database_url: str, *, workers: int,
                     kills: int) -> dict[str, int]:
    """Send webhooks without pause while the receiving server is SIGKILLed ``kills`` times.

    ``workers`` 0: one `serve` with its worker (the SQLite shape). Otherwise `serve
    --no-worker` and that many `worker` processes, of which one is SIGKILLed too every other
    round, so runs are taken over after their lease expires.
    """
    recorder = Recorder()
    write_flows(tmp_path, recorder.start())
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = base_env(tmp_path, database_url)
    args = ["serve", "--port", str(port)] + (["--no-worker"] if workers else [])
    server = Proc(args, env, tmp_path, "serve")
    pool = [Proc(["worker"], env, tmp_path, f"worker{i}") for i in range(workers)]
    server.start()
    for w in pool:
        w.start()
    server.wait_http(url)
    acked: dict[str, str] = {}
    stats = Counter[str]()
    done = asyncio.Event()
    rng = random.Random(5)

    async def sender(lane: int) -> None:
        async with httpx.AsyncClient(timeout=5) as client:
            n = 0
            while not done.is_set():
                n += 1
                msg_id = f"load-{lane}-{n}"
                while True:  # resend until acknowledged, like a webhook sender does
                    stats["requests"] += 1
                    try:
                        r = await post_event(client, url, msg_id, lane * 100_000 + n)
                    except httpx.TransportError:
                        stats["refused_or_cut"] += 1
                        await asyncio.sleep(0.1)
                        continue
                    if r.status_code == 202:
                        if r.json()["duplicate"]:
                            stats["acked_as_duplicate"] += 1
                        acked[msg_id] = r.json()["event_id"]
                        break
                    assert r.status_code >= 500, r.text  # never a 4xx for a good request
                    stats["5xx"] += 1
                    await asyncio.sleep(0.1)
                if rng.random() < 0.1:  # a sender retrying after a lost answer
                    stats["requests"] += 1
                    try:
                        dup = await post_event(client, url, msg_id, lane * 100_000 + n)
                    except httpx.TransportError:
                        stats["refused_or_cut"] += 1
                    else:
                        assert dup.status_code == 202 and dup.json()["duplicate"], dup.text
                        assert dup.json()["event_id"] == acked[msg_id]
                        stats["resent_after_ack"] += 1
                await asyncio.sleep(0.01)

    async def killer() -> None:
        for round_ in range(kills):
            await asyncio.sleep(rng.uniform(0.4, 1.2))
            server.kill()
            stats["server_kills"] += 1
            if pool and round_ % 2 == 0:
                victim = pool[round_ // 2 % len(pool)]
                victim.kill()
                stats["worker_kills"] += 1
                victim.start()
            await asyncio.to_thread(server.start().wait_http, url)
        await asyncio.sleep(0.5)
        done.set()

    try:
        t0 = time.monotonic()
        await asyncio.gather(killer(), *(sender(lane) for lane in range(6)))
        t1 = time.monotonic()
        await wait_all_final(database_url, len(acked) * len(FLOWS))
        print(f"load {t1 - t0:.1f}s, drain {time.monotonic() - t1:.1f}s")
        result = await check_exactly_once(database_url, acked, recorder)
    finally:
        for proc in (server, *pool):
            proc.kill()
        recorder.stop()
    errors = [line for proc in (server, *pool) for line in proc.logs().splitlines()
              if '"level": "error"' in line]
    stats["error_log_lines"] = len(errors)
    result.update(stats)
    print(f"\ncrash load ({database_url.split(':')[0]}, workers={workers}): {result}")
    return result


@pytest.mark.slow
async def test_sigkill_load_on_sqlite(tmp_path: Path) -> None:
    result = await crash_load(tmp_path, f"sqlite:///{tmp_path}/hub.db", workers=0, kills=4)
    assert result["server_kills"] == 4 and result["events"] > 0


@pytest.mark.slow
@pytest.mark.postgres
async def test_sigkill_load_on_postgresql_with_two_workers(tmp_path: Path, pg_url: str) -> None:
    result = await crash_load(tmp_path, pg_url, workers=2, kills=3)
    assert result["server_kills"] == 3 and result["worker_kills"] == 2
