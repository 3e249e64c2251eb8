"""The Typer application and helpers shared by the command modules."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Coroutine
from typing import Any, TypeVar

import typer

from app.errors import PasserelleError

cli = typer.Typer(
    name="passerelle",
    help="Passerelle: Slack, Notion and webhooks through declarative flows.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

T = TypeVar("T")


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine; Passerelle errors print as one clear line and exit 1.

    On uvloop when it is installed (uvicorn's ``standard`` extra brings it; ``serve`` runs on
    it through uvicorn): a ``worker`` process drained 281 runs/s on asyncio's own loop and
    324 on uvloop in the same profiling set-up (docs/performance.md).
    """
    try:
        return _run(coro)
    except PasserelleError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None


def _run(coro: Coroutine[Any, Any, T]) -> T:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - not on Windows
        return asyncio.run(coro)
    return uvloop.run(coro)


def echo_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, default=str, ensure_ascii=False) + "\n")


def table(rows: list[dict[str, Any]], columns: list[str]) -> None:
    """Print rows as an aligned plain-text table."""
    widths = {c: max([len(c), *(len(str(r.get(c, ""))) for r in rows)]) for c in columns}
    typer.echo("  ".join(c.upper().ljust(widths[c]) for c in columns))
    for r in rows:
        typer.echo("  ".join(str(r.get(c, "") if r.get(c) is not None else "-").ljust(widths[c])
                             for c in columns))
