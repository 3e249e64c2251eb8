"""CPU-heavy pure work of a step, run in a worker process (issue 15).

A thread is not enough: a conversion that holds the GIL for seconds still slows every request
the event loop answers meanwhile (measured: 0.3-2 s per request while 1 MiB of markdown
converted in a thread). One spawned worker process takes such work, one job at a time, so a
flow can use at most one more core however many big jobs arrive. It starts on first use.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from app.errors import RetryableError

T = TypeVar("T")
_pool: ProcessPoolExecutor | None = None
_lock = threading.Lock()


def _executor() -> ProcessPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            # spawn, not fork: the hub runs threads (the database drivers'), which a forked
            # child would inherit in whatever state they were.
            _pool = ProcessPoolExecutor(max_workers=1,
                                        mp_context=multiprocessing.get_context("spawn"))
        return _pool


def _forget(broken: ProcessPoolExecutor) -> None:
    global _pool
    with _lock:
        if _pool is broken:
            _pool = None


async def run(fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` in the worker process; ``fn`` and its arguments must pickle.

    A worker that dies (killed, out of memory) is replaced on the next call; this call fails
    with a RetryableError so the runner's retry policy decides.
    """
    pool = _executor()
    try:
        return await asyncio.get_running_loop().run_in_executor(pool, fn, *args)
    except BrokenProcessPool:
        _forget(pool)
        raise RetryableError("the worker process for CPU-heavy steps stopped; "
                             "the step will be retried") from None
