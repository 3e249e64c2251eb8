"""``passerelle test [PATH]``: run the flows' test cases offline."""

from __future__ import annotations

from pathlib import Path

import typer

from app.cli.base import cli, run_async
from app.engine.flowtests import CaseResult, load_actions, run_suite
from app.engine.flowtests_spec import find_tests_files, load_suite
from app.settings import Settings


async def _run_all(files: list[Path]) -> tuple[list[CaseResult], list[str]]:
    actions = load_actions()
    results: list[CaseResult] = []
    problems: list[str] = []
    for file in files:
        suite = load_suite(file)
        if suite.problems:
            problems += [str(p) for p in suite.problems]
            continue
        results += await run_suite(suite, actions=actions)
    return results, problems


@cli.command("test")
def test_flows(
    path: Path = typer.Argument(None, help="A folder of flows (default: PASSERELLE_FLOWS) "
                                           "or one *.tests.yaml file."),
) -> None:
    """Run the flows' test cases offline (recorded calls, stand-in answers, no network)."""
    target = path or Settings().flows
    if not target.exists():
        typer.echo(f"error: {target}: no such file or folder", err=True)
        raise typer.Exit(1)
    files = find_tests_files(target)
    if not files:
        typer.echo(f"error: no *.tests.yaml files in {target}", err=True)
        raise typer.Exit(1)
    results, problems = run_async(_run_all(files))
    for problem in problems:
        typer.echo(problem)
    for result in results:
        typer.echo(result.report())
    failed = sum(not r.passed for r in results)
    summary = f"{len(results) - failed} passed, {failed} failed"
    if problems:
        summary += f", {len(problems)} problem(s) in tests files"
    typer.echo(summary)
    if failed or problems:
        raise typer.Exit(1)
