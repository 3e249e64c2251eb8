"""Fill the similarity index from the Feedback database (feedback filed before the index, or
by hand in Notion). Reads through the Notion connector, writes through ``similar.index``."""

from __future__ import annotations

from typing import Any

from connectors.base import ActionContext
from connectors.notion.connector import FindPagesInput, NotionConnector
from connectors.similar.connector import IndexInput, SimilarConnector

MAX_PAGES = 1000  # one query of the Notion connector (notion.find_pages's own bound)


def _text(value: Any) -> str:
    if isinstance(value, list):
        return str(value[0]) if value else ""
    return "" if value is None else str(value)


def index_input(page: dict[str, Any], collection: str) -> IndexInput:
    """What the feedback flows would have indexed for this page."""
    props = page.get("properties") or {}
    slack_id = _text(props.get("Reporter Slack ID"))
    return IndexInput(
        collection=collection, id=str(page["id"]), title=str(page.get("title") or "")[:2000],
        url=str(page.get("url") or "")[:1000],
        text=(_text(props.get("Details")) or str(page.get("title") or ""))[:100_000],
        reporter=(_text(props.get("Reporter")) or slack_id)[:200],
        customer=_text(props.get("Customer"))[:200], notify=slack_id[:200],
        link_to=_text(props.get("Same as")) or None)


async def reindex(*, notion: NotionConnector, similar: SimilarConnector, database: str,
                  collection: str = "feedback") -> dict[str, int]:
    """Index every page of ``database`` (oldest first); returns counts."""
    ctx = ActionContext(run_id="reindex", flow="similar-reindex", step_id="pages")
    found = await notion.find_pages(
        FindPagesInput(database=database, sort="Created", limit=MAX_PAGES), ctx)
    counts = {"pages": 0, "indexed": 0, "linked": 0, "skipped": 0}
    # Originals first, so a repeat finds the item it points at already indexed.
    pages = sorted(found["pages"], key=lambda p: bool(_text((p.get("properties") or {})
                                                            .get("Same as"))))
    for page in pages:
        counts["pages"] += 1
        out = await similar.index_item(index_input(page, collection), ctx)
        counts["indexed" if out["indexed"] else "skipped"] += 1
        counts["linked"] += bool(out["indexed"] and out["linked_to"])
    return counts


async def index_sandbox_demo(*, similar: SimilarConnector, pages: list[dict[str, Any]],
                             collection: str = "feedback") -> int:
    """Start the index afresh with the sandbox's demo pages (stand-in pages as Notion returns
    them). Called only when the stand-in's Feedback database is new (a first start, or kept
    state that was lost), whose pages have new ids: rows of an earlier workspace point at
    pages that no longer exist, and a link to one would fail."""
    from connectors.notion.properties import page_to_plain

    port = similar._port()
    await port.clear(collection=collection)
    ctx = ActionContext(run_id="sandbox-demo", flow="sandbox-demo", step_id="index")
    for page in pages:
        await similar.index_item(index_input(page_to_plain(page), collection), ctx)
    return len(pages)
