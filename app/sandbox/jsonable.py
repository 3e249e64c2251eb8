"""Records as JSON values and back: the stand-ins' snapshots (see persist.py)."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any


def plain(value: Any) -> Any:
    """Dataclasses, datetimes and containers as JSON values (datetimes as ISO strings)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, datetime):
        return {"$dt": value.isoformat()}
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def revive(value: Any) -> Any:
    """The inverse of `plain` for datetimes (dataclasses are rebuilt by their owners)."""
    if isinstance(value, dict):
        if value.keys() == {"$dt"}:
            return datetime.fromisoformat(value["$dt"])
        return {k: revive(v) for k, v in value.items()}
    if isinstance(value, list):
        return [revive(v) for v in value]
    return value
