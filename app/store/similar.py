"""SQL of the similarity index (``connectors.similar.port.SimilarStore``), on both backends."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from app.events import utcnow
from app.store import tables as t
from app.store.engines import Engines
from connectors.similar.port import Demand, IndexedItem

_items = t.similar_items
ANONYMOUS = "item:"


def anonymous(item_id: str) -> str:
    """The reporter of an item without one: itself (a request nobody signed is still one)."""
    return ANONYMOUS + item_id
_COLUMNS = (_items.c.seq, _items.c.item_id, _items.c.title, _items.c.url, _items.c.model,
            _items.c.vector, _items.c.linked_to)


def _item(row: Any) -> IndexedItem:
    return IndexedItem(seq=int(row.seq), item_id=row.item_id, title=row.title, url=row.url,
                       model=row.model, vector=bytes(row.vector), linked_to=row.linked_to)


class SimilarItems:
    """The index table, read and written through the store's engines."""

    def __init__(self, engines: Engines) -> None:
        self.engines = engines

    async def put(self, *, collection: str, item_id: str, title: str, url: str, text: str,
                  model: str, vector: bytes, reporter: str, customer: str, notify: str,
                  linked_to: str | None) -> None:
        where = sa.and_(_items.c.collection == collection, _items.c.item_id == item_id)
        async with self.engines.write.begin() as conn:
            if linked_to is None:
                linked_to = (await conn.execute(sa.select(_items.c.linked_to).where(where))
                             ).scalar()
            # Delete and insert (not update): the new row gets a new seq, which is how other
            # processes' in-memory copies learn that the vector changed.
            await conn.execute(sa.delete(_items).where(where))
            await conn.execute(sa.insert(_items).values(
                collection=collection, item_id=item_id, title=title[:500], url=url[:1000],
                text=text, model=model, vector=vector, reporter=reporter[:200],
                customer=customer[:200], notify=notify[:200], linked_to=linked_to,
                created_at=utcnow()))

    async def rows_after(self, *, collection: str, after_seq: int,
                         limit: int) -> list[IndexedItem]:
        q = (sa.select(*_COLUMNS)
             .where(_items.c.collection == collection, _items.c.seq > after_seq)
             .order_by(_items.c.seq).limit(limit))
        async with self.engines.read.connect() as conn:
            return [_item(r) for r in await conn.execute(q)]

    async def get(self, *, collection: str, item_id: str) -> IndexedItem | None:
        q = sa.select(*_COLUMNS).where(_items.c.collection == collection,
                                       _items.c.item_id == item_id)
        async with self.engines.read.connect() as conn:
            row = (await conn.execute(q)).first()
        return None if row is None else _item(row)

    async def demand(self, *, collection: str, root_id: str) -> Demand:
        # Two indexed look-ups, not one OR (which both backends answer with a full scan:
        # 0.5 s at 50,000 items).
        cols = (_items.c.item_id, _items.c.reporter, _items.c.customer)
        q = sa.union_all(
            sa.select(*cols).where(_items.c.collection == collection,
                                   _items.c.item_id == root_id),
            sa.select(*cols).where(_items.c.collection == collection,
                                   _items.c.linked_to == root_id))
        async with self.engines.read.connect() as conn:
            rows = (await conn.execute(q)).all()
        return Demand(items=len(rows),
                      reporters=tuple(sorted({r.reporter or anonymous(r.item_id)
                                              for r in rows})),
                      customers=tuple(sorted({r.customer for r in rows if r.customer})))

    async def linked(self, *, collection: str, root_ids: list[str]) -> list[dict[str, str]]:
        if not root_ids:
            return []
        q = (sa.select(_items.c.item_id, _items.c.title, _items.c.url, _items.c.notify,
                       _items.c.linked_to)
             .where(_items.c.collection == collection, _items.c.linked_to.in_(root_ids))
             .order_by(_items.c.seq))
        async with self.engines.read.connect() as conn:
            return [{"id": r.item_id, "title": r.title, "url": r.url, "notify": r.notify,
                     "linked_to": r.linked_to} for r in await conn.execute(q)]

    async def clear(self, *, collection: str) -> int:
        async with self.engines.write.begin() as conn:
            done = await conn.execute(sa.delete(_items).where(_items.c.collection == collection))
        return int(done.rowcount or 0)

    async def link_counts(self, *, collection: str, since: datetime) -> list[tuple[datetime, int]]:
        q = sa.select(_items.c.created_at).where(
            _items.c.collection == collection, _items.c.linked_to.is_not(None),
            _items.c.created_at >= since)
        async with self.engines.read.connect() as conn:
            return [(r.created_at, 1) for r in await conn.execute(q)]

    async def top_demand(self, *, collection: str, limit: int) -> list[dict[str, object]]:
        root = sa.func.coalesce(_items.c.linked_to, _items.c.item_id)
        # an item nobody signed counts as one person of its own, as in demand()
        reporters = sa.func.count(sa.distinct(sa.func.coalesce(
            sa.func.nullif(_items.c.reporter, ""), ANONYMOUS + _items.c.item_id)))
        customers = sa.func.count(sa.distinct(sa.func.nullif(_items.c.customer, "")))
        groups = (sa.select(root.label("root"), reporters.label("reporters"),
                            customers.label("customers"), sa.func.count().label("items"))
                  .where(_items.c.collection == collection)
                  .group_by(root).having(sa.func.count() > 1)
                  .order_by(reporters.desc(), sa.func.count().desc()).limit(limit)
                  .subquery())
        q = (sa.select(groups, _items.c.title, _items.c.url)
             .join(_items, sa.and_(_items.c.collection == collection,
                                   _items.c.item_id == groups.c.root))
             .order_by(groups.c["reporters"].desc(), groups.c["items"].desc()))
        async with self.engines.read.connect() as conn:
            return [{"id": r.root, "title": r.title, "url": r.url, "reporters": int(r.reporters),
                     "customers": int(r.customers), "items": int(r.items)}
                    for r in await conn.execute(q)]
