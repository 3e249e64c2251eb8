"""serve, worker, check, run, runs, replay."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from pathlib import Path
from typing import Any

import typer

from app.cli.base import cli, echo_json, run_async, table
from app.engine.advice import warnings_for
from app.engine.flowtests import build_event
from app.engine.flowtests_spec import TriggerSpec
from app.engine.loader import load_flows
from app.engine.runner import execute_steps
from app.events import CLI_KEY_PREFIX, new_id
from app.logs import setup as setup_logs
from app.receivers import slack_verify
from app.redact import Redactor
from app.settings import Settings
from app.store import StepRecord, Store
from connectors.base import Action, ActionContext
from connectors.registry import Connectors


def _settings(**overrides: Any) -> Settings:
    return Settings(**{k: v for k, v in overrides.items() if v is not None})


def banner(rt: Any, host: str, port: int) -> None:
    base = f"http://{host}:{port}"
    modes = rt.connectors.modes()
    typer.echo(f"Passerelle is listening on {base}")
    # A configured token stays out of the output (which often ends up in a log collector);
    # only a token generated for this run is shown, as nobody could know it otherwise.
    shown = "$PASSERELLE_ADMIN_TOKEN" if rt.settings.admin_token else rt.admin_token
    typer.echo(f"  dashboard:  {base}/?token={shown}")
    mode = "WAL" if rt.store.dialect == "sqlite" else "pooled"
    typer.echo(f"  store:      {rt.store.dialect} ({mode})")
    typer.echo(f"  flows:      {len(rt.flows.flows)} loaded from {rt.settings.flows}"
               + (f", {len(rt.flows.problems)} problem(s): run `passerelle check`"
                  if rt.flows.problems else ""))
    for name, mode in sorted(modes.items()):
        if mode == "sandbox":
            typer.echo(f"  {name}: SANDBOX — no credentials set, using the built-in stand-in "
                       f"at {base}/sandbox/{name}")
    slack_problem = slack_verify.not_configured(rt.settings)
    if slack_problem:
        typer.echo(f"  WARNING: Slack requests are refused (503 slack_not_configured): "
                   f"{slack_problem}")
    if not rt.settings.admin_token:
        typer.echo("  admin token: generated for this run (set PASSERELLE_ADMIN_TOKEN to keep one)")


@cli.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    no_worker: bool = typer.Option(False, "--no-worker", help="Only receive; run no flows."),
) -> None:
    """HTTP server with an in-process worker."""
    import uvicorn

    from app.main import SERVER_OPTIONS, create_app

    settings = Settings()
    if "PASSERELLE_SANDBOX_URL" not in os.environ and not settings.env("PASSERELLE_SANDBOX_URL"):
        shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
        settings.sandbox_url = f"http://{shown}:{port}"
    setup_logs(settings.log_level, settings.log_format, Redactor(settings.secret_values()))
    app = create_app(settings, worker=not no_worker)
    app.state.on_start.append(lambda rt: banner(rt, host, port))
    uvicorn.run(app, host=host, port=port, log_config=None, access_log=False,
                timeout_graceful_shutdown=25, **SERVER_OPTIONS)


@cli.command()
def worker() -> None:
    """Worker only (scale-out: several processes on one PostgreSQL database)."""
    from app.runtime import Runtime

    settings = Settings()
    setup_logs(settings.log_level, settings.log_format, Redactor(settings.secret_values()))

    async def main() -> None:
        rt = await Runtime.start(settings, with_worker=False)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        rt.worker = rt.make_worker()
        try:
            await rt.worker.run(stop, grace=settings.shutdown_grace_seconds)
        finally:
            rt.worker = None
            await rt.close()

    run_async(main())


@cli.command()
def check(
    path: Path = typer.Argument(None, help="Flow file or folder (default: PASSERELLE_FLOWS)."),
    live: bool = typer.Option(False, "--live", help="Also check Notion schemas over the API."),
) -> None:
    """Validate flow files; prints file:line: message for each problem, exit 1 if any."""
    settings = Settings()
    connectors = Connectors(settings)
    flows = load_flows(path or settings.flows, env=settings.env, actions=connectors.actions)
    problems = list(flows.problems)
    if live and not problems:
        from app.engine.live import live_problems

        problems += run_async(live_problems(flows, connectors))
    for problem in problems:
        typer.echo(str(problem))
    for warning in warnings_for(flows.flows):
        typer.echo(warning)
    if problems:
        raise typer.Exit(1)
    typer.echo(f"{len(flows.flows)} flow(s) OK")


@cli.command()
def run(
    flow_name: str = typer.Argument(..., metavar="FLOW"),
    event_file: Path | None = typer.Option(
        None, "--event", help="JSON file with the event data (a JSON object); scheduled "
        "flows run without one, as their schedule would run them now."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the calls; make none."),
) -> None:
    """Run one flow on one event."""
    settings = Settings()
    connectors = Connectors(settings)
    flows = load_flows(settings.flows, env=settings.env, actions=connectors.actions)
    flow = flows.flows.get(flow_name)
    if flow is None:
        known = ", ".join(sorted(flows.flows)) or "none"
        typer.echo(f"error: no flow named '{flow_name}' (loaded: {known})", err=True)
        raise typer.Exit(1)
    data: Any = {}
    if event_file is None and flow.trigger.kind != "schedule":
        typer.echo(f"error: flow '{flow_name}' runs on {flow.trigger.kind} events: give one "
                   f"with --event FILE (a JSON object); only scheduled flows run without",
                   err=True)
        raise typer.Exit(1)
    try:
        if event_file is not None:
            data = json.loads(event_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        typer.echo(f"error: {event_file}: {exc}", err=True)
        raise typer.Exit(1) from None
    if not isinstance(data, dict):
        typer.echo(f"error: {event_file}: the event must be a JSON object ({{...}}), not "
                   f"{_json_kind(data)}", err=True)
        raise typer.Exit(1)
    # A try from the CLI is not adoption: the KPIs leave out events with this key prefix.
    event = build_event(flow, TriggerSpec(dedupe_key=f"{CLI_KEY_PREFIX}{new_id()}"), data)
    if dry_run:
        async def show(action: Action, inputs: Any, ctx: ActionContext) -> dict[str, Any]:
            echo_json({"step": ctx.step_id, "action": action.full_name,
                       "input": inputs.model_dump(mode="json", by_alias=True,
                                                  exclude_none=True)})
            return {"dry_run": True}

        async def ignore(_: StepRecord) -> None:
            return None

        outcome = run_async(execute_steps(flow, event, run_id="dry-run", attempt=1,
                                          actions=connectors.actions, invoke=show,
                                          on_step=ignore, dry_run=True))
        if not outcome.ok:
            typer.echo(f"error: {outcome.message}", err=True)
            raise typer.Exit(1)
        return

    async def real() -> dict[str, Any]:
        from app.runtime import Runtime

        # Its own connectors: passerelle.stats and notion upserts need the store it opens.
        rt = await Runtime.start(settings, with_worker=False)
        try:
            result = await rt.batcher.submit(event, [flow.name])
            w = rt.make_worker()
            await w.run_until_idle(timeout=120)
            # With `serve` running on the same store, its worker may have claimed the run:
            # wait for whoever runs it to finish it.
            deadline = asyncio.get_running_loop().time() + 120
            while True:
                found = await rt.store.get_run(result.runs[0])
                if found.status in ("succeeded", "failed") or \
                        asyncio.get_running_loop().time() > deadline:
                    return found.as_dict()
                await asyncio.sleep(0.1)
        finally:
            await rt.close()

    out = run_async(real())
    echo_json(Redactor(settings.secret_values()).value(out))
    if out["status"] != "succeeded":
        raise typer.Exit(1)


RUN_STATUSES = ("queued", "running", "retrying", "succeeded", "failed")


def _json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    return "null" if value is None else "a number"


async def _with_store(settings: Settings, fn: Any) -> Any:
    store = await Store.open(settings.database_url)
    try:
        return await fn(store)
    finally:
        await store.close()


@cli.command()
def runs(
    status: str = typer.Option(None, help="queued, running, retrying, succeeded or failed."),
    flow: str = typer.Option(None, help="Only this flow."),
    limit: int = typer.Option(50),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Run history, newest first."""
    if status is not None and status not in RUN_STATUSES:
        typer.echo(f"error: unknown status '{status}' (use one of: {', '.join(RUN_STATUSES)})",
                   err=True)
        raise typer.Exit(2)
    settings = Settings()
    found = run_async(_with_store(settings, lambda s: s.list_runs(status=status, flow=flow,
                                                                     limit=limit)))
    rows = [Redactor(settings.secret_values()).value(r.as_dict(with_steps=False)) for r in found]
    if as_json:
        echo_json(rows)
        return
    table(rows, ["id", "flow", "status", "attempt", "created_at", "error"])


@cli.command()
def replay(run_id: str = typer.Argument(..., metavar="RUN_ID")) -> None:
    """Queue a failed run again (it resumes after its last succeeded step)."""
    settings = Settings()
    run_rec = run_async(_with_store(settings, lambda s: s.replay(run_id)))
    typer.echo(f"run {run_rec.id} ({run_rec.flow}) is queued again; a worker will pick it up")
