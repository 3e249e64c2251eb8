"""Prometheus metrics (served at ``GET /metrics``)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

EVENTS_RECEIVED = Counter(
    "passerelle_events_received_total",
    "Requests received, by source and outcome (accepted, duplicate, rejected status).",
    ["source", "outcome"],
)
RUNS_FINISHED = Counter(
    "passerelle_runs_total", "Runs that reached a status, by flow and status.", ["flow", "status"]
)
STEP_SECONDS = Histogram(
    "passerelle_step_seconds",
    "Time spent in one step's action call, by action and outcome.",
    ["action", "outcome"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
QUEUE_DEPTH = Gauge("passerelle_queue_depth", "Runs waiting for a worker (queued or retrying).")
