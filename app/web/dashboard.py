"""The dashboard at ``/``: server-rendered pages (Jinja2), one stylesheet, no JavaScript.

Admin only: a bearer header, or ``?token=`` once on any page, which sets the session cookie
and redirects to the same page without the token. Without either, a small login page with
status 401 and none of the data.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from app.errors import NotFound, StoreError
from app.receivers import slack_verify
from app.runtime import Runtime
from app.stats import MAX_WEEKS
from app.stats_text import duration
from app.store.records import RUN_STATUSES
from app.web import session, views
from app.web.auth import is_admin

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.filters["duration"] = duration
templates.env.filters["pretty"] = views.pretty

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    # same-origin, not no-referrer: with no-referrer Chromium sends "Origin: null" on our
    # own form posts, which the CSRF check must refuse.
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}


def _rt(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


def render(request: Request, name: str, *, code: int = 200, **context: Any) -> HTMLResponse:
    rt = _rt(request)
    tz = ZoneInfo(rt.settings.timezone)
    authed = is_admin(request)
    context.update(
        authed=authed, csrf=session.csrf_token(request) if authed else "",
        path=request.url.path, timezone=rt.settings.timezone,
        sandbox_mode=rt.settings.any_sandbox,
        slack_problem=slack_verify.not_configured(rt.settings),
        when=lambda value: views.local_time(value, tz),
    )
    response = templates.TemplateResponse(request, name, context, status_code=code)
    response.headers.update(SECURITY_HEADERS)
    return response


def gate(request: Request) -> Response | None:
    """None when the caller may see the page; otherwise the response to send instead."""
    given = request.query_params.get("token")
    if given is not None:
        if session.token_matches(request, given):
            return session.start_session(request, session.without_token(request.url))
        return render(request, "login.html", code=401, error="That token is not valid.",
                      next=session.without_token(request.url))
    if is_admin(request):
        return None
    return render(request, "login.html", code=401, next=request.url.path)


@router.get("/static/dashboard.css")
async def stylesheet() -> FileResponse:
    return FileResponse(HERE / "static" / "dashboard.css", media_type="text/css",
                        headers={"Cache-Control": "max-age=300"})


@router.get("/login")
async def login_page(request: Request) -> Response:
    if is_admin(request):
        return RedirectResponse("/", status_code=303)
    return render(request, "login.html", code=401, next="/")


@router.post("/login")
async def login(request: Request) -> Response:
    form = await request.form()
    target = str(form.get("next") or "/")
    # Only a local path: the login form must not become an open redirect.
    if not target.startswith("/") or target.startswith("//"):
        target = "/"
    if session.token_matches(request, str(form.get("token") or "")):
        return session.start_session(request, target)
    return render(request, "login.html", code=401, error="That token is not valid.",
                  next=target)


@router.post("/logout")
async def logout(request: Request) -> Response:
    form = await request.form()
    if not session.form_allowed(request, str(form.get("csrf") or "")):
        return render(request, "error.html", code=403, message="Sign-out refused.")
    return session.end_session("/login")


@router.get("/")
async def overview(request: Request, weeks: int = Query(default=8, ge=1, le=MAX_WEEKS)
                   ) -> Response:
    if (refused := gate(request)) is not None:
        return refused
    data = await views.overview(_rt(request), weeks=weeks)
    return render(request, "overview.html", weeks=weeks, **data)


@router.get("/runs")
async def runs(request: Request, flow: str = "", status: str = "",
               offset: int = Query(default=0, ge=0)) -> Response:
    if (refused := gate(request)) is not None:
        return refused
    rt = _rt(request)
    problem = None
    if status and status not in RUN_STATUSES:
        problem, status = f"Unknown status '{status}'; showing every status.", ""
    found = await rt.store.list_runs(flow=flow or None, status=status or None,
                                     limit=PAGE_SIZE + 1, offset=offset)
    return render(
        request, "runs.html", flow=flow, status=status, offset=offset, problem=problem,
        statuses=RUN_STATUSES, flows=sorted({*rt.flows.flows, *([flow] if flow else [])}),
        runs=[rt.redactor.value(r.as_dict(with_steps=False)) for r in found[:PAGE_SIZE]],
        more=len(found) > PAGE_SIZE, page_size=PAGE_SIZE,
    )


async def _run_page(request: Request, run_id: str, *, code: int = 200,
                    **context: Any) -> Response:
    rt = _rt(request)
    try:
        run = await rt.store.get_run(run_id)
    except NotFound:
        return render(request, "error.html", code=404, message=f"No run with id {run_id}.")
    return render(request, "run.html", code=code, run=rt.redactor.value(run.as_dict()),
                  **context)


@router.get("/runs/{run_id}")
async def run_page(request: Request, run_id: str) -> Response:
    if (refused := gate(request)) is not None:
        return refused
    return await _run_page(request, run_id, replayed=request.query_params.get("replayed"))


@router.post("/runs/{run_id}/replay")
async def replay(request: Request, run_id: str) -> Response:
    if not is_admin(request):
        return render(request, "login.html", code=401, next=f"/runs/{run_id}")
    form = await request.form()
    if not session.form_allowed(request, str(form.get("csrf") or "")):
        return render(request, "error.html", code=403,
                      message="Replay refused: the form is stale or came from another site. "
                              "Reload the run page and try again.")
    rt = _rt(request)
    try:
        await rt.store.replay(run_id)
    except NotFound:
        return render(request, "error.html", code=404, message=f"No run with id {run_id}.")
    except StoreError as exc:
        return await _run_page(request, run_id, code=409, problem=str(exc))
    if rt.worker is not None:
        rt.worker.wake()
    return RedirectResponse(f"/runs/{run_id}?replayed=1", status_code=303)


@router.get("/flows")
async def flows(request: Request) -> Response:
    if (refused := gate(request)) is not None:
        return refused
    rt = _rt(request)
    reloader = rt.extras.get("flow_reloader")
    return render(request, "flows.html", flows=await views.flows(rt),
                  problems=[str(p) for p in rt.flows.problems],
                  reload_status=reloader.status if reloader else None)


@router.get("/sandbox")
async def sandbox(request: Request) -> Response:
    if (refused := gate(request)) is not None:
        return refused
    return render(request, "sandbox.html", **views.sandbox(_rt(request)))
