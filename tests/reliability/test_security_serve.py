"""`passerelle serve` tells the operator at start when Slack requests will be refused (issue 15).

A real process, configured through its environment the way docker-compose passes it: a live
Notion token and an empty SLACK_SIGNING_SECRET.
"""

from __future__ import annotations

from pathlib import Path

import httpx
from harness import Proc, base_env, free_port


def test_serve_warns_at_start_when_slack_cannot_be_verified(tmp_path: Path) -> None:
    (tmp_path / "flows").mkdir()
    env = base_env(tmp_path, f"sqlite:///{tmp_path}/hub.db",
                   NOTION_TOKEN="secret_live_token_0123456789", SLACK_SIGNING_SECRET="",
                   SLACK_BOT_TOKEN="")
    port = free_port()
    hub = Proc(["serve", "--no-worker", "--port", str(port)], env, tmp_path, "hub").start()
    try:
        hub.wait_http(f"http://127.0.0.1:{port}")
        out = (tmp_path / "hub.1.stdout.log").read_text()
        assert "Slack requests are refused (503 slack_not_configured)" in out, out
        assert "NOTION_TOKEN is set but SLACK_SIGNING_SECRET is not" in out
        assert "secret_live_token" not in hub.logs()
        ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5).json()
        assert ready["slack"] == "not_configured"
    finally:
        hub.kill()
