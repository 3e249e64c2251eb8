"""``passerelle notion setup``: create (or check) the Notion databases the flows expect."""

from __future__ import annotations

from typing import Any

import typer

from app.cli.base import cli, run_async
from app.engine.notion_specs import load_specs, specs_path
from app.settings import Settings
from connectors.notion import setup as notion_setup
from connectors.notion.client import NotionApi
from connectors.notion.schema import notion_id

notion = typer.Typer(help="Set up the Notion databases.", no_args_is_help=True)
cli.add_typer(notion, name="notion")


@notion.command()
def setup(
    parent: str = typer.Option(None, "--parent", help="Page (URL or id) to create them under."),
    check: bool = typer.Option(False, "--check",
                               help="Only check the databases named by NOTION_*_DB."),
) -> None:
    """Create the databases of _databases.yaml under a page, or check existing ones."""
    settings = Settings()
    specs = load_specs(settings.flows)
    ids = {s["title"]: settings.env(s["env"]) if s.get("env") else None for s in specs}
    checking = check or any(ids.values())
    if settings.notion_sandbox:
        # The sandbox's stand-in already holds the seeded databases: find them at the running
        # hub (PASSERELLE_URL) instead of creating a second set.
        settings = settings.model_copy(update={"sandbox_url": settings.passerelle_url})
        if not checking and not parent:
            ids, checking = run_async(_seeded(settings, specs)), True
    if not checking and not parent:
        typer.echo("error: give --parent <page URL or id> to create the databases, or set "
                   + ", ".join(s["env"] for s in specs if s.get("env"))
                   + " and use --check", err=True)
        raise typer.Exit(2)
    page = None if checking else notion_id(parent)
    if not checking and page is None:
        typer.echo(f"error: --parent: {parent!r} is not a Notion page URL or id", err=True)
        raise typer.Exit(2)
    where = "the sandbox stand-in" if settings.notion_sandbox else "Notion"
    typer.echo(f"Databases from {specs_path(settings.flows)}, in {where}:")

    async def main() -> notion_setup.SetupReport:
        api = NotionApi(settings)
        try:
            if checking:
                return await notion_setup.check(api, specs, ids)
            assert page is not None
            return await notion_setup.create(api, specs, page)
        finally:
            await api.aclose()

    report = run_async(main())
    _print(report, specs)


async def _seeded(settings: Settings, specs: list[dict[str, Any]]) -> dict[str, str | None]:
    """Title -> database id of the stand-in's databases named like the specs."""
    api = NotionApi(settings)
    found: dict[str, str | None] = {}
    try:
        for spec in specs:
            answer = await api.call(f"notion setup: find {spec['title']!r}", api.sdk.search,
                                    safe_to_repeat=True, query=spec["title"],
                                    filter={"property": "object", "value": "data_source"})
            exact = [r for r in answer.get("results", [])
                     if "".join(t.get("plain_text", "") for t in r.get("title", []))
                     == spec["title"]]
            found[spec["title"]] = exact[0]["parent"]["database_id"] if exact else None
    finally:
        await api.aclose()
    return found


def _print(report: notion_setup.SetupReport, specs: list[dict[str, Any]]) -> None:
    for title, ds in report.created.items():
        typer.echo(f"  created  {title}  ({ds.database_id})")
    for title, ds in report.checked.items():
        typer.echo(f"  checked  {title}  ({ds.database_id})")
    for problem in report.problems:
        typer.echo(f"  problem: {problem}")
    lines = report.env_lines(specs)
    if lines:
        typer.echo("\nAdd to your environment (.env):")
        for line in lines:
            typer.echo(line)
    if report.problems:
        raise typer.Exit(1)
