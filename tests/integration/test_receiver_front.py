"""The receivers' ASGI front (app/receivers/front.py) keeps the routes' HTTP contract."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

TOKEN = "front-shared-secret-0042"


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PASSERELLE_WEBHOOK_SECRET_MAKE", TOKEN)


async def test_other_methods_trailing_slash_and_deeper_paths(hub_factory, env) -> None:
    with hub_factory({}, worker=False) as hub:
        async with hub.client() as c:
            for path in ("/hooks/make", "/slack/commands", "/slack/events"):
                r = await c.get(path)
                assert r.status_code == 405, path
                assert r.json() == {"error": "error", "message": "Method Not Allowed"}
            # As FastAPI's router did: a trailing slash is redirected to the route.
            r = await c.post("/hooks/make/", json={})
            assert r.status_code == 307
            assert r.headers["location"] == f"{hub.url}/hooks/make"
            r = await c.post("/hooks/make/extra", json={})
            assert r.status_code == 404 and r.json()["error"]
            r = await c.post("/hooks/", json={})
            assert r.status_code == 404


async def test_chunked_body_over_the_limit_is_refused_and_counted(hub_factory, env) -> None:
    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: chunked encoding
        for _ in range(64):
            yield b" " * 1024

    with hub_factory({}, worker=False, max_body_bytes=4096) as hub:
        async with hub.client() as c:
            r = await c.post("/hooks/make", content=chunks(),
                             headers={"Authorization": f"Bearer {TOKEN}",
                                      "Content-Type": "application/json"})
            assert r.status_code == 413
            assert r.json()["error"] == "payload_too_large"
            ok = await c.post("/hooks/make", json={"a": 1},
                              headers={"Authorization": f"Bearer {TOKEN}"})
            assert ok.status_code == 202
            metrics = (await c.get("/metrics")).text
    assert 'passerelle_events_received_total{outcome="413",source="hooks"}' in metrics


def test_schema_still_describes_the_receiver_routes(make_settings) -> None:
    from app.main import create_app

    paths = create_app(make_settings()).openapi()["paths"]
    assert paths["/hooks/{source}"]["post"]["parameters"][0]["name"] == "source"
    for path in ("/slack/commands", "/slack/events", "/slack/interactions", "/notion/webhooks"):
        assert "post" in paths[path], path
