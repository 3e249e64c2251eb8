"""The event envelope every receiver produces and the store keeps."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


def new_id() -> str:
    """A time-ordered unique id (UUIDv7 layout): sorts by creation time, safe across hosts."""
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76  # version 7
    value |= (rand >> 68 & 0xFFF) << 64
    value |= 0b10 << 62  # RFC 4122 variant
    value |= rand & ((1 << 62) - 1)
    # What str(uuid.UUID(int=value)) gives, without building the UUID object (hot path).
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Event:
    """One thing that happened outside, as a flow sees it.

    ``type`` is the trigger kind (``webhook``, ``slack.command``, ``slack.event``,
    ``slack.shortcut``, ``slack.view``, ``notion.page``, ``schedule``); ``source`` names where it
    came from (the webhook source name, ``slack``, ``notion``, ``schedule``). ``dedupe_key`` is
    unique in the store: the same key twice is one event. ``actor`` is who caused it (a Slack
    user id, an email), counted as a contributor in the adoption KPIs.
    """

    source: str
    type: str
    dedupe_key: str
    data: dict[str, Any]
    id: str = field(default_factory=new_id)
    received_at: datetime = field(default_factory=utcnow)
    actor: str | None = None

    def envelope(self) -> dict[str, Any]:
        """What templates see as ``trigger``."""
        return {
            "id": self.id,
            "source": self.source,
            "type": self.type,
            "received_at": self.received_at.isoformat(),
            "actor": self.actor,
        }
