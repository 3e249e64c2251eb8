"""Authoring commands: ``passerelle schema`` (and the editor's view of the flow format)."""

from __future__ import annotations

import json

import typer

from app.cli.base import cli
from app.engine.flowtests import load_actions
from app.engine.schema import flow_schema, tests_schema


@cli.command("schema")
def schema(
    tests: bool = typer.Option(False, "--tests", help="The schema of *.tests.yaml files."),
) -> None:
    """Print the JSON Schema of flow files (or of *.tests.yaml), for editors and CI."""
    value = tests_schema() if tests else flow_schema(load_actions())
    typer.echo(json.dumps(value, indent=2, sort_keys=True))
