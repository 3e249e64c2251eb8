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

# Outside API quota (issue 18): what each API answered, and how long steps waited for a slot.
API_REQUESTS = Counter(
    "passerelle_api_requests",
    "Requests sent to an outside API, by API and outcome (ok, 429, 5xx, error).",
    ["api", "outcome"],
)
RATE_LIMIT_WAIT = Histogram(
    "passerelle_rate_limit_wait_seconds",
    "Time a step waited for its API's rate limiter before sending a request.",
    ["api"],
    buckets=(0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60),
)
