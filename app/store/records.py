"""Plain records the store returns (dataclasses: no ORM objects leak out)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from app.events import Event

RUN_STATUSES = ("queued", "running", "retrying", "succeeded", "failed")


@dataclass(frozen=True)
class IngestResult:
    event_id: str
    runs: list[str]
    duplicate: bool


@dataclass
class StepRecord:
    step_id: str
    position: int
    action: str
    status: str  # succeeded | failed | skipped
    attempt: int
    started_at: datetime
    finished_at: datetime
    input: Any = None
    output: Any = None
    error: str | None = None
    deduplicated: bool = False


@dataclass
class RunRecord:
    id: str
    event_id: str
    flow: str
    status: str
    attempt: int
    not_before: datetime
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    error: str | None = None
    replays: int = 0
    lease_owner: str | None = None
    event: Event | None = None
    steps: list[StepRecord] = field(default_factory=list)

    def as_dict(self, *, with_steps: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "event_id": self.event_id,
            "flow": self.flow,
            "status": self.status,
            "attempt": self.attempt,
            "created_at": self.created_at.isoformat(),
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "next_attempt_at": self.not_before.isoformat() if self.status == "retrying" else None,
            "error": self.error,
            "replays": self.replays,
        }
        if self.event is not None:
            out["event"] = {**self.event.envelope(), "dedupe_key": self.event.dedupe_key,
                            "data": self.event.data}
        if with_steps:
            out["steps"] = [
                {
                    "id": s.step_id,
                    "position": s.position,
                    "action": s.action,
                    "status": s.status,
                    "attempt": s.attempt,
                    "input": s.input,
                    "output": s.output,
                    "error": s.error,
                    "deduplicated": s.deduplicated,
                    "started_at": s.started_at.isoformat(),
                    "finished_at": s.finished_at.isoformat(),
                }
                for s in self.steps
            ]
        return out
