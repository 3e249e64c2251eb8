"""``passerelle new FLOW --from TEMPLATE``: what it writes passes check and test as is."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import cli
from app.engine.templates import TEMPLATES


@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_each_template_passes_check_and_test(tmp_path: Path, template: str) -> None:
    runner = CliRunner()
    made = runner.invoke(cli, ["new", "team-feedback", "--from", template, "--dir", str(tmp_path)])
    assert made.exit_code == 0, made.output
    flow = (tmp_path / "team-feedback.yaml").read_text()
    assert "#" in flow and "name: team-feedback" in flow  # commented, named
    checked = runner.invoke(cli, ["check", str(tmp_path)])
    assert checked.exit_code == 0, checked.output
    assert "1 flow(s) OK" in checked.output
    tested = runner.invoke(cli, ["test", str(tmp_path)])
    assert tested.exit_code == 0, tested.output
    assert "0 failed" in tested.output and "FAIL" not in tested.output


def test_refuses_to_overwrite_a_bad_name_and_an_unknown_template(tmp_path: Path) -> None:
    runner = CliRunner()
    args = ["--dir", str(tmp_path)]
    assert runner.invoke(cli, ["new", "a", "--from", "webhook-to-notion", *args]).exit_code == 0
    again = runner.invoke(cli, ["new", "a", "--from", "webhook-to-notion", *args])
    assert again.exit_code == 1 and "already exists" in again.output
    bad = runner.invoke(cli, ["new", "Bad Name", "--from", "webhook-to-notion", *args])
    assert bad.exit_code == 1 and "lower case" in bad.output
    typo = runner.invoke(cli, ["new", "b", "--from", "webhook-to-notoin", *args])
    assert typo.exit_code == 1 and "did you mean webhook-to-notion" in typo.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.tests.yaml", "a.yaml"]
