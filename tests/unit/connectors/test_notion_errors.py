"""Notion failures the stand-in does not produce (529, timeouts, 5xx), with respx at the edge."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from app.errors import PermanentError, RetryableError
from app.settings import Settings
from connectors.base import ActionContext
from connectors.notion.client import shared_bucket
from connectors.notion.connector import (
    AppendInput,
    CreatePageInput,
    GetPageInput,
    NotionConnector,
    UpsertPageInput,
)

API = "https://api.notion.com/v1"
DB = "11111111-1111-1111-1111-111111111111"
DS = "22222222-2222-2222-2222-222222222222"
PAGE = "33333333-3333-3333-3333-333333333333"
CTX = ActionContext(run_id="r", flow="f", step_id="s")
SOURCE = {
    "object": "data_source", "id": DS, "parent": {"type": "database_id", "database_id": DB},
    "title": [{"plain_text": "Feedback"}],
    "properties": {"Name": {"id": "title", "type": "title", "title": {}},
                   "External ID": {"id": "a", "type": "rich_text", "rich_text": {}}},
}


@pytest.fixture
async def notion(tmp_path: Path) -> AsyncIterator[NotionConnector]:
    settings = Settings(_env_file=None, notion_token="ntn_test_token_value",  # type: ignore[call-arg]
                        flows=tmp_path)
    conn = NotionConnector(settings)
    yield conn
    await conn.aclose()


def schema_routes(mock: respx.MockRouter) -> None:
    mock.get(f"{API}/databases/{DB}").respond(200, json={
        "object": "database", "id": DB, "data_sources": [{"id": DS, "name": "Feedback"}]})
    mock.get(f"{API}/data_sources/{DS}").respond(200, json=SOURCE)


def error(status: int, code: str, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, headers=headers or {}, json={
        "object": "error", "status": status, "code": code, "message": f"{code} happened"})


@respx.mock(assert_all_called=False)
async def test_529_is_retryable_with_retry_after_and_pauses_the_bucket(
        respx_mock: respx.MockRouter, notion: NotionConnector) -> None:
    respx_mock.get(f"{API}/pages/{PAGE}").mock(return_value=httpx.Response(
        529, headers={"Retry-After": "7"}, text="overloaded"))
    with pytest.raises(RetryableError) as err:
        await notion.get_page(GetPageInput(page=PAGE), CTX)
    assert err.value.retry_after == 7.0 and "529" in err.value.message
    bucket = notion.api.bucket
    assert bucket is not None and bucket.wait_time() > 6  # every run of the process waits


@respx.mock(assert_all_called=False)
async def test_429_honours_retry_after(respx_mock: respx.MockRouter,
                                       notion: NotionConnector) -> None:
    respx_mock.get(f"{API}/pages/{PAGE}").mock(
        return_value=error(429, "rate_limited", {"Retry-After": "3"}))
    with pytest.raises(RetryableError) as err:
        await notion.get_page(GetPageInput(page=PAGE), CTX)
    assert err.value.retry_after == 3.0


@respx.mock(assert_all_called=False)
async def test_500_and_read_timeout_on_reads_are_retryable(
        respx_mock: respx.MockRouter, notion: NotionConnector) -> None:
    route = respx_mock.get(f"{API}/pages/{PAGE}")
    route.mock(return_value=error(500, "internal_server_error"))
    with pytest.raises(RetryableError, match="500"):
        await notion.get_page(GetPageInput(page=PAGE), CTX)
    route.mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(RetryableError, match="did not answer in time"):
        await notion.get_page(GetPageInput(page=PAGE), CTX)
    assert route.call_count == 2  # the SDK's own retries are off


@respx.mock(assert_all_called=False)
async def test_create_that_timed_out_is_not_retried_blindly(
        respx_mock: respx.MockRouter, notion: NotionConnector) -> None:
    schema_routes(respx_mock)
    respx_mock.post(f"{API}/pages").mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(PermanentError, match="outcome is unknown"):
        await notion.create_page(CreatePageInput(database=DB, properties={"Name": "x"}), CTX)


@respx.mock(assert_all_called=False)
async def test_upsert_create_that_timed_out_is_retryable(
        respx_mock: respx.MockRouter, notion: NotionConnector) -> None:
    schema_routes(respx_mock)
    respx_mock.post(f"{API}/data_sources/{DS}/query").respond(
        200, json={"object": "list", "results": [], "has_more": False, "next_cursor": None})
    create = respx_mock.post(f"{API}/pages").mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(RetryableError):
        await notion.upsert_page(UpsertPageInput(database=DB, key="k1",
                                                 properties={"Name": "x"}), CTX)
    sent: Any = create.calls.last.request
    assert b'"External ID"' in sent.content and b"k1" in sent.content


@respx.mock(assert_all_called=False)
async def test_append_timeout_is_unknown_and_permanent_errors_explain(
        respx_mock: respx.MockRouter, notion: NotionConnector) -> None:
    respx_mock.patch(f"{API}/blocks/{PAGE}/children").mock(side_effect=httpx.ReadTimeout("x"))
    with pytest.raises(PermanentError, match="outcome is unknown"):
        await notion.append(AppendInput(page=PAGE, text="hello"), CTX)
    respx_mock.get(f"{API}/pages/{PAGE}").mock(return_value=error(401, "unauthorized"))
    with pytest.raises(PermanentError, match="NOTION_TOKEN") as err:
        await notion.get_page(GetPageInput(page=PAGE), CTX)
    assert "ntn_test_token_value" not in err.value.message
    respx_mock.get(f"{API}/pages/{PAGE}").mock(return_value=error(404, "object_not_found"))
    with pytest.raises(PermanentError, match="Connections"):
        await notion.get_page(GetPageInput(page=PAGE), CTX)


async def test_one_bucket_per_token_shared_by_connectors(tmp_path: Path) -> None:
    make = lambda token: NotionConnector(Settings(  # noqa: E731
        _env_file=None, notion_token=token, flows=tmp_path))  # type: ignore[call-arg]
    a, b, c = make("ntn_a_token"), make("ntn_a_token"), make("ntn_other")
    try:
        assert a.api.bucket is b.api.bucket and a.api.bucket is not c.api.bucket
        assert a.api.bucket is not None and a.api.bucket.rate == 3.0
        assert shared_bucket("x") is shared_bucket("x")
    finally:
        for conn in (a, b, c):
            await conn.aclose()
