"""``passerelle stats``: the adoption KPIs as a table, or as JSON."""

from __future__ import annotations

from typing import Any

import typer

from app.cli.base import cli, echo_json, run_async, table
from app.engine.loader import load_flows
from app.settings import Settings
from app.stats import MAX_WEEKS, kpis
from app.stats_text import duration
from app.store import Store
from connectors.registry import Connectors

COLUMNS = ["flow", "week", "events", "succeeded", "failed", "pending", "duplicates_prevented",
           "contributors", "median", "p95"]


def rows(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per flow and week, then the all-flows total of each week."""
    out: list[dict[str, Any]] = []
    for name, weeks in [*((f["flow"], f["weeks"]) for f in doc["flows"]),
                        ("(all flows)", doc["totals"]["weeks"])]:
        for k in weeks:
            out.append({**k, "flow": name, "median": duration(k["median_seconds"]),
                        "p95": duration(k["p95_seconds"])})
    return out


@cli.command()
def stats(
    weeks: int = typer.Option(4, "--weeks", min=1, max=MAX_WEEKS,
                              help="How many ISO weeks, ending with the current one."),
    timezone: str = typer.Option(None, "--timezone",
                                 help="IANA time zone of the weeks (default PASSERELLE_TIMEZONE)."),
    as_json: bool = typer.Option(False, "--json", help="The KPI document as JSON."),
) -> None:
    """Adoption KPIs per flow and ISO week: events, runs, double entries avoided, people."""
    settings = Settings()
    # Loaded flows are listed even in weeks where they did not run.
    flows = load_flows(settings.flows, env=settings.env,
                       actions=Connectors(settings).actions).flows

    async def main() -> dict[str, Any]:
        store = await Store.open(settings.database_url)
        try:
            return await kpis(store, weeks=weeks, timezone=timezone or settings.timezone,
                              flows=flows)
        finally:
            await store.close()

    doc = run_async(main())
    if as_json:
        echo_json(doc)
        return
    typer.echo(f"Adoption KPIs, {doc['weeks'][0]['week']} to {doc['weeks'][-1]['week']} "
               f"({doc['timezone']}); duplicates_prevented = double entries avoided")
    table(rows(doc), COLUMNS)
