"""passerelle.stats: lint knows it without a store; the runtime gives it the store."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from app.engine.loader import load_flows
from app.errors import PermanentError
from app.events import Event, utcnow
from app.runtime import Runtime
from connectors.base import ActionContext
from connectors.passerelle.connector import PasserelleConnector, StatsInput
from connectors.registry import Connectors

REPO_FLOWS = Path(__file__).resolve().parents[3] / "flows"
CTX = ActionContext(run_id="r", flow="weekly-digest", step_id="stats")


def test_lint_knows_the_action_without_a_store(make_settings) -> None:
    settings = make_settings()
    connectors = Connectors(settings)
    assert "passerelle.stats" in connectors.actions
    flows = load_flows(REPO_FLOWS / "weekly-digest.yaml", env=settings.env,
                       actions=connectors.actions)
    assert flows.problems == [] and "weekly-digest" in flows.flows


async def test_without_a_store_the_action_says_what_is_missing(make_settings) -> None:
    connector = PasserelleConnector(make_settings())
    with pytest.raises(PermanentError, match="no store here"):
        await connector.stats(StatsInput(), CTX)


async def test_the_runtime_gives_its_store(make_settings) -> None:
    settings = make_settings(timezone="Europe/Paris")
    rt = await Runtime.start(settings, with_worker=False)
    try:
        connector = rt.connectors.get("passerelle")
        assert isinstance(connector, PasserelleConnector) and connector.store is rt.store
        last_week = utcnow() - timedelta(weeks=1)
        await rt.store.ingest([(Event(source="make", type="webhook", dedupe_key="a", data={},
                                      received_at=last_week, actor="ada"), ["feedback"])])
        action = rt.connectors.actions["passerelle.stats"]
        out = await rt.connectors.invoke(action, StatsInput(weeks=2), CTX)
        assert out["timezone"] == "Europe/Paris"
        assert [f["flow"] for f in out["flows"]] == ["feedback"]
        assert out["totals"]["total"]["events"] == 1
        assert out["text"].startswith("*Passerelle adoption")
        with pytest.raises(PermanentError, match="unknown time zone"):
            await rt.connectors.invoke(action, StatsInput(timezone="Nowhere/Land"), CTX)
    finally:
        await rt.close()
