"""Fail closed on credentials, no replay (issue 15), driven as an attacker would over HTTP.

Settings come from the process environment here, as docker-compose passes them: a variable
that is present but empty (``${VAR:-}``) must count as unset.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import pytest
import sqlalchemy as sa
from slack_requests import FORM, command_form

from app.receivers.notion import signature
from app.receivers.slack_verify import SANDBOX_SIGNING_SECRET, sign

WHSEC = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
RELEASES = """
name: releases
on:
  webhook: releases
steps:
  - id: ping
    use: http.request
    with: {method: GET, url: "http://127.0.0.1:9/release"}
"""


async def count(hub: Any, table: str) -> int:
    async with hub.store() as store, store.engines.read.connect() as conn:
        return int((await conn.execute(sa.text(f"SELECT count(*) FROM {table}"))).scalar_one())


def standard_signed(body: bytes, msg_id: str) -> dict[str, str]:
    ts = str(int(time.time()))
    key = base64.b64decode(WHSEC.removeprefix("whsec_"))
    mac = hmac.new(key, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()
    return {"webhook-id": msg_id, "webhook-timestamp": ts,
            "webhook-signature": "v1," + base64.b64encode(mac).decode(),
            "content-type": "application/json"}


@pytest.fixture
def compose_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """Every credential present but empty, as ``${VAR:-}`` leaves it."""
    for name in ("SLACK_SIGNING_SECRET", "SLACK_BOT_TOKEN", "NOTION_TOKEN",
                 "NOTION_WEBHOOK_TOKEN", "PASSERELLE_WEBHOOK_SECRET_RELEASES"):
        monkeypatch.setenv(name, "")
    return monkeypatch


async def test_empty_secrets_count_as_unset(hub_factory: Any, compose_env: Any) -> None:
    with hub_factory() as hub:
        assert hub.settings.slack_sandbox and hub.settings.notion_sandbox  # "" is no token
        async with hub.client() as c:
            body = command_form("/feedback", "hi", response_url=f"{hub.url}/x")
            # Signed with the empty key: what an empty secret would have verified.
            ts = str(int(time.time()))
            mac = hmac.new(b"", f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()
            empty = await c.post("/slack/commands", content=body, headers={
                "x-slack-request-timestamp": ts, "x-slack-signature": f"v0={mac}",
                "content-type": FORM})
            assert empty.status_code == 401, empty.text
            # A source whose secret is empty does not exist, whatever the caller sends.
            payload = b'{"version": "1"}'
            for headers in ({"authorization": "Bearer x", "content-type": "application/json"},
                            standard_signed(payload, "msg_empty")):
                hook = await c.post("/hooks/releases", content=payload, headers=headers)
                assert hook.status_code == 404, hook.text
            # Notion: an empty NOTION_WEBHOOK_TOKEN verifies no signature made with "".
            event = json.dumps({"id": "e1", "type": "page.created"}).encode()
            notion = await c.post("/notion/webhooks", content=event, headers={
                "x-notion-signature": signature("", event), "content-type": "application/json"})
            assert notion.status_code == 401, notion.text
    assert await count(hub, "events") == 0


@pytest.mark.parametrize("live", ["NOTION_TOKEN", "SLACK_BOT_TOKEN"])
async def test_sandbox_signing_secret_refused_once_a_connector_is_live(
        hub_factory: Any, compose_env: pytest.MonkeyPatch, live: str) -> None:
    compose_env.setenv(live, "secret_live_token_0123456789" if live == "NOTION_TOKEN"
                       else "xoxb-live-token-0123456789")
    with hub_factory() as hub:
        async with hub.client() as c:
            body = command_form("/feedback", "hi", response_url=f"{hub.url}/x")
            for path, content, ctype in (
                    ("/slack/commands", body, FORM),
                    ("/slack/events", b'{"type": "url_verification", "challenge": "c"}',
                     "application/json"),
                    ("/slack/interactions", b"payload=%7B%7D", FORM)):
                headers = {**sign(SANDBOX_SIGNING_SECRET, content), "content-type": ctype}
                r = await c.post(path, content=content, headers=headers)
                assert r.status_code == 503, (path, r.text)
                assert r.json()["error"] == "slack_not_configured"
                assert live in r.json()["message"]
            ready = await c.get("/readyz")
            assert ready.status_code == 200
            assert ready.json()["slack"] == "not_configured"
            assert "SLACK_SIGNING_SECRET" in ready.json()["slack_problem"]
            page = await c.get("/", params={"token": hub.admin["Authorization"][7:]},
                               follow_redirects=True)
            assert "slack_not_configured" in page.text
    assert await count(hub, "events") == 0


async def test_all_sandbox_keeps_the_public_secret_and_a_real_secret_wins(
        hub_factory: Any, compose_env: pytest.MonkeyPatch) -> None:
    with hub_factory() as hub:
        async with hub.client() as c:
            ready = await c.get("/readyz")
            assert "slack" not in ready.json()
            body = b'{"type": "url_verification", "challenge": "c"}'
            r = await c.post("/slack/events", content=body, headers={
                **sign(SANDBOX_SIGNING_SECRET, body), "content-type": "application/json"})
            assert r.status_code == 200 and r.json() == {"challenge": "c"}
    compose_env.setenv("NOTION_TOKEN", "secret_live_token_0123456789")
    compose_env.setenv("SLACK_SIGNING_SECRET", "the-real-signing-secret")
    with hub_factory() as hub:
        async with hub.client() as c:
            body = b'{"type": "url_verification", "challenge": "c"}'
            public = await c.post("/slack/events", content=body, headers={
                **sign(SANDBOX_SIGNING_SECRET, body), "content-type": "application/json"})
            assert public.status_code == 401
            real = await c.post("/slack/events", content=body, headers={
                **sign("the-real-signing-secret", body), "content-type": "application/json"})
            assert real.status_code == 200
            assert "slack" not in (await c.get("/readyz")).json()


async def test_notion_verification_cannot_replace_a_configured_token(
        hub_factory: Any, compose_env: pytest.MonkeyPatch) -> None:
    compose_env.setenv("NOTION_WEBHOOK_TOKEN", "secret_configured_webhook_token")
    with hub_factory() as hub:
        async with hub.store() as store:
            await store.kv_put("notion", "verification_token", {"token": "the-real-one"})
        async with hub.client() as c:
            r = await c.post("/notion/webhooks", json={"verification_token": "attacker"})
            assert r.status_code == 401, r.text
            assert "NOTION_WEBHOOK_TOKEN" in r.json()["message"]
        async with hub.store() as store:
            kept = await store.kv_get("notion", "verification_token")
            assert kept["token"] == "the-real-one"


async def test_signed_delivery_dedupes_on_webhook_id_not_idempotency_key(
        hub_factory: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PASSERELLE_WEBHOOK_SECRET_RELEASES", WHSEC)
    with hub_factory({"releases.yaml": RELEASES}, worker=False) as hub:
        async with hub.client() as c:
            body = b'{"version": "2.4"}'
            captured = standard_signed(body, "msg_captured")
            first = await c.post("/hooks/releases", content=body,
                                 headers={**captured, "idempotency-key": "a"})
            assert first.status_code == 202 and first.json()["duplicate"] is False
            for fresh in ("b", "c", "d"):  # the replay, each time with a new key
                again = await c.post("/hooks/releases", content=body,
                                     headers={**captured, "idempotency-key": fresh})
                assert again.status_code == 202 and again.json()["duplicate"] is True
    assert await count(hub, "events") == 1
    assert await count(hub, "runs") == 1


async def test_source_names_match_exactly(hub_factory: Any,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PASSERELLE_WEBHOOK_SECRET_RELEASES", "bearer-secret-0123")
    with hub_factory({"releases.yaml": RELEASES}, worker=False) as hub:
        async with hub.client() as c:
            headers = {"authorization": "Bearer bearer-secret-0123",
                       "content-type": "application/json"}
            for name in ("RELEASES", "Releases", "releases%20", "_releases"):
                r = await c.post(f"/hooks/{name}", content=b"{}", headers=headers)
                assert r.status_code == 404, (name, r.text)
            ok = await c.post("/hooks/releases", content=b"{}",
                              headers={**headers, "idempotency-key": "k"})
            assert ok.status_code == 202
            # Bearer sources keep Idempotency-Key.
            again = await c.post("/hooks/releases", content=b"{}",
                                 headers={**headers, "idempotency-key": "k"})
            assert again.json()["duplicate"] is True
    assert await count(hub, "events") == 1
