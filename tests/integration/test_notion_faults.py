"""Notion's real-world faults on demand in the stand-in, and the connector coping with them.

Codes from https://developers.notion.com/reference/status-codes (409 conflict_error, 500,
502, 503, 529 with Retry-After); search and queries are eventually consistent
(https://developers.notion.com/reference/post-search: "not guaranteed to return everything
immediately"), so the upsert must not create a second page for a key it just wrote.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.sandbox.notion import NotionSandbox
from app.sandbox.notion_faults import Faults
from app.store.durable import StoreState
from connectors.base import ActionContext
from connectors.notion.connector import NotionConnector, UpsertPageInput
from tests.conftest import serve_app

SEED = [{"title": "Feedback", "properties": {"Name": {"title": {}},
                                            "External ID": {"rich_text": {}}}}]
HEADERS = {"Authorization": "Bearer ntn_faults", "Notion-Version": "2025-09-03"}
CTX = ActionContext(run_id="run-1", flow="test", step_id="page")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@contextmanager
def served(sandbox: NotionSandbox) -> Iterator[httpx.Client]:
    app = FastAPI()
    app.include_router(sandbox.router(), prefix="/v1")
    with serve_app(app) as url, httpx.Client(base_url=f"{url}/v1", headers=HEADERS,
                                             timeout=30) as client:
        yield client


def _new(sandbox: NotionSandbox, name: str) -> dict[str, Any]:
    return {"parent": {"data_source_id": sandbox.data_source_by_title("Feedback")["id"]},
            "properties": {"Name": {"title": [{"text": {"content": name}}]}}}


@pytest.mark.parametrize(("status", "code"), [(409, "conflict_error"), (500,
                         "internal_server_error"), (502, "bad_gateway"),
                         (503, "service_unavailable"), (529, "service_unavailable")])
def test_errors_on_demand_write_nothing(status: int, code: str) -> None:
    sandbox = NotionSandbox(seed=SEED, rate_limit=None,
                            faults=Faults(error_rate=1.0, statuses=(status,)))
    with served(sandbox) as client:
        answer = client.post("/pages", json=_new(sandbox, "x"))
        body = answer.json()
        assert (answer.status_code, body["code"], body["object"]) == (status, code, "error")
        assert ("Retry-After" in answer.headers) == (status == 529)
        assert sandbox.pages(sandbox.data_source_by_title("Feedback")["id"]) == []


def test_a_fraction_of_errors_and_slow_answers() -> None:
    faults = Faults(error_rate=0.5, slow_rate=0.5, slow_seconds=0.2, random=random.Random(7))
    sandbox = NotionSandbox(seed=SEED, rate_limit=None, faults=faults)
    with served(sandbox) as client:
        started = time.monotonic()
        codes = [client.get("/users/me").status_code for _ in range(20)]
        elapsed = time.monotonic() - started
    assert 4 <= codes.count(200) <= 16 and set(codes) <= {200, 409, 500, 502, 503, 529}
    assert elapsed >= 0.2 * 4  # at least a few of the 20 answers came 0.2 s late


def test_queries_lag_writes() -> None:
    clock = Clock()
    sandbox = NotionSandbox(seed=SEED, rate_limit=None, clock=clock,
                            faults=Faults(query_lag_seconds=2.0))
    source = sandbox.data_source_by_title("Feedback")["id"]
    with served(sandbox) as client:
        page = client.post("/pages", json=_new(sandbox, "first")).json()

        def names() -> list[str]:
            rows = client.post(f"/data_sources/{source}/query", json={}).json()["results"]
            return [r["properties"]["Name"]["title"][0]["plain_text"] for r in rows]

        assert names() == []  # not indexed yet
        assert client.get(f"/pages/{page['id']}").status_code == 200  # by id: at once
        clock.now += 2.5
        assert names() == ["first"]
        client.patch(f"/pages/{page['id']}", json={"properties": {
            "Name": {"title": [{"text": {"content": "second"}}]}}})
        assert names() == ["first"]  # the former values, for a while
        clock.now += 2.5
        assert names() == ["second"]


async def test_upsert_copes_with_lagging_queries(hub_factory: Any) -> None:
    # The key written a moment ago is not found by the query yet: the upsert must still not
    # create a second page for it.
    with hub_factory(sandbox_query_lag_ms=3000) as hub:
        sandbox = hub.app.state.notion_sandbox
        async with hub.store() as store:
            conn = NotionConnector(hub.settings, state=StoreState(store))
            try:
                outs = [await conn.upsert_page(UpsertPageInput(
                    database="Feedback", key="fb-lag", properties={"Name": f"v{n}"}), CTX)
                    for n in range(3)]
            finally:
                await conn.aclose()
        live = [p for p in sandbox.pages(sandbox.data_source_by_title("Feedback")["id"])
                if not p["in_trash"]]
        assert len(live) == 1, [p["id"] for p in live]
        assert {o["id"] for o in outs} == {live[0]["id"]}
        assert live[0]["properties"]["Name"]["title"][0]["plain_text"] == "v2"


async def test_runs_cope_with_errors_and_lag(hub_factory: Any, monkeypatch: Any) -> None:
    # A fifth of Notion's answers fail (409/5xx/529) and queries lag: every event still ends
    # with exactly one page per key, through the runner's retries.
    flow = """
name: file
on:
  webhook: make
steps:
  - id: page
    use: notion.upsert_page
    with: {database: Feedback, key: "{{ event.key }}", properties: {Name: "{{ event.name }}"}}
"""
    monkeypatch.setenv("PASSERELLE_WEBHOOK_SECRET_MAKE", "make-secret")
    with hub_factory({"file.yaml": flow}, sandbox_fault_rate=0.2,
                     sandbox_query_lag_ms=1000) as hub:
        sandbox = hub.app.state.notion_sandbox
        sandbox.faults.random.seed(3)
        async with hub.client() as c:
            for n in range(6):
                r = await c.post("/hooks/make", json={"key": f"k{n % 3}", "name": f"n{n}"},
                                 headers={"Authorization": "Bearer make-secret"})
                assert r.status_code == 202, r.text
        async with hub.client(headers=hub.admin) as admin:
            deadline = time.monotonic() + 90
            while True:
                runs = (await admin.get("/api/runs")).json()["runs"]
                if len(runs) == 6 and all(r["status"] in ("succeeded", "failed") for r in runs):
                    break
                assert time.monotonic() < deadline, [(r["status"], r["error"]) for r in runs]
                await asyncio.sleep(0.2)
        assert [r["status"] for r in runs] == ["succeeded"] * 6, [r["error"] for r in runs]
        live = [p for p in sandbox.pages(sandbox.data_source_by_title("Feedback")["id"])
                if not p["in_trash"]]
        keys = sorted(p["properties"]["External ID"]["rich_text"][0]["plain_text"]
                      for p in live)
        assert keys == ["k0", "k1", "k2"]
