"""The issue's 50-connection ratios, measured interleaved: a yardstick and its target up at
once, wrk alternating between them in short slices.

The ``ingest`` and ``slack`` suites measure the yardstick first, then each target, 10 s each,
one after the other. On a shared machine whose speed drifts by 20 to 50% within a minute
(docs/performance.md), that order alone could move a ratio by more than the changes under
test. Here a yardstick and its target take turns (``rounds`` slices of ``slice_seconds``
each, the order rotated every round) and each ratio is total requests over total requests
of its yardstick in the same rounds, so drift hits both sides alike. The per-round ratios
show the spread; p99 is given as the median and the worst of the slices. When Node-RED is
installed (``bench/peers_setup.sh``), Passerelle is also paired with Node-RED's
persist-then-answer flow, the issue's peer target.
"""

from __future__ import annotations

import contextlib
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import load, peers, servers
from bench.ingest import WARMUP_SECONDS, serve
from bench.load import Maker, Result

CONNECTIONS = 50


@dataclass
class _Target:
    name: str
    start: Callable[[], contextlib.AbstractContextManager[servers.Server]]
    path: str
    make: Maker
    yardstick: str  # name of the target this one is a ratio of (itself for a yardstick)
    slices: list[Result] = field(default_factory=list)


def _groups(workdir: Path, postgres: bool) -> list[list[_Target]]:
    """Each yardstick with its targets. Groups run one after the other, with only their own
    servers up: PostgreSQL's background work (WAL writer, checkpoints, autovacuum after a
    slice) then lands in its own group's slices, not in the SQLite or Slack ones."""
    def bare() -> _Target:
        return _Target("bare FastAPI", lambda: servers.uvicorn_app(
            "bare", "bench.bare_app:app", log=workdir / "bare.log"),
            "/hooks/bench", load.webhook_request, "bare FastAPI")

    bolt = "slack-bolt AsyncApp"
    groups = [
        [bare(), _Target("passerelle sqlite",
                         serve(workdir, "p-sqlite", f"sqlite:///{workdir}/p.db"),
                         "/hooks/bench", load.webhook_request, "bare FastAPI")],
        [_Target(bolt, lambda: servers.uvicorn_app(
            "bolt", "bench.bolt_app:app", log=workdir / "bolt.log",
            env=servers.passerelle_env(database_url="unused")),
            "/slack/commands", load.slack_command_request, bolt),
         _Target("passerelle sqlite (slack)",
                 serve(workdir, "p-slack", f"sqlite:///{workdir}/ps.db"),
                 "/slack/commands", load.slack_command_request, bolt)],
    ]
    if postgres:
        groups.append([bare(), _Target("passerelle postgres",
                                       serve(workdir, "p-pg", servers.fresh_postgres()),
                                       "/hooks/bench", load.webhook_request, "bare FastAPI")])
    if peers.NODE_RED.exists():  # installed by bench/peers_setup.sh
        red = "Node-RED 4.1.15 (file)"
        groups.append([
            _Target(red, lambda: peers.node_red(workdir / "node-red.log"), "/hooks/bench",
                    load.webhook_request, red),
            _Target("passerelle sqlite (vs Node-RED)",
                    serve(workdir, "p-red", f"sqlite:///{workdir}/pr.db"), "/hooks/bench",
                    load.webhook_request, red)])
    else:
        print(f"  Node-RED not paired: {peers.NODE_RED} is missing (bench/peers_setup.sh)")
    return groups


def run(workdir: Path, *, rounds: int = 6, slice_seconds: int = 5,
        postgres: bool = True) -> list[dict[str, Any]]:
    rows = []
    for targets in _groups(workdir, postgres):
        _interleave(targets, workdir, rounds=rounds, slice_seconds=slice_seconds)
        by_name = {t.name: t for t in targets}
        rows += [_row(t, by_name[t.yardstick]) for t in targets]
    return rows


def _interleave(targets: list[_Target], workdir: Path, *, rounds: int,
                slice_seconds: int) -> None:
    with contextlib.ExitStack() as stack:
        up = [(t, stack.enter_context(t.start())) for t in targets]
        for t, server in up:
            load.run_wrk(t.name, server.url + t.path, t.make, connections=CONNECTIONS,
                         duration=WARMUP_SECONDS, workdir=workdir, pid=server.pid)
        for r in range(rounds):
            turn = up[r % len(up):] + up[:r % len(up)]  # rotate who goes first
            for t, server in turn:
                t.slices.append(load.run_wrk(
                    t.name, server.url + t.path, t.make, connections=CONNECTIONS,
                    duration=slice_seconds, workdir=workdir, pid=server.pid))
            print(f"  round {r + 1}/{rounds}: " + ", ".join(
                f"{t.name} {t.slices[-1].rps:.0f}" for t in targets), flush=True)


def _row(t: _Target, yard: _Target) -> dict[str, Any]:
    requests = sum(s.requests for s in t.slices)
    seconds = sum(s.requests / s.rps for s in t.slices if s.rps)
    yard_rps = sum(s.requests for s in yard.slices) / sum(
        s.requests / s.rps for s in yard.slices if s.rps)
    rps = requests / seconds
    per_round = [round(s.rps / y.rps, 3) for s, y in zip(t.slices, yard.slices, strict=True)]
    return {
        "target": t.name, "yardstick": yard.name, "connections": CONNECTIONS,
        "rps": round(rps, 1), "ratio": round(rps / yard_rps, 3),
        "round_ratios": per_round, "ratio_range": f"{min(per_round)} to {max(per_round)}",
        "p99_ms_median": round(statistics.median(s.p99_ms for s in t.slices), 1),
        "p99_ms_worst": round(max(s.p99_ms for s in t.slices), 1),
        "non2xx": sum(s.non2xx for s in t.slices),
        "cpu_ms_per_req": round(statistics.fmean(s.cpu_ms_per_req for s in t.slices), 3),
    }
