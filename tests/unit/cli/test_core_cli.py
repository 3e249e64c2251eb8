"""passerelle check, run (dry and real), runs and replay through the real CLI entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import cli

GOOD = """
name: forward
on:
  webhook: make
steps:
  - id: post
    use: http.request
    with:
      url: "https://example.com/{{ event.kind }}"
      json: {text: "{{ event.text }}"}
"""

BAD = """
name: broken
on:
  webhook: make
steps:
  - id: post
    use: http.request
    with:
      url: "{{ steps.later.url }}"
      colour: blue
  - id: post
    use: http.send
"""


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    flows = tmp_path / "flows"
    flows.mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PASSERELLE_FLOWS", str(flows))
    monkeypatch.setenv("PASSERELLE_DATABASE_URL", f"sqlite:///{tmp_path}/p.db")
    monkeypatch.setenv("PASSERELLE_LOG_FORMAT", "text")
    return flows


def test_check_ok_and_problems(env: Path) -> None:
    (env / "forward.yaml").write_text(GOOD)
    ok = CliRunner().invoke(cli, ["check"])
    assert ok.exit_code == 0, ok.output
    assert "1 flow(s) OK" in ok.output
    (env / "broken.yaml").write_text(BAD)
    bad = CliRunner().invoke(cli, ["check"])
    assert bad.exit_code == 1
    lines = bad.output.strip().splitlines()
    path = str(env / "broken.yaml")
    assert f"{path}:9: steps.later is not an earlier step (earlier steps: none)" in lines
    assert f"{path}:10: http.request: input 'colour': unknown input" in lines
    assert any(line.startswith(f"{path}:11: duplicate step id 'post'") for line in lines)
    assert f"{path}:12: unknown action 'http.send'" in lines


EVENT_HOST = """
name: fetch
on:
  webhook: make
steps:
  - id: get
    use: http.request
    with: {method: GET, url: "{{ event.callback_url }}"}
  - id: also
    use: http.request
    with: {method: GET, url: "https://{{ event.host }}/x"}
"""


def test_check_warns_when_the_url_host_comes_from_event_data(env: Path) -> None:
    (env / "forward.yaml").write_text(GOOD)  # a templated path, fixed host: no warning
    (env / "fetch.yaml").write_text(EVENT_HOST)
    out = CliRunner().invoke(cli, ["check"])
    assert out.exit_code == 0, out.output  # a warning, not a problem
    warnings = [line for line in out.output.splitlines() if ": warning: " in line]
    assert len(warnings) == 2, out.output
    assert "step 'get'" in warnings[0] and "{{ event.callback_url }}" in warnings[0]
    assert "step 'also'" in warnings[1]
    assert "2 flow(s) OK" in out.output


def test_run_dry_run_prints_calls_and_makes_none(env: Path, tmp_path: Path) -> None:
    (env / "forward.yaml").write_text(GOOD)
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"kind": "bug", "text": "{{ 7*7 }}"}))
    out = CliRunner().invoke(cli, ["run", "forward", "--event", str(event), "--dry-run"])
    assert out.exit_code == 0, out.output
    call = json.loads(out.output)
    assert call["action"] == "http.request"
    assert call["input"]["url"] == "https://example.com/bug"
    assert call["input"]["json"] == {"text": "{{ 7*7 }}"}
    assert not (tmp_path / "p.db").exists()


def test_run_unknown_flow_and_bad_event_file(env: Path, tmp_path: Path) -> None:
    (env / "forward.yaml").write_text(GOOD)
    missing = CliRunner().invoke(cli, ["run", "nope", "--event", "x.json"])
    assert missing.exit_code == 1 and "no flow named 'nope' (loaded: forward)" in missing.output
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    out = CliRunner().invoke(cli, ["run", "forward", "--event", str(bad)])
    assert out.exit_code == 1 and "bad.json" in out.output


def test_real_run_then_runs_and_replay(env: Path, tmp_path: Path) -> None:
    # A URL the action's input model refuses: a permanent error, so the run ends failed.
    (env / "forward.yaml").write_text(GOOD.replace("https://example.com/{{ event.kind }}",
                                                   "{{ event.kind }}"))
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"kind": "not-a-url", "text": "hi"}))
    out = CliRunner().invoke(cli, ["run", "forward", "--event", str(event)])
    assert out.exit_code == 1
    run = json.loads(out.output)
    assert run["status"] == "failed" and "invalid input: 'url'" in run["error"]

    listed = CliRunner().invoke(cli, ["runs", "--status", "failed", "--json"])
    assert listed.exit_code == 0
    assert [r["id"] for r in json.loads(listed.output)] == [run["id"]]
    table = CliRunner().invoke(cli, ["runs"])
    assert "forward" in table.output and "failed" in table.output

    replayed = CliRunner().invoke(cli, ["replay", run["id"]])
    assert replayed.exit_code == 0 and "queued again" in replayed.output
    again = CliRunner().invoke(cli, ["replay", run["id"]])
    assert again.exit_code == 1 and "only failed runs can be replayed" in again.output
    unknown = CliRunner().invoke(cli, ["replay", "no-such-run"])
    assert unknown.exit_code == 1 and "no run with id no-such-run" in unknown.output


@pytest.mark.parametrize(("body", "kind"), [("[1, 2]", "a list"), ('"hello"', "a string"),
                                            ("null", "null"), ("42", "a number"),
                                            ("true", "a boolean")])
def test_run_event_that_is_not_an_object_is_a_clear_error(env: Path, tmp_path: Path,
                                                          body: str, kind: str) -> None:
    (env / "forward.yaml").write_text(GOOD)
    event = tmp_path / "event.json"
    event.write_text(body)
    for extra in ([], ["--dry-run"]):
        out = CliRunner().invoke(cli, ["run", "forward", "--event", str(event), *extra])
        assert out.exit_code == 1, out.output
        assert out.exception is None or isinstance(out.exception, SystemExit)
        assert f"the event must be a JSON object ({{...}}), not {kind}" in out.output


def test_run_without_event_only_for_scheduled_flows(env: Path) -> None:
    (env / "forward.yaml").write_text(GOOD)
    out = CliRunner().invoke(cli, ["run", "forward"])
    assert out.exit_code == 1
    assert "runs on webhook events: give one with --event FILE" in out.output


def test_runs_with_an_unknown_status_is_an_error(env: Path) -> None:
    out = CliRunner().invoke(cli, ["runs", "--status", "bogus"])
    assert out.exit_code == 2
    assert "unknown status 'bogus' (use one of: queued, running, retrying, succeeded, " \
        "failed)" in out.output
