"""Loading flow files, with lint: every problem as ``file:line: message``.

Checks: YAML syntax; unknown keys; the trigger (one known kind, valid fields); each step's
action exists and its static inputs fit the action's input model; duplicate step ids;
templates parse, read only known names, and reference ``steps.X`` only for earlier steps;
``${VAR}`` is set and names no secret; flow names are unique across files.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from app.engine import expressions
from app.engine.interpolate import interpolate
from app.engine.lint_hints import (
    did_you_mean,
    field_names,
    in_words,
    model_at,
    notion_properties,
)
from app.engine.model import Flow
from app.engine.runner import render_vars
from app.engine.triggers import TRIGGERS
from app.engine.yamlsource import LineDict, LineList, YamlError, line_of, load, plain
from app.errors import LintProblem
from connectors.base import Action

TEST_SUFFIX = ".tests.yaml"
FLOW_KEYS = {"name", "description", "on", "if", "vars", "steps", "enabled"}


def is_flow_file(path: Path) -> bool:
    return (
        path.suffix in (".yaml", ".yml")
        and not path.name.endswith((TEST_SUFFIX, ".tests.yml"))
        and not path.name.startswith(("_", "."))
    )


@dataclass
class FlowSet:
    """The loaded flows and what lint found. Only flows without problems are loaded."""

    flows: dict[str, Flow] = field(default_factory=dict)
    problems: list[LintProblem] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)  # flow name -> file

    def matching(self, event: Any) -> list[str]:
        """Names of the enabled flows whose trigger (and flow-level ``if``) match the event."""
        found = []
        for flow in self.flows.values():
            if not flow.enabled or not flow.trigger.matches(event, flow.name):
                continue
            if flow.if_ is not None:
                try:
                    ctx = {"event": event.data, "trigger": event.envelope(), "steps": {},
                           "vars": render_vars(flow, event)}
                    if not expressions.truthy(flow.if_, ctx):
                        continue
                except Exception:
                    # A condition that raises is not a "no": the run is created and fails with
                    # the error (the runner evaluates it again), so the author sees it.
                    pass
            found.append(flow.name)
        return found


class _Linter:
    def __init__(self, file: str, env: Callable[[str], str | None],
                 actions: Mapping[str, Action],
                 databases: Mapping[str, list[str]] | None = None) -> None:
        self.file = file
        self.databases = databases or {}
        self.env = env
        self.actions = actions
        self.problems: list[LintProblem] = []
        self.vars: list[str] = []  # the vars a template may read (in order, for vars)
        self.all_vars: list[str] = []

    def report(self, line: int, message: str) -> None:
        self.problems.append(LintProblem(self.file, line, message))

    def lint(self, text: str) -> Flow | None:
        try:
            raw = load(text)
        except YamlError as exc:
            self.report(exc.line, exc.message)
            return None
        if not isinstance(raw, LineDict):
            self.report(1, "a flow file must be a mapping with name, on and steps")
            return None
        raw = interpolate(raw, self.env, self.report, raw.line)
        for key in raw:
            if key not in FLOW_KEYS:
                hint = did_you_mean(str(key), FLOW_KEYS) or \
                    f" (allowed: {', '.join(sorted(FLOW_KEYS))})"
                self.report(raw.key_lines[key], f"unknown key '{key}'{hint}")
        trigger = self._trigger(raw)
        steps = raw.get("steps")
        self._steps(raw, steps)
        data = {k: plain(v) for k, v in raw.items() if k in FLOW_KEYS and k != "on"}
        data["trigger"] = trigger
        try:
            flow = Flow.model_validate(data)
        except ValidationError as exc:
            # Every problem of the file at once: the model's own checks too, except what the
            # checks above already said (the trigger, steps, vars, each step's use and with).
            self._validation(exc, raw, (), model=Flow, skip=_reported_above)
            return None
        return None if self.problems else flow

    def _validation(self, exc: ValidationError, raw: Any, prefix: tuple[Any, ...],
                    what: str = "", skip: Callable[[tuple[Any, ...]], bool] | None = None,
                    model: type[BaseModel] | None = None) -> None:
        for err in exc.errors():
            loc = tuple(err["loc"])
            if skip and skip(loc):
                continue
            where = ".".join(str(p) for p in (*prefix, *loc))
            msg = in_words(err["type"], err["msg"], err.get("ctx"))
            if err["type"] == "extra_forbidden":
                parent = model_at(model, loc[:-1]) if model else None
                msg = "unknown key" + (did_you_mean(str(loc[-1]), field_names(parent))
                                       if parent else "")
            elif err["type"] == "missing":
                msg = "is required"
            label = f"{what}'{where}'" if where else (what.strip() or "flow")
            self.report(line_of(raw, (*prefix, *loc)), f"{label}: {msg}")

    def _trigger(self, raw: LineDict) -> Any:
        on = raw.get("on")
        line = raw.key_lines.get("on", raw.line)
        if on is None:
            self.report(raw.line, "missing 'on': a flow needs a trigger")
            return None
        if not isinstance(on, LineDict) or len(on) != 1:
            self.report(line, f"'on' must be a mapping with exactly one trigger "
                        f"({', '.join(TRIGGERS)})")
            return None
        (kind, value), = on.items()
        cls = TRIGGERS.get(kind)
        if cls is None:
            hint = did_you_mean(str(kind), TRIGGERS) or f" (known: {', '.join(TRIGGERS)})"
            self.report(on.key_lines[kind], f"unknown trigger '{kind}'{hint}")
            return None
        if kind == "notion.page" and not isinstance(value, dict):
            self.report(on.key_lines[kind], "notion.page needs the long form: "
                        "{database: ..., created: true} or {database: ..., changed: Status}")
            return None
        data = value if isinstance(value, dict) else {cls.short: value}
        if kind == "notion.page":  # the property it watches, by name (_databases.yaml)
            known = self.databases.get(str(value.get("database")))
            changed = value.get("changed")
            if known is not None and isinstance(changed, str) and changed not in known:
                hint = did_you_mean(changed, known) or f" (it has: {', '.join(known)})"
                self.report(value.key_lines.get("changed", line) if isinstance(value, LineDict)
                            else line, f"trigger notion.page: {value.get('database')} has no "
                            f"property '{changed}'{hint}")
        try:
            return cls.model_validate(plain(data))
        except ValidationError as exc:
            if isinstance(value, dict):
                self._validation(exc, on, (kind,), what=f"trigger {kind} ", model=cls)
            else:
                for err in exc.errors():
                    self.report(on.key_lines[kind], f"trigger {kind}: "
                                f"{in_words(err['type'], err['msg'], err.get('ctx'))}")
            return None

    def _steps(self, raw: LineDict, steps: Any) -> None:
        if not isinstance(steps, LineList) or not steps:
            self.report(raw.key_lines.get("steps", raw.line), "'steps' must be a non-empty list")
            return
        seen: dict[str, int] = {}
        known_before: set[str] = set()
        # vars are computed once, in order, from the event, before any step: each may read
        # the ones above it, none reads steps. The flow's `if` reads them all.
        self._vars(raw)
        self._templates(raw.get("if"), raw.key_lines.get("if", 1), known_before, in_if=True)
        for index, (step, line) in enumerate(zip(steps, steps.item_lines, strict=True), start=1):
            if not isinstance(step, LineDict):
                self.report(line, "a step must be a mapping with 'use' and 'with'")
                continue
            step_id = str(step.get("id") or f"step{index}")
            if step_id in seen:
                self.report(step.key_lines.get("id", line),
                            f"duplicate step id '{step_id}' (first on line {seen[step_id]})")
            seen[step_id] = step.key_lines.get("id", line)
            looped = step.get("for_each") is not None
            self._templates(step.get("if"), step.key_lines.get("if", line), known_before,
                            in_if=True, looped=looped)
            self._templates(step.get("for_each"), step.key_lines.get("for_each", line),
                            known_before)
            self._templates(step.get("with"), step.key_lines.get("with", line), known_before,
                            looped=looped)
            self._action(step, line)
            known_before.add(step_id)

    def _vars(self, raw: LineDict) -> None:
        variables = raw.get("vars")
        if variables is None:
            return
        if not isinstance(variables, LineDict):
            self.report(raw.key_lines.get("vars", raw.line), "'vars' must be a mapping of "
                        "names to values")
            return
        self.all_vars = [str(k) for k in variables]
        for name, value in variables.items():
            self._templates(value, variables.key_lines.get(name, raw.line), set())
            self.vars.append(str(name))
        self.vars = list(self.all_vars)

    def _action(self, step: LineDict, line: int) -> None:
        use = step.get("use")
        if not isinstance(use, str):
            self.report(line, "step needs 'use: <connector>.<action>'")
            return
        action = self.actions.get(use)
        if action is None:
            close = [a for a in self.actions if a.split(".")[-1] == use.split(".")[-1]]
            hint = f" (did you mean {close[0]}?)" if close else did_you_mean(use, self.actions)
            self.report(step.key_lines["use"], f"unknown action '{use}'{hint}")
            return
        inputs = step.get("with")
        if inputs is None or inputs == {}:  # problems of missing inputs point at the step
            inputs = LineDict()
            inputs.line = step.key_lines.get("with", line)
            inputs.key_lines = {}
        if not isinstance(inputs, dict):
            self.report(step.key_lines.get("with", line), "'with' must be a mapping")
            return
        check_inputs(action.input_model, inputs, lambda loc, msg: self.report(
            line_of(inputs, loc) if loc else step.key_lines.get("with", line),
            f"{use}: input '{'.'.join(map(str, loc))}': {msg}" if loc else f"{use}: {msg}"))
        self._notion_properties(use, inputs)

    def _notion_properties(self, use: str, inputs: Mapping[str, Any]) -> None:
        """Property names of a database ``_databases.yaml`` declares, checked by name."""
        known = self.databases.get(str(inputs.get("database")))
        properties = inputs.get("properties")
        if not use.startswith("notion.") or known is None or not isinstance(properties, LineDict):
            return
        for name in properties:
            if name not in known and not expressions.is_template(str(name)):
                hint = did_you_mean(str(name), known) or f" (it has: {', '.join(known)})"
                self.report(properties.key_lines.get(name, properties.line),
                            f"{use}: {inputs.get('database')} has no property '{name}'{hint}")

    def _templates(self, value: Any, line: int, known_before: set[str], in_if: bool = False,
                   looped: bool = False) -> None:
        if value is None or isinstance(value, bool | int | float):
            return
        if isinstance(value, LineDict):
            for k, v in value.items():
                self._templates(v, value.key_lines.get(k, line), known_before, in_if, looped)
            return
        if isinstance(value, LineList):
            for v, ln in zip(value, value.item_lines, strict=True):
                self._templates(v, ln, known_before, in_if, looped)
            return
        text = str(value)
        if in_if and not expressions.is_template(text):
            text = "{{ " + text + " }}"
        if not expressions.is_template(text):
            return
        error, names, refs = expressions.check(text)
        if error:
            self.report(line, f"template does not parse: {error}")
            return
        allowed = expressions.CONTEXT_NAMES | (expressions.LOOP_NAMES if looped else set())
        unknown = names - allowed
        if unknown:
            self.report(line, f"unknown name {', '.join(sorted(unknown))} in template "
                        f"(templates can read: {', '.join(sorted(expressions.CONTEXT_NAMES))})")
        for ref, _ in refs:
            if ref not in known_before:
                self.report(line, f"steps.{ref} is not an earlier step "
                            f"(earlier steps: {', '.join(sorted(known_before)) or 'none'})")
        for name in sorted(expressions.attrs_of(text, "vars") - set(self.vars)):
            if name in self.all_vars:
                self.report(line, f"vars.{name} is defined below this line: vars are computed "
                            "in order, so a var can read only the ones above it")
            else:
                hint = did_you_mean(name, self.all_vars) or \
                    f" (vars: {', '.join(self.all_vars) or 'none'})"
                self.report(line, f"vars.{name} is not defined{hint}")


def _reported_above(loc: tuple[Any, ...]) -> bool:
    if loc[:1] in (("trigger",), ("vars",)) or loc == ("steps",):
        return True
    return loc[:1] == ("steps",) and (len(loc) == 2 or loc[2] in ("use", "with"))


def check_inputs(model: type[BaseModel], inputs: Mapping[str, Any],
                 report: Callable[[tuple[Any, ...], str], None]) -> None:
    """Validate an action's static inputs; values that are templates are checked at run time."""
    try:
        model.model_validate(plain(inputs))
    except ValidationError as exc:
        for err in exc.errors():
            loc = tuple(err["loc"])
            if _templated(inputs, loc):
                continue
            if err["type"] == "missing":
                report(loc, "is required")
            elif err["type"] == "extra_forbidden":
                parent = model_at(model, loc[:-1])
                report(loc, "unknown input" + (did_you_mean(str(loc[-1]), field_names(parent))
                                               if parent else ""))
            else:
                report(loc, in_words(err["type"], err["msg"], err.get("ctx")))


def _templated(value: Any, loc: tuple[Any, ...]) -> bool:
    """True when the value at ``loc``, or any value above it, is a template string."""
    node = value
    if not loc:
        return _contains_template(value)
    for part in loc:
        if isinstance(node, str):
            return expressions.is_template(node)
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            return False
    return isinstance(node, str) and expressions.is_template(node)


def _contains_template(value: Any) -> bool:
    if isinstance(value, str):
        return expressions.is_template(value)
    if isinstance(value, dict):
        return any(_contains_template(v) for v in value.values())
    if isinstance(value, list):
        return any(_contains_template(v) for v in value)
    return False


def lint_text(file: str, text: str, *, env: Callable[[str], str | None],
              actions: Mapping[str, Action],
              databases: Mapping[str, list[str]] | None = None,
              ) -> tuple[Flow | None, list[LintProblem]]:
    linter = _Linter(file, env, actions, databases)
    flow = linter.lint(text)
    if flow is not None:
        flow.path = file
    return flow, linter.problems


def load_flows(folder: Path, *, env: Callable[[str], str | None],
               actions: Mapping[str, Action]) -> FlowSet:
    """Load every flow file of a folder (or one file)."""
    result = FlowSet()
    files = [folder] if folder.is_file() else sorted(
        p for p in folder.glob("*") if p.is_file() and is_flow_file(p)
    ) if folder.exists() else []
    if not folder.exists():
        result.problems.append(LintProblem(str(folder), 0, "no such file or folder"))
    databases = notion_properties(folder) if files else {}
    for path in files:
        flow, problems = lint_text(str(path), path.read_text(encoding="utf-8"), env=env,
                                   actions=actions, databases=databases)
        result.problems += problems
        if flow is None:
            continue
        if flow.name in result.flows:
            result.problems.append(LintProblem(
                str(path), 1, f"flow name '{flow.name}' is already used by "
                              f"{result.files[flow.name]}"))
            continue
        result.flows[flow.name] = flow
        result.files[flow.name] = str(path)
    return result
