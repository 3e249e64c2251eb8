"""The store behind ``connectors.ports.DurableState``: namespaced rows of ``kv``.

Keys are hashed into ``kv.key``, so that any key fits (any length, any character: PostgreSQL
refuses NUL in text and JSON).
"""

from __future__ import annotations

import hashlib
from contextlib import AbstractAsyncContextManager
from typing import Any

import sqlalchemy as sa

from app.store import tables as t
from app.store.store import Store


def _key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class StoreState:
    """``DurableState`` on the hub's store (shared by the API servers and workers)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def get(self, namespace: str, key: str) -> Any:
        found = await self.store.kv_get(namespace, _key(key))
        return None if found is None else found.get("value")

    async def put(self, namespace: str, key: str, value: Any) -> None:
        await self.put_many(namespace, {key: value})

    async def put_many(self, namespace: str, values: dict[str, Any]) -> None:
        if not values:
            return
        k, now = t.kv, self.store.clock()
        async with self.store.engines.write.begin() as conn:
            gone = [_key(key) for key, value in values.items() if value is None]
            if gone:
                await conn.execute(sa.delete(k).where(k.c.namespace == namespace,
                                                       k.c.key.in_(gone)))
            rows = [{"namespace": namespace, "key": _key(key), "value": {"value": value},
                     "updated_at": now} for key, value in values.items() if value is not None]
            if rows:
                stmt = self.store._insert(k).values(rows)
                await conn.execute(stmt.on_conflict_do_update(
                    index_elements=["namespace", "key"],
                    set_={"value": stmt.excluded.value, "updated_at": now}))

    def lock(self, name: str) -> AbstractAsyncContextManager[None]:
        return self.store.lock(name)
