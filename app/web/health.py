"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from app.receivers import slack_verify
from app.runtime import Runtime

router = APIRouter()


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    rt: Runtime = request.app.state.runtime
    try:
        await rt.store.ping()
        store_ok = True
    except Exception:
        store_ok = False
    damaged = rt.integrity.problem if rt.integrity is not None else None
    if store_ok and damaged is not None:
        store_ok = False
    body = {
        "status": "ready" if store_ok else "unavailable",
        "store": "ok" if store_ok else ("damaged" if damaged else "unreachable"),
        "flows": len(rt.flows.flows),
        "flow_problems": len(rt.flows.problems),
    }
    if damaged is not None:
        body["store_problem"] = damaged
    slack_problem = slack_verify.not_configured(rt.settings)
    if slack_problem:
        # Not a readiness failure (the other receivers work), but what an operator must fix.
        body["slack"] = "not_configured"
        body["slack_problem"] = slack_problem
    reloader = rt.extras.get("flow_reloader")
    if reloader is not None:  # the last reload of the flows folder, and why it was refused
        body["flow_reload"] = reloader.details()
    return JSONResponse(body, status_code=200 if store_ok else 503)


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
