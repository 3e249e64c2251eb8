"""Receive benchmarks: signed webhooks and signed Slack commands, each against its yardstick.

Every target runs in its own process with a fresh store; each (target, connections) pair gets a
short warm-up, then the measured wrk run. Ratios compare targets measured in the same run.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

from bench import load, servers
from bench.load import Maker, Result

WARMUP_SECONDS = 2
Target = Callable[[], contextlib.AbstractContextManager[servers.Server]]


def _measure(name: str, target: Target, path: str, make: Maker, *, connections: tuple[int, ...],
             duration: int, workdir: Path) -> Iterator[Result]:
    with target() as server:
        for c in connections:
            load.run_wrk(name, server.url + path, make, connections=c,
                         duration=WARMUP_SECONDS, workdir=workdir, pid=server.pid)
            result = load.run_wrk(name, server.url + path, make, connections=c,
                                  duration=duration, workdir=workdir, pid=server.pid)
            print(f"  {name} c={c}: {result.rps:.0f} rps, p99 {result.p99_ms:.1f} ms, "
                  f"{result.cpu_ms_per_req:.3f} CPU ms/req, load {result.load_avg:.1f}",
                  flush=True)
            yield result


def serve(workdir: Path, name: str, database_url: str, *, worker: bool = False,
           ok_url: str = "http://127.0.0.1:9/ok") -> Target:
    env = servers.passerelle_env(database_url=database_url, ok_url=ok_url)
    return lambda: servers.passerelle(name, env=env, log=workdir / f"{name}.log", worker=worker)


def _sqlite(workdir: Path, name: str) -> str:
    return f"sqlite:///{workdir / name}.db"


def webhooks(workdir: Path, *, duration: int, connections: tuple[int, ...] = (50, 200),
             postgres: bool = True) -> list[Result]:
    """Bare FastAPI, then Passerelle (--no-worker) on SQLite and PostgreSQL, then with worker."""
    log = workdir / "bare.log"

    def run(name: str, target: Target, conns: tuple[int, ...]) -> list[Result]:
        return list(_measure(name, target, "/hooks/bench", load.webhook_request,
                             connections=conns, duration=duration, workdir=workdir))

    results = list(run("bare FastAPI", lambda: servers.uvicorn_app(
        "bare", "bench.bare_app:app", log=log), connections))
    results += run("passerelle sqlite", serve(workdir, "sqlite", _sqlite(workdir, "ingest")),
                   connections)
    if postgres:
        results += run("passerelle postgres",
                       serve(workdir, "postgres", servers.fresh_postgres()), connections)
    with servers.uvicorn_app("ok", "bench.bare_app:app", log=log) as ok:
        target = serve(workdir, "sqlite-worker", _sqlite(workdir, "ingest-worker"),
                        worker=True, ok_url=ok.url + "/ok")
        results += run("passerelle sqlite + worker", target, connections[:1])
    return results


def slack(workdir: Path, *, duration: int, connections: tuple[int, ...] = (50, 200)
          ) -> list[Result]:
    """slack-bolt AsyncApp that only acks, then Passerelle (--no-worker) on SQLite."""
    env = servers.passerelle_env(database_url="unused")

    def run(name: str, target: Target, conns: tuple[int, ...]) -> list[Result]:
        return list(_measure(name, target, "/slack/commands", load.slack_command_request,
                             connections=conns, duration=duration, workdir=workdir))

    results = list(run("slack-bolt AsyncApp", lambda: servers.uvicorn_app(
        "bolt", "bench.bolt_app:app", log=workdir / "bolt.log", env=env), connections))
    results += run("passerelle sqlite", serve(workdir, "slack", _sqlite(workdir, "slack")),
                   connections)
    return results

