"""Real-world faults of Notion on demand, for tests and rehearsals (all off by default).

- `error_rate`: that fraction of requests is refused before anything is written, with one of
  `statuses` — 409 `conflict_error`, 500 `internal_server_error`, 502 `bad_gateway`,
  503 `service_unavailable`, 529 `service_unavailable` with `Retry-After` (Notion's overload).
- `slow_rate` / `slow_seconds`: that fraction of answers comes `slow_seconds` late.
- `query_lag_seconds`: search and data source queries see the workspace as it was that long
  ago — a new page is not found yet, an edited one is found with its former values — because
  Notion's search and queries are eventually consistent. Reading a page by id is not lagged.

https://developers.notion.com/reference/status-codes lists the codes; `random` is injectable
so tests can make the draw deterministic.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from app.sandbox.notion_errors import NotionError

MESSAGES = {
    409: ("conflict_error", "Conflict occurred while saving. Please try again."),
    500: ("internal_server_error", "Unexpected error occurred."),
    502: ("bad_gateway", "Bad gateway."),
    503: ("service_unavailable", "Notion is unavailable. Please try again later."),
    529: ("service_unavailable", "Notion is overloaded. Please try again later."),
}


@dataclass
class Faults:
    error_rate: float = 0.0
    statuses: tuple[int, ...] = (409, 500, 502, 503, 529)
    slow_rate: float = 0.0
    slow_seconds: float = 2.0
    query_lag_seconds: float = 0.0
    random: random.Random = field(default_factory=random.Random)

    def __post_init__(self) -> None:
        unknown = [s for s in self.statuses if s not in MESSAGES]
        if unknown or not self.statuses:
            raise ValueError(f"fault statuses must be among {sorted(MESSAGES)}, got {unknown}")
        for name in ("error_rate", "slow_rate"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")

    @property
    def any(self) -> bool:
        return bool(self.error_rate or self.slow_rate or self.query_lag_seconds)

    def delay(self) -> float:
        """Seconds to hold this answer back (0 most of the time)."""
        return self.slow_seconds if self.slow_rate and self.random.random() < self.slow_rate \
            else 0.0

    def check(self) -> None:
        """Raises the drawn fault, if any, as Notion would answer it."""
        if not self.error_rate or self.random.random() >= self.error_rate:
            return
        status = self.random.choice(self.statuses)
        code, message = MESSAGES[status]
        headers = {"Retry-After": "1"} if status == 529 else None
        raise NotionError(status, code, message, headers=headers)
