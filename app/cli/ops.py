"""Operations on the store: ``passerelle prune``."""

from __future__ import annotations

from datetime import timedelta

import typer

from app.cli.base import cli, run_async
from app.events import utcnow
from app.settings import Settings
from app.store import Store


@cli.command()
def prune(
    older_than: int = typer.Option(
        None, "--older-than", min=0, metavar="DAYS",
        help="Age cut-off in days (default: PASSERELLE_RETENTION_DAYS)."),
    failed: bool = typer.Option(
        False, "--failed", help="Also delete failed runs (kept by default until replayed)."),
) -> None:
    """Delete finished events and runs older than the cut-off (the worker does it hourly)."""
    settings = Settings()
    days = settings.retention_days if older_than is None else older_than

    async def main() -> int:
        store = await Store.open(settings.database_url)
        try:
            return await store.prune(older_than=utcnow() - timedelta(days=days), failed=failed)
        finally:
            await store.close()

    count = run_async(main())
    kept = "" if failed else " (failed runs kept; add --failed to delete them too)"
    typer.echo(f"pruned {count} event(s) older than {days} day(s) with their runs{kept}")
