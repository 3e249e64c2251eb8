"""The admin API against a foreign page holding the dashboard cookie (issue 15)."""

from __future__ import annotations

from typing import Any

from app.web.auth import COOKIE, session_value
from tests.conftest import ADMIN_TOKEN


async def test_cookie_calls_that_change_state_need_the_same_origin(hub_factory: Any) -> None:
    with hub_factory() as hub:
        cookie = {COOKIE: session_value(ADMIN_TOKEN)}
        async with hub.client(cookies=cookie) as c:
            path = "/api/runs/run-that-does-not-exist/replay"
            foreign = await c.post(path, headers={"origin": "https://evil.example"})
            assert foreign.status_code == 403, foreign.text
            assert foreign.json()["error"] == "forbidden"
            assert (await c.post(path)).status_code == 403  # no Origin at all
            assert (await c.post(path, headers={"origin": "null"})).status_code == 403
            same = await c.post(path, headers={"origin": hub.url})
            assert same.status_code == 404, same.text  # past the gate: the run is unknown
            assert (await c.get("/api/runs", headers={"origin": "https://evil.example"})
                    ).status_code == 200  # reading is not changing
        async with hub.client() as c:  # bearer: no cookie to abuse, no Origin needed
            r = await c.post(path, headers={**hub.admin, "origin": "https://evil.example"})
            assert r.status_code == 404, r.text
