"""FlowReloader: a change or a request (SIGHUP) reloads; a set with problems is refused."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

from app.engine.loader import FlowSet, load_flows
from app.engine.reload import FlowReloader
from connectors.registry import all_actions

FLOW = "name: {name}\non: {{webhook: x}}\nsteps:\n  - use: http.request\n    with: {{url: 'https://example.com'}}\n"


async def test_request_and_sighup_reload_without_a_file_change(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(FLOW.format(name="a"))
    loads = []

    def load() -> FlowSet:
        loads.append(1)
        return load_flows(tmp_path, env={}.get, actions=all_actions())

    flows = load()
    reloader = FlowReloader(flows=flows, folder=tmp_path, load=load, interval=30)
    task = asyncio.create_task(reloader.run())
    await asyncio.sleep(0.05)
    reloader.request()
    for _ in range(100):
        if len(loads) == 2:
            break
        await asyncio.sleep(0.02)
    assert len(loads) == 2 and reloader.status == "reloaded"
    # pytest runs this in the main thread: the reloader listens to SIGHUP.
    (tmp_path / "b.yaml").write_text(FLOW.format(name="b"))
    reloader.interval = 30  # the file poll will not come before the signal's reload
    os.kill(os.getpid(), signal.SIGHUP)
    for _ in range(100):
        if set(flows.flows) == {"a", "b"}:
            break
        await asyncio.sleep(0.02)
    assert set(flows.flows) == {"a", "b"}
    (tmp_path / "b.yaml").write_text("name: b\non: {webhook: x}\nsteps: []\n")
    assert await reloader.check() is False
    assert reloader.status == "rejected" and set(flows.flows) == {"a", "b"}
    assert flows.problems and "steps" in reloader.problems[0]
    reloader.halt()
    await asyncio.wait_for(task, 1)
    asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)
