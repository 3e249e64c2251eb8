"""The dashboard over real HTTP: sign-in, pages, replay with CSRF, secrets never shown."""

from __future__ import annotations

import re

import pytest

from app.web.auth import COOKIE, session_value
from tests.conftest import ADMIN_TOKEN

SECRET = "broken-source-secret-31337"
BROKEN = """
name: broken
description: Posts a JSON array where an object is expected, so the hub answers 400.
on:
  webhook: broken
steps:
  - id: call
    use: http.request
    with:
      url: "{{ event.target }}"
      headers:
        Authorization: "Bearer {{ event.key }}"
      json: [1, 2]
"""
PAGES = ["/", "/runs", "/flows", "/sandbox"]


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PASSERELLE_WEBHOOK_SECRET_BROKEN", SECRET)


async def failed_run(hub) -> str:
    """A run that fails for good; its event data and step input hold the source's secret."""
    async with hub.client() as c:
        r = await c.post("/hooks/broken", json={"target": f"{hub.url}/hooks/broken",
                                                "key": SECRET, "author": "ada@example.com"},
                         headers={"Authorization": f"Bearer {SECRET}"})
    run_id: str = r.json()["runs"][0]
    run = await hub.wait_for_run(run_id)
    assert run["status"] == "failed", run
    return run_id


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([0-9a-f]{64})"', html)
    assert match, "no CSRF field in the page"
    return match.group(1)


async def test_without_a_token_only_the_login_page(hub_factory, env) -> None:
    with hub_factory({"broken.yaml": BROKEN}) as hub:
        run_id = await failed_run(hub)
        async with hub.client() as c:
            for path in [*PAGES, f"/runs/{run_id}"]:
                r = await c.get(path)
                assert r.status_code == 401, path
                assert 'id="token"' in r.text and "Admin token" in r.text
                # Nothing of the data: no KPI, no error text, no flow name.
                assert "kpi-events" not in r.text and "JSON object" not in r.text
                assert "broken" not in r.text
            refused = await c.post(f"/runs/{run_id}/replay", data={"csrf": "x"})
            assert refused.status_code == 401
        async with hub.client(cookies={COOKIE: "0" * 64}) as c:
            assert (await c.get("/")).status_code == 401


async def test_token_in_query_sets_cookie_and_redirects(hub_factory) -> None:
    with hub_factory({}) as hub:
        async with hub.client() as c:
            r = await c.get("/runs", params={"status": "failed", "token": ADMIN_TOKEN})
            assert r.status_code == 303
            assert r.headers["location"] == "/runs?status=failed"
            cookie = r.headers["set-cookie"]
            assert cookie.startswith(f"{COOKIE}={session_value(ADMIN_TOKEN)};")
            assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
            assert ADMIN_TOKEN not in cookie
            page = await c.get("/runs?status=failed")
            assert page.status_code == 200 and "<h1>Runs</h1>" in page.text
            assert page.headers["cache-control"] == "no-store"
            assert "frame-ancestors 'none'" in page.headers["content-security-policy"]


async def test_wrong_token_is_refused(hub_factory) -> None:
    with hub_factory({}) as hub:
        async with hub.client() as c:
            r = await c.get("/", params={"token": "not-the-token"})
            assert r.status_code == 401
            assert "That token is not valid." in r.text
            assert "set-cookie" not in r.headers
            assert (await c.get("/")).status_code == 401
            bad = await c.post("/login", data={"token": "nope", "next": "/flows"})
            assert bad.status_code == 401 and "set-cookie" not in bad.headers


async def test_login_form_and_bearer_header(hub_factory) -> None:
    with hub_factory({}) as hub:
        async with hub.client() as c:
            r = await c.post("/login", data={"token": ADMIN_TOKEN, "next": "//evil.example"})
            assert r.status_code == 303 and r.headers["location"] == "/"
            assert (await c.get("/flows")).status_code == 200
        async with hub.client(headers=hub.admin) as c:
            for path in PAGES:
                assert (await c.get(path)).status_code == 200, path


async def test_pages_show_runs_and_never_secrets(hub_factory, env) -> None:
    with hub_factory({"broken.yaml": BROKEN}) as hub:
        run_id = await failed_run(hub)
        async with hub.client(headers=hub.admin) as c:
            pages = {p: await c.get(p) for p in [*PAGES, f"/runs/{run_id}",
                                                  "/runs?status=failed&flow=broken"]}
            for path, r in pages.items():
                assert r.status_code == 200, path
                assert SECRET not in r.text, path
                assert ADMIN_TOKEN not in r.text, path
            run_page = pages[f"/runs/{run_id}"].text
            assert "[redacted]" in run_page
            assert "body must be a JSON object" in run_page
            assert "Replay this run" in run_page
            overview = pages["/"].text
            assert re.search(r'id="kpi-failed"[^>]*>1<', overview)
            assert re.search(r'id="kpi-contributors"[^>]*>1<', overview)
            assert f"/runs/{run_id}" in overview  # listed under failures of the last 7 days
            assert "<svg" in overview and "Runs per week of broken" in overview
            assert f"/runs/{run_id}" in pages["/runs?status=failed&flow=broken"].text
            ok_only = await c.get("/runs?status=succeeded")
            assert f"/runs/{run_id}" not in ok_only.text
            unknown = await c.get("/runs?status=lost")
            assert "Unknown status" in unknown.text
            missing = await c.get("/runs/no-such-run")
            assert missing.status_code == 404
            flows = pages["/flows"].text
            assert "webhook" in flows and "http.request" in flows and "failed" in flows


async def test_replay_needs_csrf_and_same_origin(hub_factory, env) -> None:
    with hub_factory({"broken.yaml": BROKEN}) as hub:
        run_id = await failed_run(hub)
        async with hub.client() as c:
            await c.get("/", params={"token": ADMIN_TOKEN})
            page = await c.get(f"/runs/{run_id}")
            csrf = csrf_of(page.text)
            no_csrf = await c.post(f"/runs/{run_id}/replay", data={})
            assert no_csrf.status_code == 403
            cross = await c.post(f"/runs/{run_id}/replay", data={"csrf": csrf},
                                 headers={"Origin": "https://evil.example"})
            assert cross.status_code == 403
            async with hub.store() as store:
                assert (await store.get_run(run_id)).replays == 0
            ok = await c.post(f"/runs/{run_id}/replay", data={"csrf": csrf},
                              headers={"Origin": hub.url})
            assert ok.status_code == 303
            assert ok.headers["location"] == f"/runs/{run_id}?replayed=1"
            after = await c.get(ok.headers["location"])
            assert "Queued again" in after.text
            assert re.search(r'id="run-replays">1<', after.text)
            # Only failed runs can be replayed: a second click while it is queued or running
            # is refused with a clear message (or it already failed again and is replayable).
        run = await hub.wait_for_run(run_id)
        assert run["replays"] == 1 and run["status"] == "failed"


async def test_sandbox_page_shows_what_the_stand_ins_hold(hub_factory) -> None:
    with hub_factory({}) as hub:
        slack = hub.app.state.runtime.extras["slack_sandbox"]
        slack.call("chat.postMessage", {"channel": "C0GENERAL", "text": "Hello from the test"},
                   token="xoxb-sandbox")
        async with hub.client(headers=hub.admin) as c:
            r = await c.get("/sandbox")
        assert r.status_code == 200
        assert "Hello from the test" in r.text
        assert "Feedback" in r.text  # the seeded data source, with its page count
        assert "not in sandbox mode" not in r.text


async def test_sandbox_page_in_live_mode(hub_factory) -> None:
    with hub_factory({}, slack_bot_token="xoxb-live-token-123",
                     notion_token="ntn_live_token_0123456789abcdef") as hub:
        async with hub.client(headers=hub.admin) as c:
            r = await c.get("/sandbox")
            overview = await c.get("/")
        assert r.text.count("not in sandbox mode") == 2
        assert "xoxb-live-token-123" not in r.text + overview.text
        assert "Sandbox mode" not in overview.text
        assert re.search(r"Slack</dt><dd><span class=\"mode mode-live\">live", overview.text)
