"""The admin API under ``/api`` (bearer token or dashboard session)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request

from app.errors import BadRequest, ConfigError, NotFound, StoreError
from app.runtime import Runtime
from app.stats import MAX_WEEKS, kpis
from app.store.records import RUN_STATUSES
from app.web.auth import require_admin

router = APIRouter(prefix="/api", dependencies=[Depends(require_admin)])


def _rt(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


@router.get("/runs")
async def list_runs(
    request: Request,
    status: str | None = Query(default=None),
    flow: str | None = Query(default=None),
    limit: int = Query(default=50, ge=1, le=500),
    offset: int = Query(default=0, ge=0, le=1_000_000_000),  # SQLite integers are 64-bit
) -> dict[str, Any]:
    if status is not None and status not in RUN_STATUSES:
        raise BadRequest(f"status must be one of {', '.join(RUN_STATUSES)}")
    rt = _rt(request)
    runs = await rt.store.list_runs(status=status, flow=flow, limit=limit, offset=offset)
    return {"runs": [rt.redactor.value(r.as_dict(with_steps=False)) for r in runs]}


@router.get("/runs/{run_id}")
async def get_run(request: Request, run_id: str) -> dict[str, Any]:
    rt = _rt(request)
    run = await rt.store.get_run(run_id)
    out: dict[str, Any] = rt.redactor.value(run.as_dict())
    return out


@router.post("/runs/{run_id}/replay", status_code=202)
async def replay_run(request: Request, run_id: str) -> dict[str, Any]:
    rt = _rt(request)
    try:
        run = await rt.store.replay(run_id)
    except NotFound:
        raise
    except StoreError as exc:
        from fastapi import HTTPException

        raise HTTPException(status_code=409, detail={"error": "conflict",
                                                     "message": str(exc)}) from None
    if rt.worker is not None:
        rt.worker.wake()
    out: dict[str, Any] = rt.redactor.value(run.as_dict(with_steps=False))
    return out


@router.get("/stats")
async def stats(
    request: Request,
    weeks: int = Query(default=4, ge=1, le=MAX_WEEKS),
    timezone: str | None = Query(default=None, description="IANA name; default "
                                 "PASSERELLE_TIMEZONE"),
) -> dict[str, Any]:
    """Adoption KPIs per flow and ISO week (see docs/dashboard.md)."""
    rt = _rt(request)
    try:
        return await kpis(rt.store, weeks=weeks, timezone=timezone or rt.settings.timezone,
                          flows=rt.flows.flows)
    except ConfigError as exc:
        raise BadRequest(str(exc)) from None


@router.get("/flows")
async def list_flows(request: Request) -> dict[str, Any]:
    rt = _rt(request)
    return {
        "flows": [
            {
                "name": f.name,
                "description": f.description,
                "file": rt.flows.files.get(f.name),
                "trigger": {"kind": f.trigger.kind,
                            **f.trigger.model_dump(mode="json", exclude_defaults=True,
                                                   by_alias=True)},
                "steps": [{"id": s.id, "use": s.use} for s in f.steps],
                "enabled": f.enabled,
            }
            for f in rt.flows.flows.values()
        ],
        "problems": [str(p) for p in rt.flows.problems],
    }
