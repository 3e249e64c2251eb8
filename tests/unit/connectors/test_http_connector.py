"""http.request: error mapping at the edge (respx), idempotency key, Standard Webhooks signing."""

from __future__ import annotations

import base64
import json

import httpx
import pytest
import respx
from standardwebhooks.webhooks import Webhook

from app.errors import PermanentError, RetryableError
from app.settings import Settings
from connectors.base import ActionContext
from connectors.http import HttpConnector
from connectors.http.connector import RequestInput

CTX = ActionContext(run_id="run-1", flow="f", step_id="post")
URL = "https://hooks.example.com/catch"


@pytest.fixture
async def http():
    connector = HttpConnector(Settings(_env_file=None))
    yield connector
    await connector.aclose()


def inp(**kw) -> RequestInput:
    return RequestInput.model_validate({"url": URL, "json": {"a": 1}, **kw})


@respx.mock
async def test_json_out_and_idempotency_key(http) -> None:
    route = respx.post(URL).mock(return_value=httpx.Response(201, json={"id": 7}))
    out = await http.request(inp(), CTX)
    assert out["status"] == 201 and out["json"] == {"id": 7} and out["ok"] is True
    sent = route.calls.last.request
    assert sent.headers["Idempotency-Key"] == "run-1:post"
    assert json.loads(sent.content) == {"a": 1}


@respx.mock
@pytest.mark.parametrize(("response", "retry_after"), [
    (httpx.Response(429, headers={"Retry-After": "12"}), 12.0),
    (httpx.Response(503), None),
    (httpx.Response(408), None),
])
async def test_retryable_statuses(http, response, retry_after) -> None:
    respx.post(URL).mock(return_value=response)
    with pytest.raises(RetryableError) as err:
        await http.request(inp(), CTX)
    assert err.value.retry_after == retry_after
    assert f"answered {response.status_code}" in str(err.value)


@respx.mock
async def test_client_errors_are_permanent_and_readable(http) -> None:
    respx.post(URL).mock(return_value=httpx.Response(422, text="field 'x' is required"))
    with pytest.raises(PermanentError, match="answered 422: field 'x' is required"):
        await http.request(inp(), CTX)


@respx.mock
async def test_fail_on_status_off_returns_the_answer(http) -> None:
    respx.post(URL).mock(return_value=httpx.Response(404, text="nope"))
    out = await http.request(inp(fail_on_status=False), CTX)
    assert out == {"status": 404, "ok": False, "json": None, "text": "nope",
                   "headers": {"content-type": "text/plain; charset=utf-8"}}


@respx.mock
@pytest.mark.parametrize("exc", [httpx.ConnectTimeout("slow"), httpx.ConnectError("refused")])
async def test_network_errors_are_retryable(http, exc) -> None:
    respx.post(URL).mock(side_effect=exc)
    with pytest.raises(RetryableError, match=r"hooks\.example\.com"):
        await http.request(inp(), CTX)


@respx.mock
async def test_signed_requests_verify_with_the_standard_webhooks_library(monkeypatch) -> None:
    secret = "whsec_" + base64.b64encode(b"k" * 32).decode()
    monkeypatch.setenv("PASSERELLE_WEBHOOK_SECRET_MAKE", secret)
    connector = HttpConnector(Settings(_env_file=None))
    route = respx.post(URL).mock(return_value=httpx.Response(200))
    try:
        await connector.request(inp(sign="make"), CTX)
    finally:
        await connector.aclose()
    sent = route.calls.last.request
    assert sent.headers["webhook-id"] == "run-1:post"
    # Raises if the signature does not match the body and headers.
    Webhook(secret).verify(sent.content, dict(sent.headers))


async def test_signing_without_a_secret_is_a_permanent_error(http) -> None:
    with pytest.raises(PermanentError, match="PASSERELLE_WEBHOOK_SECRET_NOWHERE"):
        await http.request(inp(sign="nowhere"), CTX)
