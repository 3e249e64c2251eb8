"""The narrow port through which the similar connector reaches the store.

The connector keeps no durable state of its own: the runtime hands it an object with these
methods (``app.store.similar.SimilarItems``, whose SQL lives with the store). Tests may pass
any object that behaves the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class IndexedItem:
    """One row of the index, as the search needs it."""

    seq: int
    item_id: str
    title: str
    url: str
    model: str
    vector: bytes
    linked_to: str | None


@dataclass(frozen=True)
class Demand:
    """Who asked for one item: the item itself and every item linked to it. An item without
    a reporter counts as one person of its own (``item:<id>``)."""

    items: int
    reporters: tuple[str, ...]
    customers: tuple[str, ...]


class SimilarStore(Protocol):
    async def put(self, *, collection: str, item_id: str, title: str, url: str, text: str,
                  model: str, vector: bytes, reporter: str, customer: str, notify: str,
                  linked_to: str | None) -> None:
        """Insert or replace the item (``linked_to=None`` keeps a link it already had)."""

    async def rows_after(self, *, collection: str, after_seq: int,
                         limit: int) -> list[IndexedItem]:
        """Rows written after ``after_seq``, oldest first (at most ``limit``)."""

    async def get(self, *, collection: str, item_id: str) -> IndexedItem | None:
        """One item by id."""

    async def demand(self, *, collection: str, root_id: str) -> Demand:
        """Distinct reporters and customers of ``root_id`` and the items linked to it."""

    async def linked(self, *, collection: str, root_ids: list[str]) -> list[dict[str, str]]:
        """Items linked to any of ``root_ids``: id, title, url, notify, linked_to."""

    async def clear(self, *, collection: str) -> int:
        """Remove every item of ``collection``; returns how many."""

    async def link_counts(self, *, collection: str, since: datetime) -> list[tuple[datetime, int]]:
        """Creation time of each item linked to an earlier one since ``since`` (one per row)."""

    async def top_demand(self, *, collection: str, limit: int) -> list[dict[str, object]]:
        """The items asked for by the most distinct reporters: id, title, url, reporters,
        customers, items."""
