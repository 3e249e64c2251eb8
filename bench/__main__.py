"""``python -m bench [SUITE|all]``: ingest, slack, paired, peers, worker, quota, notion-items,
time-to-sync, memory.

``make bench`` runs ``all``.

Each sub-command prints a markdown table; the whole run is saved to bench/results/<time>.json.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import ingest, memory, paired, peers, quota, report, sync, worker

INGEST_COLUMNS = ["target", "connections", "rps", "ratio", "p50_ms", "p99_ms", "non2xx",
                  "socket_errors", "pool_wrapped"]


def _ingest(args: argparse.Namespace, workdir: Path) -> list[dict[str, Any]]:
    results = ingest.webhooks(workdir, duration=args.duration, postgres=not args.no_postgres)
    return report.with_ratios(results, "bare FastAPI")


def _slack(args: argparse.Namespace, workdir: Path) -> list[dict[str, Any]]:
    return report.with_ratios(ingest.slack(workdir, duration=args.duration),
                              "slack-bolt AsyncApp")


def _peers(args: argparse.Namespace, workdir: Path) -> list[dict[str, Any]]:
    return report.with_ratios(peers.run(workdir, duration=args.duration), "bare FastAPI")


SUITES: dict[str, tuple[Callable[[argparse.Namespace, Path], list[dict[str, Any]]],
                        list[str]]] = {
    "ingest": (_ingest, INGEST_COLUMNS),
    "slack": (_slack, INGEST_COLUMNS),
    "paired": (lambda a, d: paired.run(d, postgres=not a.no_postgres),
               ["target", "yardstick", "rps", "ratio", "ratio_range", "p99_ms_median",
                "p99_ms_worst", "non2xx", "cpu_ms_per_req"]),
    "peers": (_peers, INGEST_COLUMNS),
    "worker": (lambda a, d: worker.run(d, postgres=not a.no_postgres),
               ["target", "workers", "runs", "runs_per_s", "succeeded", "failed", "unfinished"]),
    "quota": (lambda a, d: quota.run(d),
              ["target", "runs", "requests", "rate_per_s", "share_of_limit", "http_429",
               "succeeded", "failed"]),
    "notion-items": (lambda a, d: sync.notion_items(d, items=a.items) + (
        [] if a.no_postgres else sync.notion_items(d, items=a.items, workers=2, postgres=True)),
        ["target", "items", "confirmed", "confirmed_twice", "pages", "items_per_s",
         "notion_requests", "requests_per_item", "rate_per_s", "busiest_second", "http_429"]),
    "time-to-sync": (lambda a, d: sync.time_to_sync(d),
                     ["target", "commands", "confirmed", "p50_s", "p99_s", "max_s"]),
    "memory": (lambda a, d: memory.run(d),
               ["target", "queued_at_start", "rss_start_mb", "rss_peak_mb", "sampled_s",
                "drained", "runs_per_s"]),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("suite", nargs="?", default="all", choices=[*SUITES, "all"])
    parser.add_argument("--duration", type=int, default=10, help="seconds per measured run")
    parser.add_argument("--items", type=int, default=45, help="notion-items: commands sent")
    parser.add_argument("--no-postgres", action="store_true",
                        help="skip PostgreSQL targets (no server at 127.0.0.1:5432)")
    args = parser.parse_args(argv)
    names = list(SUITES) if args.suite == "all" else [args.suite]
    sections: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="passerelle-bench-") as tmp:
        for name in names:
            run, columns = SUITES[name]
            print(f"## {name}", flush=True)
            sections[name] = rows = run(args, Path(tmp))
            print(report.table(rows, columns) + "\n", flush=True)
    path = report.save(sections, command=" ".join(["python -m bench", *sys.argv[1:]]))
    print(f"saved {path.relative_to(report.ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
