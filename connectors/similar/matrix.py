"""An in-memory copy of one collection's vectors, caught up from the store before each search.

Brute force: one matrix product over every vector (50,000 x 256 float32 is 51 MB and a few
milliseconds; docs/performance.md). Rows written by any process reach this copy through
``SimilarStore.rows_after``: only the rows past the last ``seq`` seen are read.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from connectors.similar.model import Vectors
from connectors.similar.port import IndexedItem, SimilarStore

PAGE = 5000  # rows per catch-up query
_blas: Any = None


def one_blas_thread() -> contextlib.AbstractContextManager[Any]:
    """One BLAS thread for a matrix-vector product: more threads only fight over the memory
    bus and the cores the server needs (measured: 45 ms instead of 60 at 50,000 items)."""
    global _blas
    if _blas is None:
        from threadpoolctl import ThreadpoolController

        _blas = ThreadpoolController()
    limit: contextlib.AbstractContextManager[Any] = _blas.limit(limits=1, user_api="blas")
    return limit


@dataclass(slots=True)
class Entry:
    item_id: str
    title: str
    url: str
    linked_to: str | None


@dataclass
class Matrix:
    """Vectors of one collection and one model, by position."""

    model: str
    dim: int
    seq: int = 0
    entries: list[Entry] = field(default_factory=list)
    positions: dict[str, int] = field(default_factory=dict)
    vectors: Vectors = field(default_factory=lambda: np.zeros((0, 0), dtype=np.float32))
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def __post_init__(self) -> None:
        self.vectors = np.zeros((1024, self.dim), dtype=np.float32)

    @property
    def size(self) -> int:
        return len(self.entries)

    async def catch_up(self, port: SimilarStore, collection: str) -> None:
        async with self.lock:
            while True:
                rows = await port.rows_after(collection=collection, after_seq=self.seq, limit=PAGE)
                for row in rows:
                    self._add(row)
                if len(rows) < PAGE:
                    return

    def _add(self, row: IndexedItem) -> None:
        self.seq = max(self.seq, row.seq)
        if row.model != self.model or len(row.vector) != self.dim * 4:
            return  # indexed by another model: `passerelle similar reindex` rewrites it
        entry = Entry(row.item_id, row.title, row.url, row.linked_to)
        vector = np.frombuffer(row.vector, dtype=np.float32)
        at = self.positions.get(row.item_id)
        if at is None:
            at = self.size
            if at == len(self.vectors):
                # grow by half: at 50,000 items a doubling would hold up to 50 MB unused
                grown = np.zeros((max(1024, at + at // 2), self.dim), dtype=np.float32)
                grown[:at] = self.vectors[:at]
                self.vectors = grown
            self.entries.append(entry)
            self.positions[row.item_id] = at
        else:
            self.entries[at] = entry
        self.vectors[at] = vector

    def entry(self, item_id: str) -> Entry | None:
        at = self.positions.get(item_id)
        return None if at is None else self.entries[at]

    def search(self, query: Vectors, *, limit: int, threshold: float,
               exclude: str | None) -> list[tuple[Entry, float]]:
        """The best ``limit`` entries at or above ``threshold`` (CPU: call in a thread)."""
        n = self.size
        if n == 0:
            return []
        with one_blas_thread():
            scores = self.vectors[:n] @ query
        k = min(n, limit + 1)
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        found = []
        for at in top:
            score = float(scores[at])
            entry = self.entries[int(at)]
            if score < threshold or entry.item_id == exclude:
                continue
            found.append((entry, score))
        return found[:limit]
