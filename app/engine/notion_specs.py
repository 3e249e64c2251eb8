"""The Notion databases the flows expect (``_databases.yaml``): sandbox seed and setup spec."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from app.errors import ConfigError

SPEC_FILE = "_databases.yaml"
REPO_SPECS = Path(__file__).resolve().parents[2] / "flows" / SPEC_FILE


def specs_path(flows: Path) -> Path:
    """The flows folder's own ``_databases.yaml`` if it has one, else the shipped one."""
    folder = flows if flows.is_dir() else flows.parent
    own = folder / SPEC_FILE
    return own if own.is_file() else REPO_SPECS


def load_specs(flows: Path) -> list[dict[str, Any]]:
    """The ``databases`` list: ``{title, env, properties}`` per database."""
    path = specs_path(flows)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read the Notion database specs: {exc}") from None
    databases = data.get("databases") if isinstance(data, dict) else None
    if not isinstance(databases, list) or not all(
            isinstance(d, dict) and isinstance(d.get("title"), str) for d in databases):
        raise ConfigError(f"{path}: expected 'databases:' as a list of {{title, properties}}")
    return databases
