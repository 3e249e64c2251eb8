"""Authoring commands: ``passerelle schema`` (the editor's view of the flow format) and
``passerelle new`` (a flow and its tests from a template)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import typer

from app.cli.base import cli
from app.engine.flowtests import load_actions
from app.engine.lint_hints import PATTERN_WORDS, did_you_mean
from app.engine.schema import flow_schema, tests_schema
from app.engine.templates import TEMPLATES, render
from app.settings import Settings

FLOW_NAME = re.compile(r"^[a-z0-9][a-z0-9_\-]{0,99}$")  # the Flow model's name pattern


@cli.command("schema")
def schema(
    tests: bool = typer.Option(False, "--tests", help="The schema of *.tests.yaml files."),
) -> None:
    """Print the JSON Schema of flow files (or of *.tests.yaml), for editors and CI."""
    value = tests_schema() if tests else flow_schema(load_actions())
    typer.echo(json.dumps(value, indent=2, sort_keys=True))


@cli.command("new")
def new(
    name: str = typer.Argument(..., metavar="FLOW", help="The new flow's name: nps-to-notion."),
    template: str = typer.Option(..., "--from", help=f"One of: {', '.join(TEMPLATES)}."),
    folder: Path = typer.Option(None, "--dir", help="Where (default: PASSERELLE_FLOWS)."),
) -> None:
    """Write a commented flow and its tests file from a template; both pass check and test."""
    if template not in TEMPLATES:
        typer.echo(f"error: unknown template '{template}'{did_you_mean(template, TEMPLATES)} "
                   f"(templates: {', '.join(TEMPLATES)})", err=True)
        raise typer.Exit(1)
    if not FLOW_NAME.fullmatch(name):
        typer.echo(f"error: flow name '{name}' {PATTERN_WORDS[FLOW_NAME.pattern]}", err=True)
        raise typer.Exit(1)
    target = folder or Settings().flows
    flow_path, tests_path = target / f"{name}.yaml", target / f"{name}.tests.yaml"
    for path in (flow_path, tests_path):
        if path.exists():
            typer.echo(f"error: {path} already exists; choose another name", err=True)
            raise typer.Exit(1)
    flow_text, tests_text = render(template, name)
    target.mkdir(parents=True, exist_ok=True)
    flow_path.write_text(flow_text, encoding="utf-8")
    tests_path.write_text(tests_text, encoding="utf-8")
    typer.echo(f"wrote {flow_path} and {tests_path}\n"
               f"next: edit them, then `passerelle check {target}` and `passerelle test "
               f"{tests_path}`")
