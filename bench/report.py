"""Results: one JSON file per run under bench/results/, and markdown tables on stdout."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.load import Result
from bench.servers import ROOT

RESULTS = ROOT / "bench" / "results"


def machine() -> dict[str, Any]:
    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")),
               platform.processor())
    mem = next(int(line.split()[1]) // 1024 for line in
               Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal"))
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                            capture_output=True, text=True).stdout.strip()
    # BENCH_PASSERELLE (another checkout's passerelle, for before/after) says what was
    # measured; "commit" is this checkout's, which ran the benchmark and the yardsticks.
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_mb": mem,
            "python": platform.python_version(), "commit": commit,
            "passerelle": os.environ.get("BENCH_PASSERELLE", "this checkout")}


def with_ratios(results: list[Result], baseline: str) -> list[dict[str, Any]]:
    """Rows with ``ratio``: requests per second over the baseline's, at the same connections."""
    base = {r.connections: r.rps for r in results if r.target == baseline}
    return [{**r.row(), "ratio": round(r.rps / base[r.connections], 3)
             if base.get(r.connections) else None} for r in results]


def table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        lines.append("| " + " | ".join(_cell(row.get(c)) for c in columns) + " |")
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 10 else f"{value:.0f}"
    return "" if value is None else str(value)


def save(sections: dict[str, Any], *, command: str) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC)
    path = RESULTS / f"{now:%Y%m%dT%H%M%SZ}.json"
    path.write_text(json.dumps({"command": command, "at": now.isoformat(),
                                "machine": machine(), "sections": sections}, indent=2) + "\n")
    return path
