"""Reloading the flows folder while ``serve`` runs: on a change of its files, and on SIGHUP.

A new set replaces the running one only when it lints clean; otherwise the running flows stay
and the problems are shown (log, dashboard, ``/readyz``). The swap happens in place on the one
``FlowSet`` every part of the process holds (receivers, worker, Notion watcher), between two
turns of the event loop, so a request sees either the old set or the new one, never a mix.
Reading and linting the files runs in a thread: it is CPU work and must not hold the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from app.engine.loader import FlowSet
from app.events import utcnow

log = logging.getLogger("passerelle")

Signature = tuple[tuple[str, int, int], ...]


def folder_signature(folder: Path) -> Signature:
    """Name, modification time and size of each YAML file of the folder (not its subfolders,
    which the loader does not read either)."""
    if folder.is_file():
        paths = [folder]
    elif folder.is_dir():
        paths = sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml"))
    else:
        return ()
    out = []
    for path in paths:
        with contextlib.suppress(OSError):  # removed between listing and stat
            st = path.stat()
            out.append((path.name, st.st_mtime_ns, st.st_size))
    return tuple(out)


@dataclass
class FlowReloader:
    """Watches ``folder`` and swaps ``flows`` for a clean new set; keeps its last outcome."""

    flows: FlowSet
    folder: Path
    load: Callable[[], FlowSet]
    interval: float = 1.0
    status: str = "loaded"  # loaded | reloaded | rejected
    checked_at: datetime | None = None
    problems: list[str] = field(default_factory=list)
    _signature: Signature = ()
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _stopped: bool = False

    def details(self) -> dict[str, Any]:
        """What ``/readyz`` shows: the last reload's outcome and, if rejected, why."""
        return {"status": self.status, "problems": self.problems,
                "checked_at": self.checked_at.isoformat() if self.checked_at else None}

    def request(self) -> None:
        """Reload now (SIGHUP), whether or not a file changed."""
        self._signature = ()
        self._wake.set()

    def halt(self) -> None:
        """Stop watching (``run`` returns at once, not after its interval)."""
        self._stopped = True
        self._wake.set()

    async def run(self) -> None:
        self._signature = await asyncio.to_thread(folder_signature, self.folder)
        with contextlib.suppress(ValueError, RuntimeError, NotImplementedError):
            # Only in the main thread, and not on every platform (the tests' servers run in
            # a thread): there the folder is still watched.
            asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, self.request)
        while not self._stopped:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.interval):
                    await self._wake.wait()
            self._wake.clear()
            if self._stopped:
                break
            try:
                await self.check()
            except Exception:  # a reload must never take the server down
                log.exception("flow reload failed")

    async def check(self) -> bool:
        """Reload if the folder changed; True when a new set was put in place."""
        signature = await asyncio.to_thread(folder_signature, self.folder)
        if signature == self._signature:
            return False
        self._signature = signature
        new = await asyncio.to_thread(self.load)
        self.checked_at = utcnow()
        if new.problems:
            self.status = "rejected"
            self.problems = [str(p) for p in new.problems]
            self.flows.problems = list(new.problems)
            for problem in self.problems:
                log.error("flow reload rejected, the running flows stay",
                          extra={"problem": problem})
            return False
        self.flows.flows, self.flows.files, self.flows.problems = new.flows, new.files, []
        self.status, self.problems = "reloaded", []
        log.info("flows reloaded", extra={"flows": len(new.flows)})
        return True
