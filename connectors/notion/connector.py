"""``notion.*`` actions: schema-aware page writes, idempotent upserts, content and comments.

Flows give plain values; the connector converts them with the data source's schema (see
``properties.py`` and docs/notion.md). Every output carries the page's ``id``, ``url``,
``title`` and ``properties`` as plain values, so later steps can use them.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from pydantic import Field

from app.errors import PermanentError, RetryableError
from app.settings import Settings
from connectors import offload
from connectors.base import ActionContext, ActionInput, Connector, action
from connectors.notion.blocks import INLINE_MARKDOWN_CHARS, batches, markdown_to_blocks
from connectors.notion.client import NotionApi
from connectors.notion.count import count_into, set_once
from connectors.notion.keyindex import KeyIndex
from connectors.notion.properties import page_to_plain, rich_text
from connectors.notion.schema import DataSource, Schemas, notion_id
from connectors.notion.upsert import upsert
from connectors.notion.values import DEFAULT_KEY_PROPERTY, ValueResolver, query_pages, where_filter
from connectors.ports import DurableState, SharedQuota

Ref = Field(min_length=1, max_length=2000)
PAGE_SOURCES = 10_000  # pages whose data source this process remembers


class CreatePageInput(ActionInput):
    database: str = Ref
    properties: dict[str, Any] = Field(default_factory=dict)
    content: str | None = None  # markdown appended as the page body


class UpdatePageInput(ActionInput):
    page: str = Ref
    properties: dict[str, Any] = Field(default_factory=dict)
    content: str | None = None
    skip_empty: bool = False  # leave properties whose value is empty as they are
    # A page trashed meanwhile (by a person) is left alone: ``{"archived": true}`` instead of a
    # failed run, for steps that touch a page found earlier (similar feedback's demand).
    skip_archived: bool = False


class UpsertPageInput(ActionInput):
    database: str = Ref
    key: str | int = Field(...)
    properties: dict[str, Any] = Field(default_factory=dict)
    key_property: str = DEFAULT_KEY_PROPERTY
    content: str | None = None  # written when the page is created or still has no body
    # Written only when the upsert creates the page: defaults and first-save facts (Reporter)
    # that a later event must not overwrite. ``properties`` win over them on create.
    on_create: dict[str, Any] = Field(default_factory=dict)
    skip_empty: bool = False  # leave properties whose value is empty as they are
    # The page collects many items (a sprint's retro page): finding it is expected, and is
    # not counted as a double entry avoided.
    shared: bool = False


class SetOnceInput(ActionInput):
    page: str = Ref
    property: str = Field(min_length=1, max_length=200)  # a checkbox


class CountItemsInput(ActionInput):
    page: str = Ref
    property: str = Field(min_length=1, max_length=200)
    block_type: str | None = "bulleted_list_item"  # null counts every top-level block


class AppendInput(ActionInput):
    page: str = Ref
    text: str = Field(min_length=1)


class FindPagesInput(ActionInput):
    database: str = Ref
    where: dict[str, Any] = Field(default_factory=dict)
    sort: str | None = None  # a property name; "-Name" for descending
    limit: int = Field(default=100, ge=1, le=1000)


class GetPageInput(ActionInput):
    page: str = Ref


class CommentInput(ActionInput):
    page: str = Ref
    text: str = Field(min_length=1)


def without_empty(values: dict[str, Any]) -> dict[str, Any]:
    """``values`` without those that carry nothing: None, blank text, an empty list."""
    return {k: v for k, v in values.items()
            if v is not None and not (isinstance(v, str) and not v.strip())
            and not (isinstance(v, list | dict) and not v)}


def page_id(ref: str) -> str:
    found = notion_id(ref)
    if found is None:
        raise PermanentError(f"notion: {ref!r} is not a page id or URL")
    return found


def page_output(page: dict[str, Any], ds: DataSource | None, **extra: Any) -> dict[str, Any]:
    out = page_to_plain(page)
    out["database_id"] = ds.database_id if ds else None
    out["data_source_id"] = ds.id if ds else None
    out.update(extra)
    return out


class NotionConnector(Connector):
    name = "notion"

    def __init__(self, settings: Settings, *, state: DurableState | None = None,
                 quota: SharedQuota | None = None) -> None:
        super().__init__(settings)
        self._api: NotionApi | None = None
        self._schemas: Schemas | None = None
        self.key_locks: dict[str, asyncio.Lock] = {}
        # Upserts of one key are serialised across the hub's processes through ``state``
        # (the store), which also keeps the key → page index; ``quota`` is the store's
        # shared rate limiter, one Notion quota for all processes.
        self.state = state
        self.quota = quota
        self.keys = KeyIndex(state)
        # Page bodies go as markdown with the create (one request); false: block appends.
        self.markdown = settings.notion_markdown_content
        self._page_sources: dict[str, str] = {}  # page id → data source id, oldest first

    @property
    def sandbox(self) -> bool:
        return self.settings.notion_sandbox

    @property
    def api(self) -> NotionApi:
        if self._api is None:
            self._api = NotionApi(self.settings, quota=self.quota)
        return self._api

    @property
    def schemas(self) -> Schemas:
        if self._schemas is None:
            self._schemas = Schemas(self.api)
        return self._schemas

    @property
    def values(self) -> ValueResolver:
        return ValueResolver(self.api, self.schemas)

    async def page_source(self, page: dict[str, Any]) -> DataSource | None:
        parent = page.get("parent") or {}
        source = parent.get("data_source_id")
        return await self.schemas.data_source(str(source)) if source else None

    async def fetch_page(self, ref: str) -> dict[str, Any]:
        return await self.api.call(f"notion: page {ref}", self.api.sdk.pages.retrieve,
                                   page_id=page_id(ref))

    async def to_blocks(self, text: str) -> list[dict[str, Any]]:
        """``text`` as Notion blocks. Linear, but a megabyte is seconds of CPU: in the worker
        process, so ingest and health checks keep answering meanwhile (issue 15). Short texts
        stay inline, where the hop would cost more than the conversion."""
        if len(text) <= INLINE_MARKDOWN_CHARS:
            return markdown_to_blocks(text)
        blocks: list[dict[str, Any]] = await offload.run(markdown_to_blocks, text)
        return blocks

    async def write_content(self, page: str, text: str) -> int:
        """Append markdown as blocks, 100 per request; returns the number of blocks."""
        blocks = await self.to_blocks(text)
        done = 0
        for batch in batches(blocks, 100):
            for attempt in range(4):
                try:
                    await self.api.call(
                        f"notion: append to {page}", self.api.sdk.blocks.children.append,
                        safe_to_repeat=False, block_id=page, children=batch)
                    break
                except RetryableError as exc:
                    if done == 0:
                        raise  # nothing written yet: the runner may retry the whole step
                    if attempt == 3:  # retrying the step would repeat earlier batches
                        raise PermanentError(
                            f"notion: appended {done} of {len(blocks)} blocks, then: "
                            f"{exc.message}") from exc
                    await asyncio.sleep(min(exc.retry_after or 2.0 ** attempt, 30.0))
            done += len(batch)
        return done

    async def create_with_content(self, ds: DataSource, props: dict[str, Any],
                                  content: str | None, *,
                                  safe_to_repeat: bool = False
                                  ) -> tuple[dict[str, Any], int | None]:
        """Create a page with ``content`` as its body in one request (Notion's ``markdown``
        parameter); returns the page and its number of blocks. ``None`` blocks: the body is
        still to write (markdown off, or refused by the API) — the caller records the page
        first, then appends (``write_content``), so that a failed append is resumed, never
        answered by a second page."""
        what = f"notion: create page in {ds.title!r}"
        parent = {"type": "data_source_id", "data_source_id": ds.id}
        blocks = await self.to_blocks(content) if content else []
        # A long body goes as appends of 100 blocks: one request of it could pass Notion's
        # 500 KB payload and 1,000 blocks per request.
        inline = len(content or "") <= INLINE_MARKDOWN_CHARS and len(blocks) <= 1000
        if blocks and self.markdown and inline:
            try:
                page = await self.api.call(what, self.api.sdk.pages.create,
                                           safe_to_repeat=safe_to_repeat, parent=parent,
                                           properties=props, markdown=content)
                return page, len(blocks)
            except PermanentError as error:
                if "markdown" not in str(error):
                    raise
                self.markdown = False  # this API does not take it: appends from now on
        page = await self.api.call(what, self.api.sdk.pages.create,
                                   safe_to_repeat=safe_to_repeat, parent=parent,
                                   properties=props)
        return page, (None if blocks else 0)

    @contextlib.asynccontextmanager
    async def schema_checked(self, *refs: str) -> AsyncIterator[None]:
        """A write refused as invalid, or an object gone, may come from a cached schema that
        changed in Notion: forget it, so the retry (or next run) reads it again."""
        try:
            yield
        except PermanentError as error:
            text = str(error)
            if "validation_error" in text or "object_not_found" in text or "Could not find" in text:
                for ref in refs:
                    self.schemas.forget(ref)
            raise

    def seen(self, page: dict[str, Any]) -> dict[str, Any]:
        """Remember which data source holds ``page`` (a bounded map), so that an update of it
        needs no read first; returns the page."""
        source = (page.get("parent") or {}).get("data_source_id")
        if source and page.get("id"):
            self._page_sources.pop(str(page["id"]), None)
            self._page_sources[str(page["id"])] = str(source)
            while len(self._page_sources) > PAGE_SOURCES:
                self._page_sources.pop(next(iter(self._page_sources)))
        return page

    async def has_content(self, page: str) -> bool:
        listing = await self.api.call(f"notion: content of {page}",
                                      self.api.sdk.blocks.children.list, block_id=page,
                                      page_size=1)
        return bool(listing.get("results"))

    # ---- actions ---------------------------------------------------------------------------

    @action("create_page", CreatePageInput, summary="Create a page in a database")
    async def create_page(self, inp: CreatePageInput, ctx: ActionContext) -> dict[str, Any]:
        ds = await self.schemas.resolve(inp.database)
        # A retry of this step after its create (e.g. a 429 on a content append) resumes
        # with the page made before instead of creating a second one.
        made = None if ctx.dry_run else await self.keys.step_page(ctx.idempotency_key)
        if made is not None:
            page = await self.fetch_page(made)
            blocks = 0
            if inp.content and not await self.has_content(made):
                blocks = await self.write_content(made, inp.content)
            return page_output(page, ds, created=True, deduplicated=False, blocks=blocks,
                               resumed=True)
        props = await self.values.convert(ds, inp.properties)
        async with self.schema_checked(inp.database, ds.id):
            page, blocks = await self._create_recorded(ds, props, inp.content, ctx)
        return page_output(self.seen(page), ds, created=True, deduplicated=False, blocks=blocks)

    async def _create_recorded(self, ds: DataSource, props: dict[str, Any],
                               content: str | None,
                               ctx: ActionContext) -> tuple[dict[str, Any], int]:
        page, blocks = await self.create_with_content(ds, props, content)
        if not ctx.dry_run:  # recorded before any append, which may fail and be retried
            await self.keys.remember_step(ctx.idempotency_key, page["id"])
        if blocks is None:
            blocks = await self.write_content(page["id"], content or "")
        return page, blocks

    @action("update_page", UpdatePageInput, summary="Update the named properties of a page",
            idempotent=True)
    async def update_page(self, inp: UpdatePageInput, ctx: ActionContext) -> dict[str, Any]:
        try:
            return await self._update_page(inp)
        except PermanentError as error:
            if not (inp.skip_archived and "archived" in str(error)):
                raise
            return {"id": page_id(inp.page), "archived": True, "updated": False}

    async def _update_page(self, inp: UpdatePageInput) -> dict[str, Any]:
        known = self._page_sources.get(page_id(inp.page))
        if known is not None and inp.properties:
            # A page this process wrote or read: its schema is known, no need to read it first.
            source = await self.schemas.data_source(known)
            props = await self.values.convert(source, inp.properties)
            if props:
                async with self.schema_checked(source.id):
                    page = await self.api.call(f"notion: update page {inp.page}",
                                               self.api.sdk.pages.update,
                                               page_id=page_id(inp.page), properties=props)
                blocks = await self.write_content(page["id"], inp.content) if inp.content else 0
                return page_output(self.seen(page), source, created=False, blocks=blocks)
        current = self.seen(await self.fetch_page(inp.page))
        ds = await self.page_source(current)
        if ds is None:
            ds = DataSource(id="", database_id="", title="page", properties={
                n: {"type": v.get("type")} for n, v in current.get("properties", {}).items()})
        wanted = without_empty(inp.properties) if inp.skip_empty else inp.properties
        props = await self.values.convert(ds, wanted)
        page = current
        if props:
            page = await self.api.call(f"notion: update page {inp.page}",
                                       self.api.sdk.pages.update, page_id=current["id"],
                                       properties=props)
        blocks = await self.write_content(page["id"], inp.content) if inp.content else 0
        return page_output(page, ds if ds.id else None, created=False, blocks=blocks)

    @action("upsert_page", UpsertPageInput,
            summary="Update the page with this key, or create it (never two pages per key)",
            idempotent=True)
    async def upsert_page(self, inp: UpsertPageInput, ctx: ActionContext) -> dict[str, Any]:
        ds = await self.schemas.resolve(inp.database)
        wanted = without_empty(inp.properties) if inp.skip_empty else inp.properties
        first = without_empty(inp.on_create) if inp.skip_empty else inp.on_create
        props = await self.values.convert(ds, wanted)
        on_create = await self.values.convert(
            ds, {k: v for k, v in first.items() if k not in wanted})
        async with self.schema_checked(inp.database, ds.id):
            result = await upsert(self, ds, key=str(inp.key), key_property=inp.key_property,
                                  props=props, on_create=on_create, content=inp.content)
        blocks = result.blocks
        if inp.content and not result.created and not await self.has_content(
                result.page["id"]):
            blocks = await self.write_content(result.page["id"], inp.content)
        return page_output(self.seen(result.page), ds, created=result.created,
                           deduplicated=not result.created, archived_duplicates=result.archived,
                           blocks=blocks, shared=inp.shared)

    @action("append", AppendInput, summary="Append markdown text to a page as blocks")
    async def append(self, inp: AppendInput, ctx: ActionContext) -> dict[str, Any]:
        target = page_id(inp.page)
        count = await self.write_content(target, inp.text)
        return {"page_id": target, "blocks": count}

    @action("count_items", CountItemsInput, idempotent=True,
            summary="Count a page's blocks (bullets by default) into a number property")
    async def count_items(self, inp: CountItemsInput, ctx: ActionContext) -> dict[str, Any]:
        return await count_into(self, page=page_id(inp.page), prop=inp.property,
                                block_type=inp.block_type)

    @action("set_once", SetOnceInput, idempotent=True,
            summary="Tick a checkbox if not ticked yet; `claimed` says whether this run did")
    async def set_once(self, inp: SetOnceInput, ctx: ActionContext) -> dict[str, Any]:
        return await set_once(self, page=page_id(inp.page), prop=inp.property)

    @action("find_pages", FindPagesInput, summary="Find pages whose properties equal values",
            idempotent=True)
    async def find_pages(self, inp: FindPagesInput, ctx: ActionContext) -> dict[str, Any]:
        ds = await self.schemas.resolve(inp.database)
        where = await self.values.resolve_where(ds, inp.where)
        sorts = None
        if inp.sort:
            name = inp.sort.lstrip("-")
            if name not in ds.properties:
                raise PermanentError(f'notion: sort: no property "{name}" in {ds.title!r}')
            direction = "descending" if inp.sort.startswith("-") else "ascending"
            sorts = [{"property": name, "direction": direction}]
        pages = await query_pages(self.api, ds, where_filter(ds, where), limit=inp.limit,
                                  sorts=sorts)
        found = [page_output(p, ds) for p in pages]
        return {"pages": found, "count": len(found), "first": found[0] if found else None}

    @action("get_page", GetPageInput, summary="Read a page's properties", idempotent=True)
    async def get_page(self, inp: GetPageInput, ctx: ActionContext) -> dict[str, Any]:
        page = self.seen(await self.fetch_page(inp.page))
        return page_output(page, await self.page_source(page))

    @action("comment", CommentInput, summary="Add a comment to a page")
    async def comment(self, inp: CommentInput, ctx: ActionContext) -> dict[str, Any]:
        target = page_id(inp.page)
        try:
            text = rich_text(inp.text)
        except ValueError as exc:
            raise PermanentError(f"notion.comment: {exc}") from None
        made = await self.api.call(f"notion: comment on {target}", self.api.sdk.comments.create,
                                   safe_to_repeat=False, parent={"page_id": target},
                                   rich_text=text)
        return {"id": made.get("id"), "page_id": target,
                "discussion_id": made.get("discussion_id")}

    async def aclose(self) -> None:
        if self._api is not None:
            await self._api.aclose()
            self._api = None
