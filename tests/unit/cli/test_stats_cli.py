"""``passerelle stats``: the table and the JSON document, from a real store."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import cli
from app.events import Event, utcnow
from app.store import Store


async def _seed(url: str) -> None:
    store = await Store.open(url)
    try:
        at = utcnow() - timedelta(minutes=5)
        events = [Event(source="make", type="webhook", dedupe_key=f"k{n}", data={},
                        received_at=at, actor=actor)
                  for n, actor in enumerate(["ada", "bob", "ada"])]
        await store.ingest([(e, ["feedback"]) for e in events])
        await store.ingest([(Event(source="make", type="webhook", dedupe_key="k0", data={}),
                             ["feedback"])])
        for run in await store.claim(worker="w", limit=10, lease=60):
            if run.event and run.event.dedupe_key == "k2":
                await store.fail(run_id=run.id, worker="w", error="boom")
            else:
                await store.finish(run_id=run.id, worker="w")
    finally:
        await store.close()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.chdir(tmp_path)  # no stray .env
    url = f"sqlite:///{tmp_path}/cli.db"
    (tmp_path / "flows").mkdir()
    monkeypatch.setenv("PASSERELLE_DATABASE_URL", url)
    monkeypatch.setenv("PASSERELLE_FLOWS", str(tmp_path / "flows"))
    monkeypatch.setenv("PASSERELLE_TIMEZONE", "Europe/Paris")
    asyncio.run(_seed(url))
    return url


def test_stats_table(env) -> None:
    result = CliRunner().invoke(cli, ["stats", "--weeks", "3"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "(Europe/Paris)" in lines[0]
    assert lines[1].split()[:4] == ["FLOW", "WEEK", "EVENTS", "SUCCEEDED"]
    feedback = [ln.split() for ln in lines if ln.startswith("feedback")]
    total = [ln.split() for ln in lines if ln.startswith("(all flows)")]
    assert len(feedback) == 3 and len(total) == 3
    # The current week is the last row: 3 events, 2 succeeded, 1 failed, 0 pending,
    # 1 duplicate prevented, 2 contributors.
    assert feedback[-1][2:8] == ["3", "2", "1", "0", "1", "2"]
    assert feedback[0][2:8] == ["0", "0", "0", "0", "0", "0"]


def test_stats_json(env) -> None:
    result = CliRunner().invoke(cli, ["stats", "--weeks", "1", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["timezone"] == "Europe/Paris"
    (flow,) = doc["flows"]
    assert flow["flow"] == "feedback"
    assert flow["total"]["events"] == 3 and flow["total"]["failed"] == 1
    assert flow["total"]["median_seconds"] is not None
    assert doc["text"].startswith("*Passerelle adoption")


def test_stats_refuses_bad_time_zone_and_weeks(env) -> None:
    bad_tz = CliRunner().invoke(cli, ["stats", "--timezone", "Mars/Olympus"])
    assert bad_tz.exit_code == 1
    assert "unknown time zone 'Mars/Olympus'" in bad_tz.output
    bad_weeks = CliRunner().invoke(cli, ["stats", "--weeks", "0"])
    assert bad_weeks.exit_code == 2
