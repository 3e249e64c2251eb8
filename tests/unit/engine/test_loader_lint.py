"""Flow lint: one test per rule of app/engine/loader.py, with exact ``file:line: message``."""

from __future__ import annotations

from pathlib import Path

from app.engine.loader import is_flow_file, lint_text, load_flows
from connectors.registry import all_actions

ACTIONS = all_actions()
STEP = "steps:\n  - use: http.request\n    with: {url: 'https://example.com'}\n"


def lint(text: str, env: dict[str, str] | None = None) -> list[str]:
    flow, problems = lint_text("f.yaml", text, env=(env or {}).get, actions=ACTIONS)
    assert (flow is None) == bool(problems)
    return [str(p) for p in problems]


def test_a_valid_flow_has_no_problems() -> None:
    flow, problems = lint_text("f.yaml", "name: ok\non: {webhook: make}\n" + STEP,
                               env={}.get, actions=ACTIONS)
    assert problems == [] and flow is not None
    assert (flow.path, flow.steps[0].id, flow.trigger.kind) == ("f.yaml", "step1", "webhook")


def test_yaml_syntax() -> None:
    assert lint("name: a\non: {webhook: x\n") == [
        "f.yaml:3: invalid YAML: expected ',' or '}', but got '<stream end>'"]
    assert lint("name: a\nname: b\n") == ["f.yaml:2: invalid YAML: duplicate key 'name'"]
    assert lint("- a\n- b\n") == ["f.yaml:1: a flow file must be a mapping with name, on and steps"]


def test_unknown_keys() -> None:
    assert lint("name: a\non: {webhook: x}\n" + STEP + "color: red\n") == [
        "f.yaml:6: unknown key 'color' (allowed: description, enabled, if, name, on, steps, vars)"]
    assert lint("name: a\non: {webhook: x}\nsteps:\n  - use: http.request\n"
                "    with: {url: 'https://example.com'}\n    retries: 3\n") == [
        "f.yaml:6: 'steps.0.retries': unknown key"]


def test_invalid_field_values_of_the_flow() -> None:
    assert lint("name: Bad Name\non: {webhook: x}\n" + STEP) == [
        "f.yaml:1: 'name': must be lower case letters, digits, '-' and '_', starting with a "
        "letter or digit (at most 100 characters)"]
    assert lint("name: a\non: {webhook: x}\nsteps:\n  - use: http.request\n"
                "    with: {url: 'https://example.com'}\n    timeout: 9999\n") == [
        "f.yaml:6: 'steps.0.timeout': Input should be less than or equal to 600"]


def test_trigger_one_known_kind() -> None:
    assert lint("name: a\n" + STEP) == ["f.yaml:1: missing 'on': a flow needs a trigger"]
    assert lint("name: a\non:\n  webhook: x\n  schedule: '0 9 * * MON'\n" + STEP) == [
        "f.yaml:2: 'on' must be a mapping with exactly one trigger (webhook, slack.command, "
        "slack.event, slack.shortcut, slack.view, notion.page, schedule)"]
    assert lint("name: a\non:\n  slack.message: x\n" + STEP) == [
        "f.yaml:3: unknown trigger 'slack.message' (did you mean slack.event?)"]
    assert lint("name: a\non:\n  cron: x\n" + STEP) == [
        "f.yaml:3: unknown trigger 'cron' (known: webhook, slack.command, "
        "slack.event, slack.shortcut, slack.view, notion.page, schedule)"]


def test_trigger_fields() -> None:
    assert lint("name: a\non:\n  slack.event:\n    type: reaction_added\n    emoji: memo\n"
                + STEP) == ["f.yaml:5: trigger slack.event 'slack.event.emoji': unknown key"]
    assert lint("name: a\non:\n  schedule: every day\n" + STEP) == [
        "f.yaml:3: trigger schedule: Value error, not a valid cron expression: 'every day'"]
    assert lint("name: a\non:\n  schedule: {cron: '0 9 * * MON', timezone: Mars/Base}\n"
                + STEP) == [
        "f.yaml:3: trigger schedule 'schedule.timezone': Value error, unknown time zone "
        "'Mars/Base' (use a name like Europe/Paris)"]
    assert lint("name: a\non:\n  notion.page: Feedback\n" + STEP) == [
        "f.yaml:3: notion.page needs the long form: {database: ..., created: true} or "
        "{database: ..., changed: Status}"]


def test_action_exists() -> None:
    assert lint("name: a\non: {webhook: x}\nsteps:\n  - use: http.get\n    with: {}\n") == [
        "f.yaml:4: unknown action 'http.get' (did you mean http.request?)"]
    assert lint("name: a\non: {webhook: x}\nsteps:\n  - use: slack.psot\n    with: {}\n") == [
        "f.yaml:4: unknown action 'slack.psot' (did you mean slack.post?)"]
    assert lint("name: a\non: {webhook: x}\nsteps:\n  - with: {}\n") == [
        "f.yaml:4: step needs 'use: <connector>.<action>'"]


def test_static_inputs_fit_the_input_model() -> None:
    text = ("name: a\non: {webhook: x}\nsteps:\n  - use: http.request\n    with:\n"
            "      method: FETCH\n      colour: 1\n")
    assert lint(text) == [
        "f.yaml:6: http.request: input 'method': Input should be 'GET', 'POST', 'PUT', "
        "'PATCH', 'DELETE' or 'HEAD'",
        # A missing input is reported where the `with` mapping starts.
        "f.yaml:6: http.request: input 'url': is required",
        "f.yaml:7: http.request: input 'colour': unknown input",
    ]
    # Templated values are checked at run time, not by lint.
    assert lint("name: a\non: {webhook: x}\nsteps:\n  - use: http.request\n"
                "    with: {url: '{{ event.url }}', method: '{{ event.method }}'}\n") == []


def test_duplicate_step_ids() -> None:
    text = ("name: a\non: {webhook: x}\nsteps:\n"
            "  - id: same\n    use: http.request\n    with: {url: 'https://example.com'}\n"
            "  - id: same\n    use: http.request\n    with: {url: 'https://example.com'}\n")
    assert lint(text) == ["f.yaml:7: duplicate step id 'same' (first on line 4)"]


def test_templates_parse() -> None:
    text = ("name: a\non: {webhook: x}\nsteps:\n  - use: http.request\n    with:\n"
            "      url: 'https://example.com'\n      json: {a: '{{ event.x | }}'}\n")
    assert lint(text) == [
        "f.yaml:7: template does not parse: expected token 'name', got 'end of print statement'"]
    assert lint("name: a\non: {webhook: x}\nif: 'event.x =='\n" + STEP) == [
        "f.yaml:3: template does not parse: unexpected 'end of print statement'"]


def test_templates_read_only_known_names() -> None:
    text = ("name: a\non: {webhook: x}\nsteps:\n  - use: http.request\n    with:\n"
            "      url: 'https://example.com'\n      json: {a: '{{ secrets.token }}'}\n")
    assert lint(text) == [
        "f.yaml:7: unknown name secrets in template (templates can read: event, now, steps, "
        "trigger, vars)"]


def test_steps_references_only_earlier_steps() -> None:
    text = ("name: a\non: {webhook: x}\nsteps:\n"
            "  - id: first\n    use: http.request\n"
            "    with: {url: 'https://example.com/{{ steps.later.id }}'}\n"
            "  - id: later\n    use: http.request\n    if: steps.later.ok\n"
            "    with: {url: 'https://example.com/{{ steps[\"first\"].id }}'}\n")
    assert lint(text) == [
        "f.yaml:6: steps.later is not an earlier step (earlier steps: none)",
        "f.yaml:9: steps.later is not an earlier step (earlier steps: first)",
    ]


def test_env_variables_are_set() -> None:
    text = "name: a\non: {webhook: x}\nsteps:\n  - use: http.request\n    with:\n"
    assert lint(text + "      url: '${HOOK_URL}'\n", {"HOOK_URL": "https://h.example.com"}) == []
    assert lint(text + "      url: '${HOOK_URL:-https://default.example.com}'\n") == []
    assert lint(text + "      url: '${HOOK_URL}'\n")[0] == (
        "f.yaml:6: ${HOOK_URL} is not set (set it in the environment or .env, or give a "
        "default with ${HOOK_URL:-...})")


def test_env_variables_never_name_a_secret() -> None:
    text = ("name: a\non: {webhook: x}\nsteps:\n  - use: http.request\n    with:\n"
            "      url: 'https://example.com'\n      headers: {A: '${SLACK_BOT_TOKEN}'}\n")
    assert lint(text, {"SLACK_BOT_TOKEN": "xoxb-1"}) == [
        "f.yaml:7: ${SLACK_BOT_TOKEN} names a secret; secrets cannot be used in flow files"]


def test_flow_names_are_unique_across_files(tmp_path: Path) -> None:
    for name in ("a.yaml", "b.yaml"):
        (tmp_path / name).write_text("name: same\non: {webhook: x}\n" + STEP, encoding="utf-8")
    (tmp_path / "a.tests.yaml").write_text("cases: []\n", encoding="utf-8")
    (tmp_path / "_databases.yaml").write_text("databases: []\n", encoding="utf-8")
    flows = load_flows(tmp_path, env={}.get, actions=ACTIONS)
    assert [str(p) for p in flows.problems] == [
        f"{tmp_path / 'b.yaml'}:1: flow name 'same' is already used by {tmp_path / 'a.yaml'}"]
    assert flows.files == {"same": str(tmp_path / "a.yaml")}


def test_which_files_are_flows(tmp_path: Path) -> None:
    assert [is_flow_file(Path(n)) for n in ("a.yaml", "a.yml", "a.tests.yaml", "a.tests.yml",
                                            "_databases.yaml", ".hidden.yaml", "a.json")] == [
        True, True, False, False, False, False, False]
    missing = load_flows(tmp_path / "nowhere", env={}.get, actions=ACTIONS)
    assert [str(p) for p in missing.problems] == [
        f"{tmp_path / 'nowhere'}:0: no such file or folder"]


def test_vars_are_computed_from_the_event_and_cannot_read_steps() -> None:
    text = ("name: a\non: {webhook: x}\nvars:\n  ok: \"{{ event.text | trim }}\"\n"
            "  bad: \"{{ steps.step1.url }}\"\n  broken: \"{{ event.text \"\n" + STEP)
    assert lint(text) == [
        "f.yaml:5: steps.step1 is not an earlier step (earlier steps: none)",
        "f.yaml:6: template does not parse: unexpected end of template, expected "
        "'end of print statement'.",
    ]
