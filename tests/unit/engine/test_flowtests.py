"""Flow test cases: the format's lint, running cases offline, the report, the CLI, pytest."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import cli
from app.engine.flowtests import CaseResult, load_actions, run_suite
from app.engine.flowtests_spec import load_suite
from app.engine.retry import RetryPolicy

pytest_plugins = ["pytester"]

FIXTURES = Path(__file__).parent / "flowtests_fixtures"
ROOT = Path(__file__).resolve().parents[3]
ENV = "env: {CHANGELOG_URL: 'https://changelog.example.com/r'}\n"


def suite_in(tmp_path: Path, tests: str, *, env: bool = False,
             name: str = "forward.tests.yaml") -> Path:
    """A tests file next to a copy of the forward fixture flow, in its own folder."""
    shutil.copy(FIXTURES / "forward.yaml", tmp_path / "forward.yaml")
    path = tmp_path / name
    path.write_text((ENV if env else "") + textwrap.dedent(tests), encoding="utf-8")
    return path


async def run(path: Path) -> list[CaseResult]:
    suite = load_suite(path)
    assert [str(p) for p in suite.problems] == []
    return await run_suite(suite, actions=load_actions())


async def test_fixture_suites_pass_and_record_rendered_inputs() -> None:
    results = await run(FIXTURES / "forward.tests.yaml")
    assert [r.report() for r in results if not r.passed] == []
    first = results[0]
    assert first.status == "succeeded" and first.matched
    (call,) = first.calls
    assert (call.step, call.use) == ("post", "http.request")
    # Rendered, validated and dumped as JSON: native list from the hashtags filter, the
    # envelope's source, the default method of the input model.
    assert call.inputs["json"] == {"title": "Release 2.4.0", "version": "2.4.0",
                                   "tags": ["reporting", "export"], "notes": "Faster exports"}
    assert call.inputs["headers"] == {"X-Source": "ci"}
    assert call.inputs["url"] == "https://changelog.example.com/api/releases"
    triage = await run(FIXTURES / "triage.tests.yaml")
    assert [(r.case, r.passed, [c.step for c in r.calls]) for r in triage] == [
        ("a normal bug is filed, not escalated", True, ["file", "confirm"]),
        ("a high-priority bug pages someone", True, ["file", "escalate", "confirm"]),
        ("a question is not a bug", True, []),
    ]
    assert triage[2].status == "skipped" and not triage[2].matched


async def test_failing_case_report_names_flow_case_step_and_diff(tmp_path: Path) -> None:
    path = suite_in(tmp_path, env=True, tests="""\
        cases:
          - name: wrong title
            event: {version: "1.0", notes: "#a hello"}
            expect:
              calls:
                - step: post
                  with:
                    json: {title: "Release 1.1", tags: [a], missing: x}
                    method: POST
        """)
    (result,) = await run(path)
    assert not result.passed
    report = result.report()
    lines = report.splitlines()
    assert lines[0] == "FAIL forward-release / wrong title"
    assert lines[1] == f"  at {path}:3"
    assert "  step post (http.request): inputs differ from expected" in lines
    assert '    json.title: expected "Release 1.1", got "Release 1.0"' in lines
    assert '    json.missing: missing (expected "x")' in lines
    # The unified diff shows only the keys the case asked about.
    assert '    -    "title": "Release 1.1"' in lines
    assert '    +    "title": "Release 1.0"' in lines
    assert not any('"version"' in line for line in lines)


async def test_call_sequence_and_no_calls_mismatches(tmp_path: Path) -> None:
    shutil.copy(FIXTURES / "triage.yaml", tmp_path / "triage.yaml")
    path = tmp_path / "triage.tests.yaml"
    path.write_text(textwrap.dedent("""\
        cases:
          - name: expects an escalation that does not happen
            event: {kind: bug, title: t, priority: low}
            expect:
              calls: [{step: file}, {step: escalate}, {step: confirm}]
          - name: forbids a call that happens
            event: {kind: bug, title: t}
            expect:
              no_calls: [confirm]
        """), encoding="utf-8")
    first, second = await run(path)
    assert first.failures == [
        "call 2: expected step escalate, got step confirm (http.request)",
        "call 3: expected step confirm (any action), but it was not made",
        "calls made: file (http.request), confirm (http.request)",
    ]
    assert second.failures[0] == ("step confirm (http.request) was called, but no_calls "
                                  "lists it; inputs:")
    assert '    "url": "https://support.example.com/replies"' in second.failures


async def test_stub_errors_give_retrying_and_failed(tmp_path: Path) -> None:
    path = suite_in(tmp_path, env=True, tests="""\
        cases:
          - name: retryable
            stubs: {post: {error: retryable, message: slow down, retry_after: 5}}
            expect: {status: retrying, error_contains: "step post: slow down"}
          - name: permanent
            stubs: {post: {error: permanent}}
            expect: {status: failed, error_contains: stand-in error}
          - name: expects success but the stand-in fails
            stubs: {post: {error: permanent, message: "answered 404"}}
        """)
    retrying, failed, wrong = await run(path)
    assert (retrying.status, retrying.passed, retrying.error) == (
        "retrying", True, "step post: slow down")
    assert retrying.calls[0].error == "retryable: slow down"
    assert (failed.status, failed.passed) == ("failed", True)
    assert wrong.failures == ["status: expected succeeded, got failed (step post: answered 404)"]
    # The real retry policy decides: with one attempt allowed, a retryable error is final.
    suite = load_suite(path)
    from app.engine.flowtests import run_case

    once = await run_case(suite, suite.cases[0], actions=load_actions(),
                          policy=RetryPolicy(max_attempts=1))
    assert once.status == "failed"


async def test_invalid_rendered_input_fails_the_run(tmp_path: Path) -> None:
    (tmp_path / "hook.yaml").write_text(textwrap.dedent("""\
        name: hook
        on: {webhook: make}
        steps:
          - id: call
            use: http.request
            with: {url: "{{ event.url }}"}
        """), encoding="utf-8")
    path = tmp_path / "hook.tests.yaml"
    path.write_text(textwrap.dedent("""\
        cases:
          - name: bad url
            event: {url: "not a url"}
            expect: {status: failed, error_contains: "step call: http.request: invalid input"}
        """), encoding="utf-8")
    (result,) = await run(path)
    assert result.passed, result.report()
    assert result.error.startswith("step call: http.request: invalid input: 'url':")
    assert result.calls == []


async def test_for_each_item_stub(tmp_path: Path) -> None:
    (tmp_path / "notify.yaml").write_text(textwrap.dedent("""\
        name: notify
        on: {webhook: shipped}
        steps:
          - id: tell
            use: http.request
            for_each: "{{ event.people }}"
            with: {url: "https://example.com/{{ item }}"}
        """), encoding="utf-8")
    path = tmp_path / "notify.tests.yaml"
    path.write_text(textwrap.dedent("""\
        cases:
          - name: second item fails
            event: {people: [ada, bob, cy]}
            stubs: {"tell[1]": {error: permanent, message: gone}}
            expect:
              status: failed
              error_contains: "step tell[1]: gone"
              calls:
                - {step: tell, with: {url: "https://example.com/ada"}}
                - {step: "tell[1]", with: {url: "https://example.com/bob"}}
        """), encoding="utf-8")
    (result,) = await run(path)
    assert result.passed, result.report()


async def test_non_matching_event(tmp_path: Path) -> None:
    path = suite_in(tmp_path, env=True, tests="""\
        cases:
          - name: other source
            trigger: {source: zapier}
            expect: {matched: false}
          - name: expects a match
            trigger: {source: zapier}
            expect: {matched: true}
        """)
    ok, wrong = await run(path)
    assert (ok.passed, ok.matched, ok.status, ok.calls) == (True, False, "skipped", [])
    assert wrong.failures == [
        "matched: expected true, got false (event type webhook from zapier; trigger webhook "
        "{'source': 'ci'})"
    ]


async def test_flow_that_does_not_load_with_the_case_env(tmp_path: Path) -> None:
    path = suite_in(tmp_path, "cases:\n  - name: no env\n")
    (result,) = await run(path)
    assert result.failures == [
        "the flow does not load with this case's env:",
        f"  {tmp_path / 'forward.yaml'}:12: ${{CHANGELOG_URL}} is not set (set it in the "
        "environment or .env, or give a default with ${CHANGELOG_URL:-...})",
        f"  {tmp_path / 'forward.yaml'}:12: http.request: input 'url': Input should be a valid "
        "URL, input is empty",
    ]


def test_lint_of_a_bad_tests_file(tmp_path: Path) -> None:
    (tmp_path / "events").mkdir()
    (tmp_path / "events" / "list.json").write_text("[1, 2]", encoding="utf-8")
    path = suite_in(tmp_path, """\
        cases:
          - name: one
            stubs:
              nope: {}
              post: {error: fatal}
            expect:
              calls:
                - step: post
                  use: http.get
                - step: ghost
                - with: {a: 1}
                - use: slack.post
              no_calls: [post, phantom]
          - name: one
            event_file: events/missing.json
          - name: three
            event_file: events/list.json
            expect: {status: skipped, matched: true}
        """)
    f = str(path)
    assert [str(p) for p in load_suite(path).problems] == [
        f"{f}:4: stubs: unknown step 'nope' (steps of forward-release: post)",
        f"{f}:5: stubs: 'post': error must be one of retryable, permanent",
        f"{f}:8: calls: step 'post' uses http.request, not http.get",
        f"{f}:10: calls: unknown step 'ghost' (steps of forward-release: post)",
        f"{f}:11: calls: a call needs 'step' or 'use'",
        f"{f}:12: calls: no step of forward-release uses slack.post",
        f"{f}:13: no_calls: step 'post' is also listed in calls",
        f"{f}:13: no_calls: unknown step 'phantom' (steps of forward-release: post)",
        f"{f}:14: duplicate case name 'one'",
        f"{f}:15: event file {tmp_path / 'events/missing.json'} cannot be read",
        f"{f}:17: event file {tmp_path / 'events/list.json'} must hold a mapping (the event "
        "data)",
        f"{f}:18: status 'skipped' means the flow did not match; it contradicts 'matched: true'",
    ]


def test_lint_of_unknown_keys_types_and_missing_flow(tmp_path: Path) -> None:
    path = suite_in(tmp_path, """\
        flow: forward-release
        cases:
          - name: a
            stub: {post: {}}
            expect:
              status: done
              calls: [{step: post, inputs: {}}]
            trigger: {type: slack.message}
        """)
    f = str(path)
    assert [str(p) for p in load_suite(path).problems] == [
        f"{f}:4: 'cases.0.stub': unknown key",
        f"{f}:6: 'cases.0.expect.status': Input should be 'succeeded', 'failed', 'retrying' "
        "or 'skipped'",
        f"{f}:7: 'cases.0.expect.calls.0.inputs': unknown key",
        f"{f}:8: 'cases.0.trigger.type': Input should be 'webhook', 'slack.command', "
        "'slack.event', 'slack.shortcut', 'slack.view', 'notion.page' or 'schedule'",
    ]
    other = tmp_path / "other.tests.yaml"
    other.write_text("flow: nobody\ncases: [{name: x}]\n", encoding="utf-8")
    assert [str(p) for p in load_suite(other).problems] == [
        f"{other}:1: no flow named 'nobody' in {tmp_path}"]
    orphan = tmp_path / "orphan.tests.yaml"
    orphan.write_text("cases: [{name: x}]\n", encoding="utf-8")
    assert [str(p) for p in load_suite(orphan).problems] == [
        f"{orphan}:1: no flow file orphan.yaml next to this tests file; name the flow with "
        "'flow: <name>'"]
    broken = tmp_path / "broken.tests.yaml"
    broken.write_text("cases:\n  - name: [x\n", encoding="utf-8")
    (problem,) = load_suite(broken).problems
    assert (problem.line, problem.message.startswith("invalid YAML")) == (3, True)


def test_flow_named_by_flow_key_in_another_file(tmp_path: Path) -> None:
    path = suite_in(tmp_path, "flow: forward-release\ncases: [{name: x}]\n", env=True,
                    name="releases.tests.yaml")
    suite = load_suite(path)
    assert suite.problems == [] and suite.flow_file == tmp_path / "forward.yaml"


def test_cli_passes_fails_and_lints(tmp_path: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(cli, ["test", str(FIXTURES)])
    assert ok.exit_code == 0, ok.output
    assert ok.output.splitlines()[0] == "PASS forward-release / forwards the release"
    assert ok.output.splitlines()[-1] == "8 passed, 0 failed"

    path = suite_in(tmp_path, env=True, tests="""\
        cases:
          - name: good
          - name: bad
            expect: {status: failed}
        """)
    bad = runner.invoke(cli, ["test", str(path)])
    assert bad.exit_code == 1
    assert "FAIL forward-release / bad\n" in bad.output
    assert "  status: expected failed, got succeeded" in bad.output
    assert bad.output.splitlines()[-1] == "1 passed, 1 failed"

    (tmp_path / "lint.tests.yaml").write_text("flow: forward-release\ncases: [{name: x, y: 1}]\n",
                                              encoding="utf-8")
    linted = runner.invoke(cli, ["test", str(tmp_path)])
    assert linted.exit_code == 1
    assert f"{tmp_path / 'lint.tests.yaml'}:2: 'cases.0.y': unknown key" in linted.output
    assert linted.output.splitlines()[-1] == "1 passed, 1 failed, 1 problem(s) in tests files"

    empty = tmp_path / "empty"
    empty.mkdir()
    nothing = runner.invoke(cli, ["test", str(empty)])
    assert nothing.exit_code == 1 and "no *.tests.yaml files" in nothing.output
    missing = runner.invoke(cli, ["test", str(tmp_path / "absent")])
    assert missing.exit_code == 1 and "no such file or folder" in missing.output


def test_pytest_collects_one_item_per_case(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nfilterwarnings = error\n"
                     "asyncio_default_fixture_loop_scope = function\n")
    pytester.makeconftest((ROOT / "conftest.py").read_text(encoding="utf-8"))
    for name in ("forward.yaml", "forward.tests.yaml", "triage.yaml", "triage.tests.yaml"):
        shutil.copy(FIXTURES / name, pytester.path / name)
    shutil.copytree(FIXTURES / "events", pytester.path / "events")
    (pytester.path / "broken.tests.yaml").write_text(
        "flow: triage\ncases:\n  - name: x\n    stubs: {ghost: {}}\n", encoding="utf-8")
    (pytester.path / "wrong.tests.yaml").write_text(
        "flow: triage\ncases:\n  - name: expects a skip\n    event: {kind: bug}\n"
        "    expect: {status: skipped}\n", encoding="utf-8")

    collected = pytester.runpytest("--collect-only", "-q")
    assert "forward.tests.yaml::forwards the release" in collected.stdout.str()

    result = pytester.runpytest("-q", "--continue-on-collection-errors")
    result.assert_outcomes(passed=8, failed=1, errors=1)
    result.stdout.fnmatch_lines([
        "*broken.tests.yaml:4: stubs: unknown step 'ghost' (steps of triage: file, escalate, "
        "confirm)",
        "FAIL triage / expects a skip",
        "  status: expected skipped, got succeeded",
    ])
