"""http.request over real HTTP to a local server: error mapping, idempotency key, signing."""

from __future__ import annotations

import asyncio
import base64
import json
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from standardwebhooks.webhooks import Webhook

from app.errors import PermanentError, RetryableError
from app.settings import Settings
from connectors.base import ActionContext
from connectors.http import HttpConnector
from connectors.http.connector import RequestInput

CTX = ActionContext(run_id="run-1", flow="f", step_id="post")


@dataclass
class Seen:
    method: str
    path_qs: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Catcher:
    """A local endpoint: answers with ``reply`` and keeps what it was sent."""

    url: str = ""
    seen: list[Seen] = field(default_factory=list)
    reply: Callable[[], web.StreamResponse] = lambda: web.json_response({"ok": True})


@pytest.fixture
async def catcher() -> AsyncIterator[Catcher]:
    state = Catcher()

    async def handle(request: web.Request) -> web.StreamResponse:
        state.seen.append(Seen(request.method, request.path_qs, dict(request.headers),
                               await request.read()))
        if request.path == "/slow":
            await asyncio.sleep(2)
        if request.path == "/moved":
            raise web.HTTPFound("/catch")
        return state.reply()

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    state.url = str(server.make_url("/catch"))
    yield state
    await server.close()


@pytest.fixture
async def http() -> AsyncIterator[HttpConnector]:
    connector = HttpConnector(Settings(_env_file=None))
    yield connector
    await connector.aclose()


def inp(url: str, **kw: object) -> RequestInput:
    return RequestInput.model_validate({"url": url, "json": {"a": 1}, **kw})


async def test_json_out_and_idempotency_key(http, catcher) -> None:
    catcher.reply = lambda: web.json_response({"id": 7}, status=201)
    out = await http.request(inp(catcher.url, params={"dry": True, "n": 2}), CTX)
    assert out["status"] == 201 and out["json"] == {"id": 7} and out["ok"] is True
    assert out["headers"] == {"content-type": "application/json; charset=utf-8"}
    [sent] = catcher.seen
    assert sent.method == "POST" and sent.path_qs == "/catch?dry=true&n=2"
    assert sent.headers["Idempotency-Key"] == "run-1:post"
    assert sent.headers["Content-Type"] == "application/json"
    assert json.loads(sent.body) == {"a": 1}


async def test_a_raw_body_goes_without_an_invented_content_type(http, catcher) -> None:
    await http.request(inp(catcher.url, json=None, body="plain words"), CTX)
    [sent] = catcher.seen
    assert sent.body == b"plain words" and "Content-Type" not in sent.headers


async def test_redirects_are_followed(http, catcher) -> None:
    out = await http.request(inp(catcher.url.replace("/catch", "/moved"), method="GET",
                                 json=None), CTX)
    assert out["status"] == 200 and [s.path_qs for s in catcher.seen] == ["/moved", "/catch"]


@pytest.mark.parametrize(("status", "headers", "retry_after"), [
    (429, {"Retry-After": "12"}, 12.0),
    (503, {}, None),
    (408, {}, None),
])
async def test_retryable_statuses(http, catcher, status, headers, retry_after) -> None:
    catcher.reply = lambda: web.Response(status=status, headers=headers)
    with pytest.raises(RetryableError) as err:
        await http.request(inp(catcher.url), CTX)
    assert err.value.retry_after == retry_after
    assert f"answered {status}" in str(err.value)


async def test_client_errors_are_permanent_and_readable(http, catcher) -> None:
    catcher.reply = lambda: web.Response(status=422, text="field 'x' is required")
    with pytest.raises(PermanentError, match="answered 422: field 'x' is required"):
        await http.request(inp(catcher.url), CTX)


async def test_fail_on_status_off_returns_the_answer(http, catcher) -> None:
    catcher.reply = lambda: web.Response(status=404, text="nope")
    out = await http.request(inp(catcher.url, fail_on_status=False), CTX)
    assert out == {"status": 404, "ok": False, "json": None, "text": "nope",
                   "headers": {"content-type": "text/plain; charset=utf-8"}}


async def test_a_timeout_is_retryable(http, catcher) -> None:
    with pytest.raises(RetryableError, match=r"POST 127\.0\.0\.1 timed out"):
        await http.request(inp(catcher.url.replace("/catch", "/slow"), timeout=0.2), CTX)


async def test_a_refused_connection_is_retryable(http) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(RetryableError, match=r"could not reach 127\.0\.0\.1"):
        await http.request(inp(f"http://127.0.0.1:{port}/catch"), CTX)


async def test_signed_requests_verify_with_the_standard_webhooks_library(monkeypatch,
                                                                         catcher) -> None:
    secret = "whsec_" + base64.b64encode(b"k" * 32).decode()
    monkeypatch.setenv("PASSERELLE_WEBHOOK_SECRET_MAKE", secret)
    connector = HttpConnector(Settings(_env_file=None))
    try:
        await connector.request(inp(catcher.url, sign="make"), CTX)
    finally:
        await connector.aclose()
    [sent] = catcher.seen
    assert sent.headers["webhook-id"] == "run-1:post"
    # Raises if the signature does not match the body and headers.
    Webhook(secret).verify(sent.body, sent.headers)


async def test_signing_without_a_secret_is_a_permanent_error(http) -> None:
    with pytest.raises(PermanentError, match="PASSERELLE_WEBHOOK_SECRET_NOWHERE"):
        await http.request(inp("http://127.0.0.1:9/catch", sign="nowhere"), CTX)


# ---- which addresses may be called (issue 15) ------------------------------------------------


@pytest.mark.parametrize("url", [
    "http://169.254.169.254/latest/meta-data/", "http://[fe80::1]/", "http://[::ffff:169.254.169.254]/",
])  # fmt: skip
async def test_link_local_is_never_called(url: str) -> None:
    connector = HttpConnector(Settings(_env_file=None, http_allow_private=True))  # type: ignore[call-arg]
    try:
        with pytest.raises(PermanentError, match="link-local"):
            await connector.request(RequestInput(method="GET", url=url, timeout=2), CTX)
    finally:
        await connector.aclose()


async def test_loopback_only_when_allowed(catcher: Catcher) -> None:
    closed = HttpConnector(Settings(_env_file=None, http_allow_private=False))  # type: ignore[call-arg]
    try:
        with pytest.raises(PermanentError, match="PASSERELLE_HTTP_ALLOW_PRIVATE"):
            await closed.request(RequestInput(method="GET", url=catcher.url + "/ok"), CTX)
        # A name that resolves to loopback is refused the same way, at connection time.
        named = catcher.url.replace("127.0.0.1", "localhost")
        with pytest.raises(PermanentError, match="localhost resolves to"):
            await closed.request(RequestInput(method="GET", url=named + "/ok"), CTX)
    finally:
        await closed.aclose()
    assert catcher.seen == []


async def test_every_redirect_hop_is_checked(catcher: Catcher) -> None:
    opened = HttpConnector(Settings(_env_file=None, http_allow_private=True))  # type: ignore[call-arg]
    try:
        catcher.reply = lambda: web.Response(
            status=302, headers={"Location": "http://169.254.169.254/latest/meta-data/"})
        with pytest.raises(PermanentError, match="link-local"):
            await opened.request(RequestInput(method="GET", url=catcher.url + "/go"), CTX)
        # A redirect to this same server is followed (and POST becomes GET on a 302).
        hops = iter([web.Response(status=302, headers={"Location": "/landed"}),
                     web.json_response({"here": True})])
        catcher.reply = lambda: next(hops)
        out = await opened.request(RequestInput(method="POST", url=catcher.url + "/start",
                                                json={"a": 1}), CTX)
        assert out["json"] == {"here": True}
        assert [(s.method, s.path_qs) for s in catcher.seen[-2:]] == [("POST", "/catch/start"),
                                                                      ("GET", "/landed")]
    finally:
        await opened.aclose()
