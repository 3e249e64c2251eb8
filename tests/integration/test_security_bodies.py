"""Nothing unbounded, nothing on the event loop (issue 15), driven over real sockets.

Slow and huge bodies are sent the way an attacker would: raw TCP, headers announcing a body
that never (or only partly) arrives.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from slack_requests import FORM

from app.receivers.slack_verify import SANDBOX_SIGNING_SECRET, sign

TOKEN = "bodies-bearer-secret-0123"
FLOW = """
name: forward
on:
  webhook: make
steps:
  - id: ping
    use: http.request
    with: {method: GET, url: "http://127.0.0.1:9/x"}
"""
DATABASES = (Path(__file__).parents[2] / "flows" / "_databases.yaml").read_text()
CONVERT = """
name: long-notes
on:
  webhook: notes
steps:
  - id: page
    use: notion.create_page
    with:
      database: Feedback
      properties: {Name: "long note"}
      content: "{{ event.text }}"
"""


@pytest.fixture(autouse=True)
def sources(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PASSERELLE_WEBHOOK_SECRET_MAKE", TOKEN)
    monkeypatch.setenv("PASSERELLE_WEBHOOK_SECRET_NOTES", TOKEN)


async def count(hub: Any, table: str) -> int:
    async with hub.store() as store, store.engines.read.connect() as conn:
        return int((await conn.execute(sa.text(f"SELECT count(*) FROM {table}"))).scalar_one())


async def partial_post(url: str, path: str, headers: dict[str, str], announced: int,
                       sent: bytes = b"") -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Open a connection and send headers announcing ``announced`` bytes, but only ``sent``."""
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    lines = [f"POST {path} HTTP/1.1", f"host: {host}", f"content-length: {announced}",
             *(f"{k}: {v}" for k, v in headers.items())]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + sent)
    await writer.drain()
    return reader, writer


async def status_of(reader: asyncio.StreamReader, timeout: float) -> tuple[int, dict[str, Any]]:
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
    status = int(head.split(b" ", 2)[1])
    length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length:"))
    body = await asyncio.wait_for(reader.readexactly(length), timeout)
    return status, json.loads(body) if body else {}


async def test_bearer_and_source_are_checked_before_the_body_is_read(hub_factory: Any) -> None:
    with hub_factory({"forward.yaml": FLOW}) as hub:
        for path, headers, code in (
                ("/hooks/make", {"authorization": "Bearer wrong"}, 401),
                ("/hooks/make", {}, 401),
                ("/hooks/nobody", {"authorization": f"Bearer {TOKEN}"}, 404)):
            # 1 MiB announced, nothing sent: the answer comes without waiting for it.
            reader, writer = await partial_post(
                hub.url, path, {**headers, "content-type": "application/json"}, 1 << 20)
            started = time.monotonic()
            status, body = await status_of(reader, timeout=3)
            assert (status, time.monotonic() - started < 3) == (code, True), body
            writer.close()
    assert await count(hub, "events") == 0


async def test_a_body_that_does_not_arrive_in_time_gets_408(hub_factory: Any) -> None:
    with hub_factory({"forward.yaml": FLOW}, body_timeout_seconds=0.5) as hub:
        for path, headers in (
                ("/hooks/make", {"authorization": f"Bearer {TOKEN}",
                                 "content-type": "application/json"}),
                ("/slack/commands", {**sign(SANDBOX_SIGNING_SECRET, b"x"), "content-type": FORM}),
                ("/notion/webhooks", {"content-type": "application/json"})):
            reader, writer = await partial_post(hub.url, path, headers, 100, b'{"a": ')
            status, body = await status_of(reader, timeout=5)
            assert status == 408, (path, body)
            assert "PASSERELLE_BODY_TIMEOUT_SECONDS" in body["message"]
            writer.close()
    assert await count(hub, "events") == 0


async def test_bodies_read_at_once_are_bounded(hub_factory: Any) -> None:
    with hub_factory({"forward.yaml": FLOW}, body_timeout_seconds=3,
                     max_bodies_reading=2) as hub:
        headers = {"authorization": f"Bearer {TOKEN}", "content-type": "application/json"}
        slow = [await partial_post(hub.url, "/hooks/make", headers, 100, b"{") for _ in range(2)]
        await asyncio.sleep(0.2)  # both hold a reading slot now
        reader, writer = await partial_post(hub.url, "/hooks/make", headers, 100, b"{")
        status, body = await status_of(reader, timeout=3)
        assert (status, body["error"]) == (503, "busy"), body
        writer.close()
        for r, w in slow:  # the slow ones end by themselves: no socket is held for long
            assert (await status_of(r, timeout=6))[0] == 408
            w.close()
        async with hub.client() as c:  # and the slots are free again
            ok = await c.post("/hooks/make", content=b"{}", headers=headers)
            assert ok.status_code == 202, ok.text


@pytest.mark.parametrize("depth", [65, 100_000])
async def test_json_nested_too_deep_is_a_clear_400(hub_factory: Any, depth: int) -> None:
    with hub_factory({"forward.yaml": FLOW}) as hub:
        async with hub.client() as c:
            headers = {"authorization": f"Bearer {TOKEN}", "content-type": "application/json"}
            deep = ('{"a": ' + "[" * (depth - 1) + "]" * (depth - 1) + "}").encode()
            r = await c.post("/hooks/make", content=deep, headers=headers)
            assert r.status_code == 400, r.text
            assert "more than 64 levels" in r.json()["message"]
            form = b"payload=" + deep.replace(b"[", b"%5B").replace(b"]", b"%5D")
            slack = await c.post("/slack/interactions", content=form, headers={
                **sign(SANDBOX_SIGNING_SECRET, form), "content-type": FORM})
            assert slack.status_code == 400, slack.text
            ok = ('{"a": ' + "[" * 63 + "]" * 63 + "}").encode()
            assert (await c.post("/hooks/make", content=ok, headers=headers)).status_code == 202
    assert await count(hub, "events") == 1


async def test_health_and_ingest_answer_while_a_mebibyte_of_markdown_converts(
        hub_factory: Any) -> None:
    flows = {"_databases.yaml": DATABASES, "long-notes.yaml": CONVERT}  # make: stored only
    with hub_factory(flows, max_body_bytes=3 << 20) as hub:
        headers = {"authorization": f"Bearer {TOKEN}", "content-type": "application/json"}
        async with hub.client() as c:
            text = "**a " * (1 << 18)  # the worst case of the regexes this replaced
            r = await c.post("/hooks/notes", json={"text": text}, headers=headers)
            assert r.status_code == 202, r.text
            run_id = r.json()["runs"][0]
            waits: list[float] = []
            status = "queued"
            n = 0
            while status not in ("succeeded", "failed"):
                t0 = time.perf_counter()
                assert (await c.get("/healthz")).status_code == 200
                n += 1
                hook = await c.post("/hooks/make", content=b"{}",
                                    headers={**headers, "idempotency-key": f"k{n}"})
                assert hook.status_code == 202
                status = (await c.get(f"/api/runs/{run_id}", headers=hub.admin)).json()["status"]
                waits.append(time.perf_counter() - t0)
                await asyncio.sleep(0.05)
        run = await hub.wait_for_run(run_id)
        assert run["status"] == "succeeded", run.get("error")
        # The conversion alone takes seconds of CPU here; the loop answered all along.
        assert len(waits) >= 5 and max(waits) < 1.0, (len(waits), max(waits))
