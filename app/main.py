"""Builds the FastAPI application from settings."""

from __future__ import annotations

import asyncio
import copy
import functools
import inspect
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from app import __version__
from app.errors import ConfigError, ReceiveError
from app.runtime import Runtime
from app.settings import Settings
from app.web import api, dashboard, health


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": code, "message": message}, status_code=status)


class _Passerelle(FastAPI):
    """FastAPI with the receivers' front ahead of all of it, middleware included.

    Outermost, the front also skips what FastAPI does per request before any middleware
    (its OpenTelemetry check reads the environment): about 0.025 ms of CPU per webhook.
    """

    front: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.front is None:
            await super().__call__(scope, receive, send)
        else:
            await self.front(scope, receive, send)


def _describe_receivers(app: FastAPI) -> None:
    """Put the front's routes into the OpenAPI schema (docs, and the bad-input tests)."""
    from app.receivers.front import ERROR_SCHEMA, OPENAPI_PATHS

    generate = app.openapi

    def openapi() -> dict[str, Any]:
        schema = generate()  # FastAPI's, cached in app.openapi_schema: extended once
        if not OPENAPI_PATHS.keys() <= schema["paths"].keys():
            schema["paths"] = {**copy.deepcopy(OPENAPI_PATHS), **schema["paths"]}
            schema.setdefault("components", {}).setdefault("schemas", {})["Error"] = \
                ERROR_SCHEMA
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


# How `passerelle serve` (and the test servers) run uvicorn. Uvicorn's proxy-headers
# middleware would wrap every request, the receivers' included, which read neither the client
# address nor the scheme; the front applies it to the requests that do (receivers/front.py).
SERVER_OPTIONS: dict[str, Any] = {"proxy_headers": False}


def _notion_faults(settings: Settings) -> Any:
    from app.sandbox.notion_faults import Faults

    try:
        statuses = tuple(int(s) for s in settings.sandbox_fault_statuses.split(",") if s.strip())
        return Faults(error_rate=settings.sandbox_fault_rate, statuses=statuses,
                      slow_rate=settings.sandbox_slow_rate,
                      slow_seconds=settings.sandbox_slow_seconds,
                      query_lag_seconds=settings.sandbox_query_lag_ms / 1000)
    except ValueError as exc:
        raise ConfigError(f"PASSERELLE_SANDBOX_FAULT_*: {exc}") from None


def _watch_flows(rt: Runtime) -> Callable[[], Awaitable[None]]:
    """Reload the flows folder on change and on SIGHUP (app/engine/reload.py); returns the
    coroutine function that stops watching."""
    from app.engine.reload import FlowReloader
    from app.runtime import load

    if rt.settings.reload_seconds <= 0:
        async def nothing() -> None:
            return None
        return nothing
    reloader = FlowReloader(flows=rt.flows, folder=rt.settings.flows,
                            load=lambda: load(rt.settings, rt.connectors),
                            interval=rt.settings.reload_seconds)
    rt.extras["flow_reloader"] = reloader
    task = asyncio.create_task(reloader.run(), name="flow-reloader")

    async def halt() -> None:
        reloader.halt()
        await task
    return halt


def _demo_feedback() -> dict[str, list[dict[str, str]]]:
    """The sandbox's demo Feedback pages (app/sandbox/demo_feedback.yaml; issue 21)."""
    import yaml

    path = Path(__file__).parent / "sandbox" / "demo_feedback.yaml"
    return {"Feedback": yaml.safe_load(path.read_text(encoding="utf-8"))["pages"]}


def _index_demo_feedback(rt: Runtime, sandbox: Any) -> None:
    """When the loaded flows look for similar feedback: add the demo Feedback pages to the
    stand-in and index them in the background (loading the model takes seconds: the server
    does not wait for it). Other flow sets get neither the pages nor the model's cost."""
    from connectors.similar import SimilarConnector
    from connectors.similar.reindex import index_sandbox_demo

    similar = rt.connectors.get(SimilarConnector.name)
    uses = any(step.use.startswith("similar.") for flow in rt.flows.flows.values()
               for step in flow.steps)
    if not uses or not isinstance(similar, SimilarConnector):
        return
    try:
        feedback = sandbox.data_source_by_title("Feedback")["id"]
    except KeyError:  # a flows folder with its own _databases.yaml and no Feedback
        return
    if sandbox.pages(feedback):
        # The stand-in's pages were kept from an earlier start (app/sandbox/persist.py), and
        # so was their index in the store: nothing to add.
        return
    sandbox.seed_demo(_demo_feedback())
    pages = sandbox.pages(feedback)

    async def run() -> None:
        try:
            await index_sandbox_demo(similar=similar, pages=pages)
        except Exception:  # a demo that cannot be indexed must not stop the hub
            logging.getLogger("passerelle").exception("sandbox demo feedback not indexed")

    rt.extras["similar_demo"] = asyncio.create_task(run(), name="similar-demo")


def create_app(settings: Settings | None = None, *, worker: bool = True) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        rt = await Runtime.start(settings, with_worker=worker)
        app.state.runtime = rt
        for hook in app.state.on_start:
            started = hook(rt)
            if inspect.isawaitable(started):
                await started
        watching = _watch_flows(rt)
        try:
            yield
        finally:
            demo = rt.extras.pop("similar_demo", None)
            if demo is not None:
                demo.cancel()
                await asyncio.gather(demo, return_exceptions=True)
            await watching()
            for stop in app.state.on_stop:
                await stop()
            await rt.close()

    app = _Passerelle(title="Passerelle", version=__version__, lifespan=lifespan,
                      docs_url="/api/docs", redoc_url=None, openapi_url="/api/openapi.json")
    app.state.settings = settings
    app.state.on_start = []
    app.state.on_stop = []
    # The webhook and Slack receivers take the load: a plain ASGI front answers them before
    # FastAPI's machinery (app/receivers/front.py, docs/performance.md). Notion's receiver
    # comes first among the routes, ahead of the sandbox stand-ins' many routes.
    from app.receivers import front
    from app.receivers import notion as notion_receiver

    app.front = front.ReceiverFront(app=functools.partial(FastAPI.__call__, app),
                                    state=app.state, max_body_bytes=settings.max_body_bytes,
                                    trusted_hosts=settings.forwarded_allow_ips,
                                    body_timeout=settings.body_timeout_seconds,
                                    max_reading=settings.max_bodies_reading)
    _describe_receivers(app)
    app.include_router(notion_receiver.router)
    if settings.slack_sandbox:
        from app.sandbox.slack import SlackSandbox

        app.state.slack_sandbox = SlackSandbox(rate_limits=settings.sandbox_rate_limits)
        app.include_router(app.state.slack_sandbox.router(), prefix="/sandbox/slack",
                           include_in_schema=False)
        app.state.on_start.append(
            lambda rt: rt.extras.setdefault("slack_sandbox", app.state.slack_sandbox))
    if settings.notion_sandbox:
        from app.engine.notion_specs import load_specs
        from app.sandbox.notion import NotionSandbox

        app.state.notion_sandbox = NotionSandbox(
            seed=load_specs(settings.flows),
            rate_limit=3.0 if settings.sandbox_rate_limits else None,
            faults=_notion_faults(settings))
        app.include_router(app.state.notion_sandbox.router(), prefix="/sandbox/notion/v1",
                           include_in_schema=False)
        app.state.on_start.append(
            lambda rt: rt.extras.setdefault("notion_sandbox", app.state.notion_sandbox))
    if settings.any_sandbox:
        from app.web import sandbox_admin

        sandbox_admin.keep_sandboxes(app)
        app.include_router(sandbox_admin.api_router)
        app.include_router(sandbox_admin.router)
    if settings.notion_sandbox and settings.sandbox_demo_feedback:
        # After the keeper: a restart restores the stand-in's pages first, and the demo is
        # added only to a Feedback database that has none.
        app.state.on_start.append(
            lambda rt: _index_demo_feedback(rt, app.state.notion_sandbox))

    @app.exception_handler(ReceiveError)
    async def _receive_error(request: Request, exc: ReceiveError) -> JSONResponse:
        from app.metrics import EVENTS_RECEIVED

        if request.url.path.startswith(("/hooks/", "/slack/", "/notion/")):
            EVENTS_RECEIVED.labels(request.url.path.split("/")[1], str(exc.status)).inc()
        return _error(exc.status, exc.code, exc.message)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {"msg": "invalid request"}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return _error(400, "bad_request", f"{where}: {first['msg']}" if where else first["msg"])

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> JSONResponse:
        detail: Any = exc.detail
        if isinstance(detail, dict):
            return JSONResponse(detail, status_code=exc.status_code)
        return _error(exc.status_code, "error", str(detail))

    app.include_router(health.router)
    app.include_router(api.router)
    app.include_router(dashboard.router)
    return app
