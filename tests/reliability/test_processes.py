"""Several `passerelle` processes on one database, and graceful shutdown of a worker.

Real processes: two `serve --no-worker` receivers and two `worker`s share a store (SQLite
file, or a fresh PostgreSQL database). Every event is delivered to both receivers at once.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from harness import Proc, Recorder, base_env, flow, free_port, signed

from app.store import Store


async def table_rows(database_url: str, sql: str) -> list[sa.Row]:
    store = await Store.open(database_url)
    try:
        async with store.engines.read.connect() as conn:
            return list(await conn.execute(sa.text(sql)))
    finally:
        await store.close()


async def wait_status(database_url: str, statuses: set[str], count: int,
                      timeout: float = 40) -> None:
    async with asyncio.timeout(timeout):
        while True:
            rows = await table_rows(database_url, "SELECT status FROM runs")
            if len(rows) >= count and {r.status for r in rows} <= statuses:
                return
            await asyncio.sleep(0.2)


def post(url: str, msg_id: str, n: int) -> httpx.Response:
    body = json.dumps({"n": n, "text": "hello"}).encode()
    return httpx.post(f"{url}/hooks/load", content=body, headers=signed(body, msg_id),
                      timeout=10)


@pytest.mark.slow
async def test_two_receivers_two_workers_run_each_event_once(tmp_path: Path,
                                                             store_url: str) -> None:
    recorder = Recorder()
    (tmp_path / "flows").mkdir()
    (tmp_path / "flows" / "one.yaml").write_text(flow("one", source="load",
                                                      url=recorder.start(), steps=2))
    env = base_env(tmp_path, store_url, PASSERELLE_LEASE_SECONDS="10")
    ports = [free_port(), free_port()]
    procs = [Proc(["serve", "--no-worker", "--port", str(p)], env, tmp_path, f"api{i}")
             for i, p in enumerate(ports)]
    procs += [Proc(["worker"], env, tmp_path, f"worker{i}") for i in range(2)]
    for p in procs:
        p.start()
    try:
        for p, port in zip(procs, ports, strict=False):
            p.wait_http(f"http://127.0.0.1:{port}")
        for p in procs[2:]:
            p.wait_log("worker started")
        events = 40
        async with asyncio.TaskGroup() as tg:  # each event to both receivers at the same time
            answers = [tg.create_task(asyncio.to_thread(post, f"http://127.0.0.1:{port}",
                                                        f"twice-{n}", n))
                       for n in range(events) for port in ports]
        replies = [a.result() for a in answers]
        assert {r.status_code for r in replies} == {202}
        assert sum(r.json()["duplicate"] for r in replies) == events
        await wait_status(store_url, {"succeeded"}, events)
        for w in procs[2:]:
            assert w.term() == 0, w.output()
        runs = await table_rows(store_url, "SELECT id FROM runs")
        assert len(runs) == events
        assert len(await table_rows(store_url, "SELECT id FROM event_duplicates")) == events
        assert set(recorder.effects) == {f"{r.id}:s{i}" for r in runs for i in (1, 2)}
        assert set(recorder.effects.values()) == {1}  # no crash here: every call exactly once
        both = [p.logs().count('"msg": "run succeeded"') for p in procs[2:]]
        assert sum(both) == events
    finally:
        for p in procs:
            p.kill()
        recorder.stop()


def _worker_env(tmp_path: Path, recorder_plan: str, **extra: str) -> tuple[Recorder, dict]:
    recorder = Recorder(plan=lambda _k, _n, _p: recorder_plan)
    (tmp_path / "flows").mkdir()
    (tmp_path / "flows" / "slow.yaml").write_text(flow("slow", source="load",
                                                       url=recorder.start()))
    return recorder, base_env(tmp_path, f"sqlite:///{tmp_path}/hub.db",
                              PASSERELLE_LEASE_SECONDS="30", **extra)


async def _send_one(tmp_path: Path, env: dict) -> str:
    port = free_port()
    api = Proc(["serve", "--no-worker", "--port", str(port)], env, tmp_path, "api")
    api.start().wait_http(f"http://127.0.0.1:{port}")
    r = await asyncio.to_thread(post, f"http://127.0.0.1:{port}", "slow-1", 1)
    api.kill()
    assert r.status_code == 202, r.text
    run_id: str = r.json()["runs"][0]
    return run_id


@pytest.mark.slow
async def test_sigterm_lets_a_running_run_finish(tmp_path: Path) -> None:
    recorder, env = _worker_env(tmp_path, "slow:1.5")
    run_id = await _send_one(tmp_path, env)
    worker = Proc(["worker"], env, tmp_path, "worker").start()
    assert await asyncio.to_thread(recorder.started.wait, 30)  # the step is under way
    assert await asyncio.to_thread(worker.term) == 0
    [run] = await table_rows(env["PASSERELLE_DATABASE_URL"],
                             f"SELECT status, lease_owner FROM runs WHERE id = '{run_id}'")
    assert (run.status, run.lease_owner) == ("succeeded", None)
    assert '"released": 0' in worker.logs()
    recorder.stop()


@pytest.mark.slow
async def test_sigterm_gives_back_what_does_not_finish_in_the_grace_period(
        tmp_path: Path) -> None:
    recorder, env = _worker_env(tmp_path, "slow:4", PASSERELLE_SHUTDOWN_GRACE_SECONDS="0.2")
    run_id = await _send_one(tmp_path, env)
    worker = Proc(["worker"], env, tmp_path, "worker").start()
    assert await asyncio.to_thread(recorder.started.wait, 30)
    assert await asyncio.to_thread(worker.term) == 0
    db = env["PASSERELLE_DATABASE_URL"]
    [run] = await table_rows(db, f"SELECT status, lease_owner FROM runs WHERE id = '{run_id}'")
    assert (run.status, run.lease_owner) == ("queued", None)  # claimable at once, not leased
    assert '"released": 1' in worker.logs()
    recorder.plan = lambda _k, _n, _p: "ok"
    successor = Proc(["worker"], env, tmp_path, "successor").start()
    try:
        await wait_status(db, {"succeeded"}, 1)
    finally:
        successor.kill()
        recorder.stop()
    # The cut-off call may have had its effect: the second one carries the same key.
    assert recorder.calls == {f"{run_id}:s1": 2}
