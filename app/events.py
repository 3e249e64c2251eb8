"""The event envelope every receiver produces and the store keeps."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


class _Entropy:
    """``os.urandom`` bytes fetched 4 KiB at a time: one system call per 409 ids, not per id.

    Thread-safe (ids are made on the event loop and on store threads); a forked child starts
    with an empty buffer, so it never repeats its parent's bytes.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._reset()
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        self._buf, self._pos = b"", 0

    def take10(self) -> int:
        with self._lock:
            pos = self._pos
            if pos + 10 > len(self._buf):
                self._buf, pos = os.urandom(4096), 0
            self._pos = pos + 10
            return int.from_bytes(self._buf[pos:pos + 10], "big")


_entropy = _Entropy()


# Events a person made by hand on the CLI (`passerelle run`: tries, dry runs) carry this
# dedupe-key prefix: they are not adoption, and nobody waits in Slack for their outcome.
CLI_KEY_PREFIX = "cli:"


def new_id() -> str:
    """A time-ordered unique id (UUIDv7 layout): sorts by creation time, safe across hosts."""
    ms = time.time_ns() // 1_000_000
    rand = _entropy.take10()
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
    # The provider's own event type of a webhook ("release", "form_response"), when it says one.
    kind: str | None = None

    @property
    def interactive(self) -> bool:
        """A person waits for it (a Slack command, shortcut, modal or reaction): its runs are
        claimed before bulk work and its API calls served first by rate limiters."""
        return self.type.startswith("slack.")

    def envelope(self) -> dict[str, Any]:
        """What templates see as ``trigger``."""
        return {
            "id": self.id,
            "source": self.source,
            "type": self.type,
            "received_at": self.received_at.isoformat(),
            "actor": self.actor,
            "event": self.kind,
        }
