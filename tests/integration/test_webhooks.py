"""POST /hooks/{source} over real HTTP: auth, dedupe, errors, and the run it creates."""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime

import pytest
from standardwebhooks.webhooks import Webhook

FLOW = """
name: forward
on:
  webhook: make
steps:
  - id: echo
    use: http.request
    with:
      method: GET
      url: "{{ event.url }}"
"""

TOKEN = "make-shared-secret-123"
WHSEC = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PASSERELLE_WEBHOOK_SECRET_MAKE", TOKEN)
    monkeypatch.setenv("PASSERELLE_WEBHOOK_SECRET_TYPE_FORM", WHSEC)


def signed(body: bytes, *, msg_id: str = "msg_1", secret: str = WHSEC,
           ts: datetime | None = None) -> dict[str, str]:
    ts = ts or datetime.now(UTC)
    sig = Webhook(secret).sign(msg_id, ts, body.decode())
    return {"webhook-id": msg_id, "webhook-timestamp": str(int(ts.timestamp())),
            "webhook-signature": sig, "content-type": "application/json"}


async def count_rows(hub, table: str) -> int:
    import sqlalchemy as sa

    async with hub.store() as store, store.engines.read.connect() as conn:
        return int((await conn.execute(sa.text(f"SELECT count(*) FROM {table}"))).scalar_one())


async def test_bearer_webhook_runs_flow_and_dedupes(hub_factory, env) -> None:
    with hub_factory({"forward.yaml": FLOW}) as hub:
        async with hub.client() as c:
            body = {"url": f"{hub.url}/healthz", "author": "ada@example.com"}
            headers = {"Authorization": f"Bearer {TOKEN}", "Idempotency-Key": "k-1"}
            first = await c.post("/hooks/make", json=body, headers=headers)
            assert first.status_code == 202, first.text
            out = first.json()
            assert out["duplicate"] is False and len(out["runs"]) == 1
            again = await c.post("/hooks/make", json=body, headers=headers)
            assert again.status_code == 202
            assert again.json() == {**out, "duplicate": True}
        run = await hub.wait_for_run(out["runs"][0])
        assert run["status"] == "succeeded", run
        assert run["steps"][0]["output"]["json"] == {"status": "ok"}
        assert await count_rows(hub, "runs") == 1
        assert await count_rows(hub, "event_duplicates") == 1


async def test_standard_webhooks_signature(hub_factory, env) -> None:
    with hub_factory({}) as hub:
        async with hub.client() as c:
            body = json.dumps({"answer": 42}).encode()
            ok = await c.post("/hooks/type-form", content=body, headers=signed(body))
            assert ok.status_code == 202, ok.text
            assert ok.json()["runs"] == []
            dup = await c.post("/hooks/type-form", content=body, headers=signed(body))
            assert dup.json()["duplicate"] is True
            tampered = await c.post("/hooks/type-form", content=body + b" ",
                                    headers=signed(body, msg_id="msg_2"))
            assert tampered.status_code == 401
            stale = await c.post("/hooks/type-form", content=body, headers=signed(
                body, msg_id="msg_3", ts=datetime.fromtimestamp(time.time() - 600, UTC)))
            assert stale.status_code == 401
            assert "timestamp" in stale.json()["message"].lower()
        assert await count_rows(hub, "events") == 1


@pytest.mark.parametrize(
    ("path", "headers", "body", "status"),
    [
        ("/hooks/unknown", {"Authorization": f"Bearer {TOKEN}"}, b"{}", 404),
        ("/hooks/make", {}, b"{}", 401),
        ("/hooks/make", {"Authorization": "Bearer wrong"}, b"{}", 401),
        ("/hooks/make", {"Authorization": f"Bearer {TOKEN}", "content-type": "text/plain"},
         b"{}", 415),
        ("/hooks/make", {"Authorization": f"Bearer {TOKEN}", "content-type": "application/json"},
         b"{not json", 400),
        ("/hooks/make", {"Authorization": f"Bearer {TOKEN}", "content-type": "application/json"},
         b"[1, 2]", 400),
        # Not JSON (Python's parser reads them), and a NUL PostgreSQL cannot store.
        ("/hooks/make", {"Authorization": f"Bearer {TOKEN}", "content-type": "application/json"},
         b'{"score": NaN}', 400),
        ("/hooks/make", {"Authorization": f"Bearer {TOKEN}", "content-type": "application/json"},
         b'{"n": [-Infinity]}', 400),
        ("/hooks/make", {"Authorization": f"Bearer {TOKEN}", "content-type": "application/json"},
         b'{"text": {"k\\u0000": 1}}', 400),
        ("/hooks/make", {"Authorization": f"Bearer {TOKEN}", "content-type": "application/json"},
         b'{"x": "' + b"a" * 2000 + b'"}', 413),
    ],
)
async def test_bad_requests_are_refused_and_write_nothing(hub_factory, env, path, headers, body,
                                                          status) -> None:
    with hub_factory({"forward.yaml": FLOW}, max_body_bytes=1024) as hub:
        async with hub.client() as c:
            r = await c.post(path, content=body, headers=headers)
        assert r.status_code == status, r.text
        payload = r.json()
        assert payload["error"] and payload["message"]
        assert TOKEN not in r.text
        assert await count_rows(hub, "events") == 0
        assert await count_rows(hub, "runs") == 0


async def test_template_syntax_in_event_data_is_not_rendered(hub_factory, env) -> None:
    flow = FLOW.replace('url: "{{ event.url }}"', 'url: "{{ event.url }}"\n      params:\n'
                        '        q: "{{ event.text }}"')
    with hub_factory({"forward.yaml": flow}) as hub:
        async with hub.client() as c:
            r = await c.post("/hooks/make", json={"url": f"{hub.url}/healthz",
                                                  "text": "{{ 7*7 }} {% raw %}"},
                             headers={"Authorization": f"Bearer {TOKEN}"})
        run = await hub.wait_for_run(r.json()["runs"][0])
        assert run["steps"][0]["input"]["params"]["q"] == "{{ 7*7 }} {% raw %}"
