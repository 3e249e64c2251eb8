"""The receivers' ASGI front (app/receivers/front.py) keeps the routes' HTTP contract."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.conftest import ADMIN_TOKEN

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


async def test_redirects_follow_the_forwarded_scheme_of_a_trusted_proxy_only(
        hub_factory, env) -> None:
    """The server runs without uvicorn's proxy-headers middleware (``SERVER_OPTIONS``); the
    app applies it where a URL is built from the request: the front's redirect and FastAPI."""
    proxy = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    with hub_factory({}, worker=False) as hub:  # FORWARDED_ALLOW_IPS' default: 127.0.0.1
        host = hub.url.removeprefix("http://")
        async with hub.client(headers=proxy) as c:
            r = await c.post("/hooks/make/", json={})
            assert r.status_code == 307
            assert r.headers["location"] == f"https://{host}/hooks/make"
            r = await c.get("/api/runs/", headers=hub.admin)
            assert r.status_code == 307
            assert r.headers["location"] == f"https://{host}/api/runs"
            r = await c.get("/runs", params={"token": ADMIN_TOKEN})
            assert "secure" in r.headers["set-cookie"].lower()  # the browser saw https
    with hub_factory({}, worker=False, forwarded_allow_ips="192.0.2.1") as hub:  # not us
        async with hub.client(headers=proxy) as c:
            r = await c.post("/hooks/make/", json={})
            assert r.headers["location"] == f"{hub.url}/hooks/make"
            r = await c.get("/api/runs/", headers=hub.admin)
            assert r.headers["location"] == f"{hub.url}/api/runs"
            r = await c.get("/runs", params={"token": ADMIN_TOKEN})
            assert "secure" not in r.headers["set-cookie"].lower()


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
