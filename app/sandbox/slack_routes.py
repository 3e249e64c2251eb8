"""HTTP face of the Slack stand-in: reads requests the way slack.com does and answers alike.

slack-sdk sends some methods as JSON, some as form bodies, and reads such as users.info as GET
with query parameters (reactions.add even as a POST with query parameters only), so every
method accepts all of those.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse

from app.sandbox.slack_state import JSON, SlackRefusal

if TYPE_CHECKING:
    from app.sandbox.slack import SlackSandbox

_FORM = "application/x-www-form-urlencoded"
_MULTIPART = "multipart/form-data"


def build_router(sandbox: SlackSandbox) -> APIRouter:
    """Routes of ``sandbox``, without prefix (the app mounts them at ``/sandbox/slack``)."""
    router = APIRouter()

    @router.api_route("/api/{method}", methods=["GET", "POST"])
    async def web_api(method: str, request: Request) -> JSONResponse:
        try:
            args = await _arguments(request)
            answer = sandbox.call(method, args, token=_token(request, args))
        except SlackRefusal as refusal:
            return _refused(refusal)
        return JSONResponse({"ok": True, **answer})

    @router.post("/response/{key:path}")
    async def response_url(key: str, request: Request) -> PlainTextResponse:
        payload = _response_payload(_content_type(request), await request.body())
        if payload is None:
            return PlainTextResponse("invalid_payload", status_code=400)
        try:
            sandbox.post_response(key, payload)
        except SlackRefusal as refusal:
            return PlainTextResponse(refusal.error, status_code=refusal.status)
        return PlainTextResponse("ok")

    @router.get("/messages")
    async def messages() -> JSONResponse:
        return JSONResponse(sandbox.messages())

    return router


def _content_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


async def _arguments(request: Request) -> JSON:
    args: JSON = dict(request.query_params)
    body = await request.body()
    if request.method != "POST" or not body:
        return args
    content_type = _content_type(request)
    if content_type == "application/json":
        try:
            data = json.loads(body)
        except ValueError:
            raise SlackRefusal("invalid_json") from None
        if not isinstance(data, dict):
            raise SlackRefusal("invalid_json")
        args.update(data)
    elif content_type == _FORM:
        args.update(parse_qsl(body.decode(), keep_blank_values=True))
    elif content_type == _MULTIPART:
        form = await request.form()
        args.update({k: v for k, v in form.items() if isinstance(v, str)})
    else:
        raise SlackRefusal("invalid_post_type")
    return args


def _token(request: Request, args: JSON) -> str | None:
    header = request.headers.get("authorization")
    if header:
        return header.removeprefix("Bearer ").strip()
    token = args.pop("token", None)  # Slack also takes the token as a parameter
    return token if isinstance(token, str) else None


def _refused(refusal: SlackRefusal) -> JSONResponse:
    body: JSON = {"ok": False, "error": refusal.error}
    if refusal.detail:
        body["response_metadata"] = {"messages": [f"[ERROR] {refusal.detail}"]}
    headers = {"Retry-After": str(refusal.retry_after)} if refusal.retry_after else None
    return JSONResponse(body, status_code=refusal.status, headers=headers)


def _response_payload(content_type: str, body: bytes) -> JSON | None:
    # response_url takes JSON, or like incoming webhooks a form field "payload" holding JSON.
    raw: str | bytes = body
    if content_type == _FORM:
        raw = dict(parse_qsl(body.decode(errors="replace"))).get("payload", "")
    try:
        payload = json.loads(raw)
    except ValueError:
        return None
    return payload if isinstance(payload, dict) else None
