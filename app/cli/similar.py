"""``passerelle similar find|reindex``: the similarity index of the hub's store."""

from __future__ import annotations

from typing import Any

import typer

from app.cli.base import cli, echo_json, run_async, table
from app.settings import Settings
from app.store import Store
from app.store.durable import StoreState
from app.store.quota import StoreQuota
from app.store.similar import SimilarItems
from connectors.notion.connector import NotionConnector
from connectors.similar import SimilarConnector
from connectors.similar.reindex import reindex as reindex_pages

similar = typer.Typer(help="Similar feedback: search and fill the index.", no_args_is_help=True)
cli.add_typer(similar, name="similar")


@similar.command()
def find(
    text: str = typer.Argument(..., help="The request to look for."),
    limit: int = typer.Option(10, "--limit", min=1, max=50, help="How many items."),
    collection: str = typer.Option("feedback", "--collection"),
    as_json: bool = typer.Option(False, "--json", help='A JSON list of {"id", "title", '
                                 '"url", "score"}, best first.'),
) -> None:
    """Indexed items by similarity to TEXT, best first (all scores, not only links)."""
    settings = Settings()

    async def main() -> list[dict[str, Any]]:
        store = await Store.open(settings.database_url)
        try:
            connector = SimilarConnector(settings, index=SimilarItems(store.engines))
            return await connector.search(text, collection=collection, threshold=-1.0,
                                          limit=limit)
        finally:
            await store.close()

    matches = [{k: m[k] for k in ("id", "title", "url", "score")} for m in run_async(main())]
    if as_json:
        echo_json(matches)
        return
    threshold = settings.similar_threshold
    typer.echo(f"{len(matches)} item(s); a new item is linked at score >= {threshold}")
    table([{**m, "link": "yes" if m["score"] >= threshold else ""} for m in matches],
          ["score", "link", "title", "url"])


@similar.command()
def reindex(
    collection: str = typer.Option("feedback", "--collection"),
) -> None:
    """Index every page of the Feedback database (NOTION_FEEDBACK_DB, or the one titled
    Feedback), e.g. feedback filed before the index existed."""
    settings = Settings()
    database = settings.env("NOTION_FEEDBACK_DB") or "Feedback"

    async def main() -> dict[str, int]:
        store = await Store.open(settings.database_url)
        notion = NotionConnector(settings, state=StoreState(store), quota=StoreQuota(store))
        try:
            connector = SimilarConnector(settings, index=SimilarItems(store.engines))
            return await reindex_pages(notion=notion, similar=connector, database=database,
                                       collection=collection)
        finally:
            await notion.aclose()
            await store.close()

    counts = run_async(main())
    where = "the sandbox stand-in" if settings.notion_sandbox else "Notion"
    typer.echo(f"{counts['pages']} page(s) of {database} in {where}: {counts['indexed']} "
               f"indexed ({counts['linked']} linked to an earlier one), {counts['skipped']} "
               f"without words skipped")
