"""The sandbox, administered: kept in the store across restarts, reset, and acted in as a person.

- `keep_sandboxes(app)`: the stand-ins' state is restored from the store at start and saved
  after changes (app/sandbox/persist.py).
- `POST /api/sandbox/reset` (admin): back to the seeded state (`passerelle sandbox reset`).
- `POST /sandbox/act` (dashboard form, admin + CSRF): acts as a person — the hub sends itself,
  through its public routes and signed, what Slack or Notion would send (the same code as
  `passerelle slack send` and `passerelle notion edit`).
"""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import RedirectResponse, Response

from app.errors import PasserelleError
from app.receivers.slack_verify import signing_secret
from app.runtime import Runtime
from app.sandbox import notion_people
from app.sandbox.persist import SandboxKeeper
from app.sandbox.slack_people import SlackPerson
from app.web import session, views
from app.web.auth import is_admin, require_admin

api_router = APIRouter(prefix="/api", dependencies=[Depends(require_admin)])
router = APIRouter(include_in_schema=False)
KEEPER = "sandbox_keeper"


def keep_sandboxes(app: FastAPI) -> None:
    async def start(rt: Runtime) -> None:
        found = {name: getattr(app.state, f"{name}_sandbox", None) for name in ("notion", "slack")}
        keeper = SandboxKeeper(rt.store, {k: v for k, v in found.items() if v is not None})
        await keeper.start()
        rt.extras[KEEPER] = keeper

    async def stop() -> None:
        keeper = app.state.runtime.extras.get(KEEPER)
        if keeper is not None:
            await keeper.stop()

    app.state.on_start.append(start)
    app.state.on_stop.append(stop)


@api_router.post("/sandbox/reset")
async def reset(request: Request) -> dict[str, Any]:
    keeper: SandboxKeeper = request.app.state.runtime.extras[KEEPER]
    await keeper.reset()
    return {"reset": True}


@router.post("/sandbox/act")
async def act(request: Request) -> Response:
    from app.web.dashboard import render

    if not is_admin(request):
        return render(request, "login.html", code=401, next="/sandbox")
    form = {k: v for k, v in (await request.form()).multi_items() if isinstance(v, str)}
    if not session.form_allowed(request, form.get("csrf", "")):
        return render(request, "error.html", code=403,
                      message="Refused: the form is stale or came from another site. Reload the "
                              "Sandbox page and try again.")
    rt: Runtime = request.app.state.runtime
    try:
        done = await _act(rt, form)
    except PasserelleError as exc:
        return render(request, "sandbox.html", code=400, problem=str(exc),
                      **views.sandbox(rt))
    return RedirectResponse(f"/sandbox?done={done}", status_code=303)


async def _act(rt: Runtime, form: dict[str, str]) -> str:
    action, base = form.get("action", ""), rt.settings.sandbox_url
    if action == "reset":
        await rt.extras[KEEPER].reset()
        return "reset"
    async with httpx.AsyncClient(timeout=30) as client:
        try:
            if action == "edit":
                sets = notion_people.parse_sets(form.get("sets", "").splitlines())
                await notion_people.edit(client, base, form.get("page", "").strip(), sets,
                                         user=form.get("user", ""))
                return "edit"
            slack = SlackPerson(client, base, signing_secret(rt.settings))
            user, channel = form.get("user", "U0ADA"), form.get("channel", "C0FEEDBACK")
            if action == "message":
                await slack.message(form.get("text", ""), user=user, channel=channel)
            elif action == "command":
                await slack.command(form.get("command", ""), form.get("text", ""), user=user,
                                    channel=channel)
            elif action == "reaction":
                await slack.reaction(form.get("name", ""), user=user, channel=channel,
                                     ts=form.get("ts", ""))
            elif action == "shortcut":
                await slack.shortcut(form.get("callback_id", ""), user=user, channel=channel,
                                     ts=form.get("ts", ""))
            elif action == "view":
                values = notion_people.parse_sets(form.get("values", "").splitlines())
                await slack.view(form.get("callback_id", ""), values, user=user)
            else:
                raise PasserelleError(f"unknown action {action!r}")
        except httpx.HTTPError as exc:
            raise PasserelleError(f"the hub could not reach itself at {base}: {exc}") from None
    return action
