"""The ``passerelle`` command. Thin: it calls the same functions the API and worker use.

Each group of commands lives in its own module and is registered here with one line.
"""

from __future__ import annotations

from app.cli import authoring as authoring  # registers `passerelle schema`
from app.cli import core
from app.cli import flowtest as flowtest
from app.cli import notion as notion  # registers `passerelle notion ...`
from app.cli import ops as ops
from app.cli import sandbox as sandbox  # registers `slack send`, `notion edit`, `sandbox`
from app.cli import similar as similar  # registers `passerelle similar ...`
from app.cli import slack as slack  # registers `passerelle slack ...`
from app.cli import stats as stats
from app.cli.base import cli


def main() -> None:
    cli()


__all__ = ["cli", "core", "main"]
