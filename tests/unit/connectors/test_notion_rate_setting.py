"""The Notion quota can be divided between processes (PASSERELLE_NOTION_RATE_LIMIT)."""

from __future__ import annotations

from app.settings import Settings
from connectors.notion.client import NotionApi


async def test_live_rate_comes_from_settings(monkeypatch) -> None:
    monkeypatch.setenv("PASSERELLE_NOTION_RATE_LIMIT", "1.5")
    api = NotionApi(Settings(_env_file=None, notion_token="ntn_test_token_value"))
    try:
        assert api.rate == 1.5
        assert api.bucket is not None and api.bucket.rate == 1.5
    finally:
        await api.aclose()


async def test_sandbox_without_rate_limits_does_not_pace() -> None:
    # Off on purpose: this is the test of the switch itself (the suite runs with it on).
    api = NotionApi(Settings(_env_file=None, sandbox_rate_limits=False))
    try:
        assert api.rate is None
    finally:
        await api.aclose()
