"""A damaged SQLite file: /readyz says so and ingest refuses to write into it (issue 15)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

TOKEN = "store-bearer-secret-0123"


def damage(db: Path, table: str) -> None:
    """Overwrite the root page of ``table`` with garbage, as a disk fault would."""
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = ?",
                            (table,)).fetchone()[0]
    with db.open("r+b") as f:
        f.seek((root - 1) * page_size)
        f.write(b"\x07" * page_size)


async def test_damaged_store_fails_readiness_and_refuses_ingest(
        hub_factory: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PASSERELLE_WEBHOOK_SECRET_MAKE", TOKEN)
    headers = {"authorization": f"Bearer {TOKEN}", "content-type": "application/json"}
    with hub_factory() as hub:
        async with hub.client() as c:
            assert (await c.get("/readyz")).json()["store"] == "ok"
            assert (await c.post("/hooks/make", content=b"{}", headers=headers)).status_code == 202
    damage(tmp_path / "passerelle.db", "runs")
    with hub_factory() as hub:
        async with hub.client() as c:
            ready = await c.get("/readyz")
            assert ready.status_code == 503, ready.text
            assert ready.json()["store"] == "damaged" and ready.json()["store_problem"]
            r = await c.post("/hooks/make", content=b'{"n": 2}', headers=headers)
            assert r.status_code == 503, r.text
            assert r.json()["error"] == "store_damaged"
    with sqlite3.connect(tmp_path / "passerelle.db") as conn:
        assert conn.execute("SELECT count(*) FROM events").fetchone()[0] == 1
