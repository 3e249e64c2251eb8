"""``similar.find`` and ``similar.index``: earlier feedback that asks for the same thing.

The model runs in this process (connectors/similar/model.py); the vectors live in the store
behind a narrow port (port.py) and in a per-collection in-memory copy (matrix.py). Embedding
and the search run in a thread, never on the event loop. Text without words (empty, emoji
only) is never indexed and never matches: the action answers "nothing found", not an error.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from typing import Any

from pydantic import Field

from app.errors import ConfigError
from app.settings import Settings
from app.stats import MAX_WEEKS
from connectors.base import ActionContext, ActionInput, Connector, PermanentError, action
from connectors.similar.kpis import similar_kpis
from connectors.similar.matrix import Entry, Matrix
from connectors.similar.model import Embedder, Vectors, prepare, shared_embedder
from connectors.similar.port import SimilarStore

RECENT = 64  # texts whose vectors are kept for the next step of the same run
Collection = Field(default="feedback", min_length=1, max_length=100, pattern=r"^[\w.-]+$")


class FindInput(ActionInput):
    text: str = Field(default="", max_length=100_000)
    collection: str = Collection
    threshold: float | None = Field(default=None, ge=0.0, le=1.0,
                                    description="default PASSERELLE_SIMILAR_THRESHOLD")
    limit: int = Field(default=5, ge=1, le=50)
    exclude: str | None = Field(default=None, description="an item id never to return")


class StatsInput(ActionInput):
    collection: str = Collection
    weeks: int = Field(default=1, ge=1, le=MAX_WEEKS)
    include_current: bool = False
    top: int = Field(default=5, ge=1, le=50)
    timezone: str | None = Field(default=None, description="IANA name; default "
                                 "PASSERELLE_TIMEZONE")


class LinkedInput(ActionInput):
    collection: str = Collection
    ids: list[str] = Field(default_factory=list, max_length=1000)
    skip_notify: list[str] = Field(default_factory=list, max_length=1000,
                                   description="people already told another way")


class IndexInput(ActionInput):
    collection: str = Collection
    id: str = Field(min_length=1, max_length=200)
    title: str = Field(default="", max_length=2000)
    url: str = Field(default="", max_length=1000)
    text: str = Field(default="", max_length=100_000)
    reporter: str = Field(default="", max_length=200)
    customer: str = Field(default="", max_length=200)
    notify: str = Field(default="", max_length=200,
                        description="the Slack user to tell when the item ships")
    link_to: str | None = Field(default=None, max_length=200,
                                description="the earlier item this one asks for again")


def _match(entry: Entry, score: float) -> dict[str, Any]:
    return {"id": entry.item_id, "title": entry.title, "url": entry.url,
            "score": round(score, 4), "linked_to": entry.linked_to}


class SimilarConnector(Connector):
    name = "similar"

    def __init__(self, settings: Settings, *, index: SimilarStore | None = None,
                 embedder: Embedder | None = None) -> None:
        super().__init__(settings)
        self.index = index
        self._embedder = embedder
        self._matrices: dict[str, Matrix] = {}
        # A flow embeds the same text twice (find, then index): the second is a lookup.
        self._recent: OrderedDict[str, Vectors] = OrderedDict()

    def _port(self) -> SimilarStore:
        if self.index is None:
            raise PermanentError("similar: no index here; it runs inside `passerelle serve` "
                                 "or `passerelle worker`")
        return self.index

    async def embedder(self) -> Embedder:
        if self._embedder is None:
            # Loading reads 30 MB of weights and a vocabulary: not on the event loop either.
            self._embedder = await asyncio.to_thread(shared_embedder)
        return self._embedder

    async def embed(self, prepared: str) -> Vectors:
        """The vector of one prepared text (in a thread; the last few are remembered)."""
        found = self._recent.get(prepared)
        if found is not None:
            self._recent.move_to_end(prepared)
            return found
        model = await self.embedder()
        vector: Vectors = (await asyncio.to_thread(model.embed, [prepared]))[0]
        self._recent[prepared] = vector
        if len(self._recent) > RECENT:
            self._recent.popitem(last=False)
        return vector

    async def matrix(self, collection: str) -> Matrix:
        model = await self.embedder()
        found = self._matrices.get(collection)
        if found is None or found.model != model.name:
            found = self._matrices[collection] = Matrix(model=model.name, dim=model.dim)
        await found.catch_up(self._port(), collection)
        return found

    async def search(self, text: str, *, collection: str, threshold: float, limit: int,
                     exclude: str | None = None) -> list[dict[str, Any]]:
        """Matches best first; [] for text without words."""
        self._port()  # no index: say so even for text that would match nothing
        prepared = prepare(text)
        if prepared is None:
            return []
        query = await self.embed(prepared)
        matrix = await self.matrix(collection)
        found = await asyncio.to_thread(matrix.search, query, limit=limit, threshold=threshold,
                                        exclude=exclude)
        return [_match(entry, score) for entry, score in found]

    @action("find", FindInput, idempotent=True,
            summary="Indexed items that ask for the same thing, best first (`best`: the "
                    "earlier item to link to, or null)")
    async def find(self, inp: FindInput, ctx: ActionContext) -> dict[str, Any]:
        threshold = self.settings.similar_threshold if inp.threshold is None else inp.threshold
        matches = await self.search(inp.text, collection=inp.collection, threshold=threshold,
                                    limit=inp.limit, exclude=inp.exclude)
        best = None
        # A match that is itself a repeat points at the item it repeats: link to that one, so
        # each request has one original and the demand adds up in one place. An item saved
        # again (``exclude``) may be that original: never link an item to itself.
        top = next((m for m in matches if (m["linked_to"] or m["id"]) != inp.exclude), None)
        if top is not None:
            root = self._matrices[inp.collection].entry(top["linked_to"] or top["id"])
            best = _match(root, top["score"]) if root else top
            demand = await self._port().demand(collection=inp.collection, root_id=best["id"])
            best = {**best, "reporters": len(demand.reporters), "customers": len(demand.customers)}
        return {"matches": matches, "best": best, "count": len(matches), "threshold": threshold}

    @action("index", IndexInput, idempotent=True,
            summary="Add or replace an item; with `link_to`, record it as asking again for "
                    "that item and return the item's demand")
    async def index_item(self, inp: IndexInput, ctx: ActionContext) -> dict[str, Any]:
        port = self._port()
        prepared = prepare(f"{inp.text or inp.title}")
        root_id = None
        if inp.link_to and inp.link_to != inp.id:
            earlier = await port.get(collection=inp.collection, item_id=inp.link_to)
            root_id = (earlier.linked_to or earlier.item_id) if earlier else inp.link_to
            if root_id == inp.id:
                root_id = None
        indexed = prepared is not None
        if prepared is not None:
            model = await self.embedder()
            vector = await self.embed(prepared)
            await port.put(collection=inp.collection, item_id=inp.id, title=inp.title[:500],
                           url=inp.url, text=prepared, model=model.name,
                           vector=vector.tobytes(), reporter=inp.reporter.strip(),
                           customer=inp.customer.strip(), notify=inp.notify.strip(),
                           linked_to=root_id)
        out: dict[str, Any] = {"indexed": indexed, "id": inp.id, "linked_to": root_id}
        if root_id is not None and indexed:
            demand = await port.demand(collection=inp.collection, root_id=root_id)
            me = inp.reporter.strip() or f"item:{inp.id}"  # as the store counts the unsigned
            others = [r for r in demand.reporters if r != me]
            out.update(reporters=len(demand.reporters), customers=len(demand.customers),
                       items=demand.items, others=len(others))
        return out

    @action("linked", LinkedInput, idempotent=True,
            summary="Items linked to the given ones (`items`), and each person to tell once "
                    "(`people`: notify, title, url of their item)")
    async def linked(self, inp: LinkedInput, ctx: ActionContext) -> dict[str, Any]:
        items = await self._port().linked(collection=inp.collection, root_ids=inp.ids)
        seen = {p for p in inp.skip_notify if p}
        people = []
        for item in items:
            if item["notify"] and item["notify"] not in seen:
                seen.add(item["notify"])
                people.append(item)
        return {"items": items, "people": people, "count": len(items)}

    @action("stats", StatsInput, idempotent=True,
            summary="Items linked per ISO week and the most asked-for items, with a ready "
                    "`text` for Slack")
    async def stats(self, inp: StatsInput, ctx: ActionContext) -> dict[str, Any]:
        try:
            return await similar_kpis(self._port(), collection=inp.collection, weeks=inp.weeks,
                                      timezone=inp.timezone or self.settings.timezone,
                                      include_current=inp.include_current, top=inp.top)
        except ConfigError as exc:
            raise PermanentError(f"similar.stats: {exc}") from None
