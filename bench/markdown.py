"""``python -m bench.markdown``: 1 MiB of markdown, and ingest while a hub converts it (issue 15).

1. How long ``markdown_to_blocks`` takes on 1 MiB of each worst case of the regexes it replaced
   (and of plain prose), in this process.
2. A served hub (``passerelle serve``, SQLite, Notion stand-in) receives one event whose flow
   writes 1 MiB of ``**a `` as a page body; meanwhile webhooks are sent one after another and
   their latency measured, then the same without the conversion, for comparison.

Prints markdown tables; the targets are "1 MiB converts in < 1 s" and "ingest p99 < 50 ms".
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.servers import ROOT, passerelle, passerelle_env
from connectors.notion.blocks import markdown_to_blocks

MIB = 1 << 20
PATTERNS = {"**a ": "**a ", "*a ": "*a ", "[a](": "[a](", "_a ": "_a ", "- a\\n": "- a\n",
            "# a\\n": "# a\n", "prose": "Export to CSV is slow for big workspaces. "}
TOKEN = "bench-markdown-bearer"
FLOW = """
name: long-notes
on:
  webhook: notes
steps:
  - id: page
    use: notion.create_page
    with:
      database: Feedback
      properties: {Name: "long note"}
      content: "{{ event.text }}"
"""


def conversions() -> list[dict[str, Any]]:
    rows = []
    for name, unit in PATTERNS.items():
        text = unit * (MIB // len(unit))
        t0 = time.perf_counter()
        blocks = markdown_to_blocks(text)
        rows.append({"input (1 MiB of)": name, "seconds": round(time.perf_counter() - t0, 2),
                     "blocks": len(blocks)})
    return rows


def _ingest_until(client: httpx.Client, done: Any, *, limit: float) -> list[float]:
    headers = {"authorization": f"Bearer {TOKEN}", "content-type": "application/json"}
    waits: list[float] = []
    deadline = time.monotonic() + limit
    while not done() and time.monotonic() < deadline:
        t0 = time.perf_counter()
        r = client.post("/hooks/ingest", content=b'{"n": 1}',
                        headers={**headers, "idempotency-key": f"k{time.time_ns()}"})
        waits.append(time.perf_counter() - t0)
        assert r.status_code == 202, r.text
        time.sleep(0.02)
    return waits


def _row(label: str, waits: list[float], seconds: float) -> dict[str, Any]:
    ms = sorted(w * 1000 for w in waits)
    return {"while": label, "requests": len(ms), "p50_ms": round(statistics.median(ms), 1),
            "p99_ms": round(ms[min(len(ms) - 1, int(len(ms) * 0.99))], 1),
            "max_ms": round(ms[-1], 1), "seconds": round(seconds, 1)}


def served() -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory() as tmp:
        flows = Path(tmp) / "flows"
        flows.mkdir()
        (flows / "_databases.yaml").write_text((ROOT / "flows" / "_databases.yaml").read_text())
        (flows / "long-notes.yaml").write_text(FLOW)
        # Rate limits off: this bench measures the conversion's CPU and the ingest latency
        # meanwhile, not Notion's quota (bench notion-items measures that, limits on).
        env = passerelle_env(database_url=f"sqlite:///{tmp}/hub.db") | {
            "PASSERELLE_FLOWS": str(flows), "PASSERELLE_WEBHOOK_SECRET_NOTES": TOKEN,
            "PASSERELLE_WEBHOOK_SECRET_INGEST": TOKEN, "PASSERELLE_MAX_BODY_BYTES": str(3 * MIB),
            "PASSERELLE_SANDBOX_RATE_LIMITS": "false", "PASSERELLE_LOG_LEVEL": "WARNING"}
        with passerelle("markdown", env=env, log=Path(tmp) / "hub.log") as hub, \
                httpx.Client(base_url=hub.url, timeout=60) as client:
            admin = {"authorization": "Bearer bench-admin-token"}
            t0 = time.monotonic()
            baseline = _ingest_until(client, lambda: False, limit=5)
            rows = [_row("nothing else", baseline, time.monotonic() - t0)]
            r = client.post("/hooks/notes", json={"text": "**a " * (MIB // 4)},
                            headers={"authorization": f"Bearer {TOKEN}"})
            run_id = r.json()["runs"][0]

            def finished() -> bool:
                run = client.get(f"/api/runs/{run_id}", headers=admin).json()
                return bool(run["status"] in ("succeeded", "failed"))

            t0 = time.monotonic()
            waits = _ingest_until(client, finished, limit=120)
            rows.append(_row("1 MiB converts and is written to the Notion stand-in", waits,
                             time.monotonic() - t0))
            return rows


def table(rows: list[dict[str, Any]]) -> str:
    keys = list(rows[0])
    lines = ["| " + " | ".join(keys) + " |", "|" + " --- |" * len(keys)]
    lines += ["| " + " | ".join(str(r[k]) for k in keys) + " |" for r in rows]
    return "\n".join(lines)


def main() -> None:
    print(table(conversions()))
    print()
    print(table(served()))


if __name__ == "__main__":
    main()
