"""The HTTP face of the Notion stand-in: Notion's headers, rate limit, JSON bodies and errors.

The routes parse requests themselves (no FastAPI validation), so that every refusal has
Notion's error shape whatever application mounts the router.
"""

from __future__ import annotations

import asyncio
import json
import math
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from app.sandbox import notion_databases as databases
from app.sandbox import notion_markdown as markdown
from app.sandbox import notion_pages as pages
from app.sandbox.notion_errors import NotionError, body_invalid, validation
from app.sandbox.notion_faults import Faults
from app.sandbox.notion_limits import check_payload, check_route
from app.sandbox.notion_model import actor_of
from app.sandbox.notion_state import Call, Workspace

NOTION_VERSION = "2025-09-03"
Handler = Callable[[Workspace, Call], dict[str, Any]]
ROUTES: list[tuple[str, str, Handler]] = [
    ("POST", "/search", databases.search),
    ("POST", "/databases", databases.create_database),
    ("GET", "/databases/{id}", databases.get_database),
    ("PATCH", "/databases/{id}", databases.update_database),
    ("GET", "/data_sources/{id}", databases.get_data_source),
    ("PATCH", "/data_sources/{id}", databases.update_data_source),
    ("POST", "/data_sources/{id}/query", databases.query_data_source),
    ("POST", "/pages", pages.create_page),
    ("GET", "/pages/{id}", pages.get_page),
    ("PATCH", "/pages/{id}", pages.update_page),
    ("GET", "/pages/{id}/markdown", markdown.get_markdown),
    ("PATCH", "/pages/{id}/markdown", markdown.patch_markdown),
    ("GET", "/blocks/{id}", pages.get_block),
    ("GET", "/blocks/{id}/children", pages.list_children),
    ("PATCH", "/blocks/{id}/children", pages.append_children),
    ("GET", "/users", pages.list_users),
    ("GET", "/users/me", pages.get_me),
    ("GET", "/users/{id}", pages.get_user),
    ("POST", "/comments", pages.create_comment),
    ("GET", "/comments", pages.list_comments),
]


class TokenBucket:
    """`rate` requests per second on average, in bursts of up to `burst` requests."""

    def __init__(self, *, rate: float, burst: int, clock: Callable[[], float]) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate_limit must be > 0 and burst >= 1")
        self._rate, self._burst, self._clock = rate, burst, clock
        self._tokens, self._last = float(burst), clock()

    def take(self) -> None:
        """Spends one token, or raises Notion's 429 with the seconds until one is back."""
        now = self._clock()
        self._tokens = min(self._burst, self._tokens + (now - self._last) * self._rate)
        self._last = now
        if self._tokens >= 1:
            self._tokens -= 1
            return
        wait = max(1, math.ceil((1 - self._tokens) / self._rate))
        raise NotionError(
            429,
            "rate_limited",
            "You have been rate limited. Please try again in a few minutes.",
            headers={"Retry-After": str(wait)},
        )


def build_router(
    *, admit: Callable[[], None], run: Callable[[Handler, Call], dict[str, Any]],
    faults: Faults | None = None,
) -> APIRouter:
    """Routes without prefix. `admit` applies the rate limit; `run` calls a handler on the
    current workspace (under the sandbox's lock); `faults` are drawn before each request."""
    router = APIRouter()
    for method, path, handler in ROUTES:
        endpoint = _endpoint(handler, admit, run, faults or Faults())
        router.add_api_route(path, endpoint, methods=[method], include_in_schema=False)
    # Anything else, including a known path with another method, is Notion's bad URL.
    methods = ["GET", "POST", "PATCH", "PUT", "DELETE"]
    router.add_api_route("/{path:path}", _unknown, methods=methods, include_in_schema=False)
    return router


def _endpoint(
    handler: Handler, admit: Callable[[], None], run: Callable[[Handler, Call], dict[str, Any]],
    faults: Faults,
) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        try:
            _check_headers(request)
            actor = _actor(request)
            admit()
            delay = faults.delay()
            if delay:
                await asyncio.sleep(delay)
            faults.check()
            body = await _json(request)
            query = {key: request.query_params.getlist(key) for key in request.query_params}
            check_route(handler.__name__, body, query)
            call = Call(dict(request.path_params), query, body, actor=actor)
            result = run(handler, call)
        except NotionError as error:
            return _error(error)
        # Every answer carries a request id, as Notion's do (the id to quote to support).
        return JSONResponse({**result, "request_id": str(uuid.uuid4())})

    endpoint.__name__ = f"notion_{handler.__name__}"
    return endpoint


async def _unknown(request: Request) -> Response:
    return _error(NotionError(400, "invalid_request_url", "Invalid request URL."))


def _check_headers(request: Request) -> None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotionError(401, "unauthorized", "API token is invalid.")
    version = request.headers.get("notion-version")
    if version is None:
        raise NotionError(
            400,
            "missing_version",
            "Notion-Version header failed validation: Notion-Version header should be defined, "
            "instead was `undefined`.",
        )
    if version != NOTION_VERSION:
        raise validation(
            f"Notion-Version header failed validation: the sandbox implements {NOTION_VERSION} "
            f"only, instead was {version}."
        )


def _actor(request: Request) -> str:
    token = request.headers.get("authorization", "").partition(" ")[2].strip()
    try:
        return actor_of(token)
    except ValueError:
        raise NotionError(401, "unauthorized", "API token is invalid.") from None


async def _json(request: Request) -> dict[str, Any]:
    raw = await request.body()
    check_payload(raw)
    if request.method == "GET" or not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise NotionError(400, "invalid_json", "Error parsing JSON body.") from None
    if not isinstance(body, dict):
        raise body_invalid("body", "should be an object", body)
    return body


def _error(error: NotionError) -> Response:
    return JSONResponse(error.body(), status_code=error.status, headers=error.headers)
