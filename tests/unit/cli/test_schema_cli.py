"""``passerelle schema``: every shipped flow and tests file validates; broken ones do not."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from typer.testing import CliRunner

from app.cli import cli
from app.engine.yamlsource import load, plain

FLOWS = Path(__file__).resolve().parents[3] / "flows"


def _schema(*args: str) -> dict[str, Any]:
    result = CliRunner().invoke(cli, ["schema", *args])
    assert result.exit_code == 0, result.output
    value: dict[str, Any] = json.loads(result.output)
    jsonschema.Draft202012Validator.check_schema(value)
    return value


@pytest.fixture(scope="module")
def flow_validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(_schema())


@pytest.fixture(scope="module")
def tests_validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(_schema("--tests"))


def _yaml(path: Path) -> Any:
    # The loader's own YAML reading (YAML 1.2: `on` is a key, not true), as editors read it.
    return plain(load(path.read_text(encoding="utf-8")))


def _files(pattern: str) -> list[Path]:
    return sorted(p for p in FLOWS.rglob(pattern) if not p.name.startswith("_"))


def test_there_are_flows_to_validate() -> None:
    assert len([p for p in _files("*.yaml") if not p.name.endswith(".tests.yaml")]) >= 10


@pytest.mark.parametrize("path", [p for p in _files("*.yaml")
                                  if not p.name.endswith(".tests.yaml")], ids=str)
def test_every_shipped_flow_validates(flow_validator, path: Path) -> None:
    errors = [e.message for e in flow_validator.iter_errors(_yaml(path))]
    assert errors == []


@pytest.mark.parametrize("path", _files("*.tests.yaml"), ids=str)
def test_every_tests_file_validates(tests_validator, path: Path) -> None:
    errors = [e.message for e in tests_validator.iter_errors(_yaml(path))]
    assert errors == []


GOOD = {"name": "ok", "on": {"webhook": {"source": "github", "event": "release"}},
        "steps": [{"use": "slack.post", "with": {"channel": "C1", "text": "{{ event.x }}"}}]}


@pytest.mark.parametrize("broken", [
    {**GOOD, "stepz": []},                                                # unknown key
    {k: v for k, v in GOOD.items() if k != "on"},                         # no trigger
    {**GOOD, "on": {"webhok": "github"}},                                 # unknown trigger
    {**GOOD, "on": {"webhook": {"source": "github", "evnt": "release"}}},  # unknown filter
    {**GOOD, "steps": [{"use": "slack.psot", "with": {}}]},               # unknown action
    {**GOOD, "steps": [{"use": "slack.post", "with": {"chanel": "C1", "text": "x"}}]},
    {**GOOD, "steps": [{"use": "slack.post", "with": {"text": "x"}}]},     # missing input
    {**GOOD, "steps": [{"use": "slack.post", "with": {"channel": "C1", "text": "x"},
                        "timeout": 9000}]},
    {**GOOD, "steps": []},
])
def test_broken_flows_are_rejected(flow_validator, broken: dict[str, Any]) -> None:
    assert flow_validator.is_valid(GOOD)
    assert not flow_validator.is_valid(broken)


def test_broken_tests_file_is_rejected(tests_validator) -> None:
    assert tests_validator.is_valid({"cases": [{"name": "a", "event": {}}]})
    assert not tests_validator.is_valid({"cases": [{"name": "a", "expct": {}}]})
    assert not tests_validator.is_valid({"cases": []})
