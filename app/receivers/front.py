"""The receivers' HTTP front: a small ASGI layer ahead of FastAPI for the routes under load.

``POST /hooks/{source}`` and ``POST /slack/{commands,events,interactions}`` are answered here,
before FastAPI sees the request: its routing, ``Request`` objects, dependency solving and
response classes cost more CPU per webhook than verifying, parsing and storing it
(docs/performance.md). Each receiver is a plain function ``(runtime, headers, body) -> Reply``;
this layer reads the body within the size limit, turns a ``ReceiveError`` into the error JSON
every route answers with (and counts it), and writes the reply. Every other request goes to
FastAPI untouched. The routes stay in the OpenAPI schema through ``OPENAPI_PATHS``.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, cast

from starlette.datastructures import URL, State
from starlette.requests import ClientDisconnect
from starlette.responses import RedirectResponse
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from app.errors import BodyTimeout, Busy, ReceiveError
from app.metrics import EVENTS_RECEIVED
from app.receivers import slack, slack_verify, webhooks
from app.receivers.common import Reply, read_body
from app.runtime import Runtime

Handler = Callable[[Runtime, Mapping[str, str], bytes], Awaitable[Reply]]
log = logging.getLogger("passerelle.receivers")

_SLACK: dict[str, Handler] = {
    "/slack/commands": slack.command,
    "/slack/events": slack.events,
    "/slack/interactions": slack.interaction,
}


def check_before_body(rt: Runtime, path: str, headers: Mapping[str, str]) -> None:
    """What a route can refuse from its headers alone, before reading the body (issue 15):
    an unknown source or a wrong bearer token, a Slack that cannot verify anything."""
    if path.startswith("/hooks/"):
        webhooks.check_before_body(rt, source=path[7:], headers=headers)
    else:
        slack_verify.signing_secret(rt.settings)


def route(path: str) -> Handler | None:
    """The receiver of ``path``, or None when FastAPI should answer it."""
    if path.startswith("/hooks/"):
        source = path[7:]
        if not source or "/" in source:
            return None

        async def hook(rt: Runtime, headers: Mapping[str, str], body: bytes) -> Reply:
            return await webhooks.receive(rt, source=source, headers=headers, body=body)

        return hook
    return _SLACK.get(path)


def _headers(scope: Scope) -> dict[str, str]:
    # The first of repeated headers wins, as with Starlette's ``Headers.get``.
    out: dict[str, str] = {}
    for key, value in scope["headers"]:
        name = key.decode("latin-1")
        if name not in out:
            out[name] = value.decode("latin-1")
    return out


# Built once: json.dumps with any option builds a new encoder on every call.
_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))


async def _send(send: Send, reply: Reply) -> None:
    # The same bytes as FastAPI's JSONResponse / empty Response gave for these routes.
    if reply.body is None:
        body, headers = b"", [(b"content-length", b"0")]
    else:
        body = _ENCODER.encode(reply.body).encode()
        headers = [(b"content-length", str(len(body)).encode()),
                   (b"content-type", b"application/json")]
    await send({"type": "http.response.start", "status": reply.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def error_reply(status: int, code: str, message: str) -> Reply:
    return Reply(status, {"error": code, "message": message})


def _behind_proxy(app: ASGIApp, trusted_hosts: str) -> ASGIApp:
    """``app`` seeing the client and scheme that a trusted proxy forwarded (uvicorn's
    middleware, typed for uvicorn's ASGI types rather than Starlette's)."""
    return cast(ASGIApp, ProxyHeadersMiddleware(cast(Any, app), trusted_hosts))


async def _to_slashless(scope: Scope, receive: Receive, send: Send) -> None:
    # As FastAPI's router does for its own routes: redirect to the path without the slash.
    url = URL(scope={**scope, "path": scope["path"][:-1]})
    await RedirectResponse(str(url))(scope, receive, send)


@dataclass
class ReceiverFront:
    """Answers the receiver routes and passes everything else to ``app`` (FastAPI).

    The server runs without uvicorn's proxy-headers middleware (``app.main.SERVER_OPTIONS``):
    the receivers read neither the client address nor the scheme. What does, ``app`` and the
    trailing-slash redirect, gets it here, trusting ``trusted_hosts``.

    Unexpected exceptions propagate: the server answers 500 and logs them, as FastAPI's
    error middleware did.
    """

    app: ASGIApp
    state: State  # the FastAPI app's state; ``runtime`` is set there at start-up
    max_body_bytes: int
    trusted_hosts: str  # FORWARDED_ALLOW_IPS
    # A body must arrive within this many seconds (408), and at most ``max_reading`` bodies
    # are read at once (503 past that): slow or huge uploads cannot hold sockets and memory.
    body_timeout: float = 10.0
    max_reading: int = 64

    def __post_init__(self) -> None:
        self._app = _behind_proxy(self.app, self.trusted_hosts)
        self._redirect = _behind_proxy(_to_slashless, self.trusted_hosts)
        self._reading = asyncio.Semaphore(self.max_reading)

    async def _read(self, receive: Receive, headers: Mapping[str, str]) -> bytes:
        """The body, read within the time limit while holding one of the reading slots."""
        try:
            async with asyncio.timeout(min(1.0, self.body_timeout)):
                await self._reading.acquire()
        except TimeoutError:
            raise Busy(f"more than {self.max_reading} request bodies are being read at "
                       f"once: retry shortly") from None
        try:
            async with asyncio.timeout(self.body_timeout):
                return await read_body(receive, headers, self.max_body_bytes)
        except TimeoutError:
            raise BodyTimeout(f"the body did not arrive within {self.body_timeout:g} s "
                              f"(PASSERELLE_BODY_TIMEOUT_SECONDS)") from None
        finally:
            self._reading.release()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        path: str = scope["path"]
        handler = route(path)
        if handler is None:
            if path.endswith("/") and route(path[:-1]) is not None:
                await self._redirect(scope, receive, send)
            else:
                await self._app(scope, receive, send)
            return
        if scope["method"] != "POST":
            await _send(send, error_reply(405, "error", "Method Not Allowed"))
            return
        headers = _headers(scope)
        try:
            check_before_body(self.state.runtime, path, headers)
            body = await self._read(receive, headers)
            reply = await handler(self.state.runtime, headers, body)
        except ClientDisconnect:  # nobody left to answer
            return
        except ReceiveError as exc:
            EVENTS_RECEIVED.labels(path.split("/")[1], str(exc.status)).inc()
            # What a sender's owner needs to fix it (the answer says the same to the sender).
            log.info("request refused", extra={"path": path, "status": exc.status,
                                               "error": exc.code, "reason": exc.message})
            reply = error_reply(exc.status, exc.code, exc.message)
        await _send(send, reply)


def _operation(op_id: str, summary: str, description: str, ok: int, *,
               params: list[dict[str, Any]] | None = None, content: str) -> dict[str, Any]:
    error = {"description": "Refused: the JSON body says why",
             "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    op: dict[str, Any] = {
        "summary": summary, "description": description, "operationId": op_id,
        "requestBody": {"content": {content: {"schema": {"type": "object"}}}},
        "responses": {str(ok): {"description": "Accepted",
                                "content": {"application/json": {"schema": {}}}},
                      **{str(s): error for s in (400, 401, 408, 413, 415, 503)}},
    }
    if params:
        op["parameters"] = params
        op["responses"]["404"] = error
    return {"post": op}


FORM = "application/x-www-form-urlencoded"
# What FastAPI would have generated for these routes, plus the bodies and refusals they take.
OPENAPI_PATHS: dict[str, Any] = {
    "/hooks/{source}": _operation(
        "receive_webhook_hooks__source__post", "Receive Webhook",
        "JSON webhook of source `source` (bearer token or Standard Webhooks signature); "
        "answers `{event_id, runs, duplicate}` once the event is committed.", 202,
        params=[{"name": "source", "in": "path", "required": True,
                 "schema": {"type": "string", "title": "Source"}}],
        content="application/json"),
    "/slack/commands": _operation("command_slack_commands_post", "Command",
                                  "Signed Slack slash command.", 200, content=FORM),
    "/slack/events": _operation("events_slack_events_post", "Events",
                                "Signed Slack Events API delivery.", 200,
                                content="application/json"),
    "/slack/interactions": _operation("interaction_slack_interactions_post", "Interaction",
                                      "Signed Slack interaction (`payload=` form field).", 200,
                                      content=FORM),
}
ERROR_SCHEMA = {"type": "object", "required": ["error", "message"],
                "properties": {"error": {"type": "string"}, "message": {"type": "string"}}}
