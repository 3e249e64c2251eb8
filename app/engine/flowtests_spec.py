"""Flow test files (``<flow>.tests.yaml``): their format, and lint with ``file:line: message``.

A tests file sits next to the flow it tests and lists cases: an event, stand-in answers for
steps by id, and what must happen. This module only reads and checks the file; running the
cases is ``app.engine.flowtests``. Checks: YAML syntax, unknown keys and wrong types, the flow
exists, step ids in ``stubs``/``calls``/``no_calls`` exist, a call's ``use`` fits its step,
stand-in errors are well formed, event files exist and hold a mapping, case names are unique.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.engine.loader import is_flow_file
from app.engine.triggers import TRIGGERS
from app.engine.yamlsource import LineDict, LineList, YamlError, line_of, load, plain
from app.errors import LintProblem

TESTS_SUFFIXES = (".tests.yaml", ".tests.yml")
STUB_ERRORS = ("retryable", "permanent")
_ITEM_KEY = re.compile(r"^(?P<step>[A-Za-z_][A-Za-z0-9_]*)\[(?P<index>\d+)\]$")

Scalar = str | int | float | bool


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class CallSpec(_Strict):
    """One expected call: which step or action, and a subset of its rendered inputs."""

    step: str | None = None
    use: str | None = None
    with_: dict[str, Any] | None = Field(default=None, alias="with")


class ExpectSpec(_Strict):
    status: Literal["succeeded", "failed", "retrying", "skipped"] | None = None
    matched: bool | None = None
    calls: list[CallSpec] | None = None
    no_calls: list[str] = Field(default_factory=list)
    error_contains: str | None = None


class TriggerSpec(_Strict):
    """Overrides of the event envelope (what templates see as ``trigger``)."""

    type: Literal[tuple(TRIGGERS)] | None = None  # type: ignore[valid-type]
    source: str | None = None
    id: str | None = None
    actor: str | None = None
    dedupe_key: str | None = None
    received_at: datetime | None = None
    event: str | None = None  # a webhook provider's event type (trigger.event)


class CaseSpec(_Strict):
    name: str = Field(min_length=1)
    event: dict[str, Any] | None = None
    event_file: str | None = None
    trigger: TriggerSpec = Field(default_factory=TriggerSpec)
    env: dict[str, Scalar] = Field(default_factory=dict)
    stubs: dict[str, Any] = Field(default_factory=dict)
    expect: ExpectSpec = Field(default_factory=ExpectSpec)


class SuiteSpec(_Strict):
    flow: str | None = None
    env: dict[str, Scalar] = Field(default_factory=dict)
    cases: list[CaseSpec] = Field(min_length=1)


@dataclass(frozen=True)
class StubError:
    """A stand-in failure: the step's action raises this instead of answering."""

    kind: str  # retryable | permanent
    message: str
    retry_after: float | None = None


@dataclass
class Case:
    name: str
    line: int
    spec: CaseSpec
    event: dict[str, Any]
    env: dict[str, str]


@dataclass
class Suite:
    """One tests file: the flow it tests and its cases (empty when lint found problems)."""

    path: Path
    flow_file: Path | None = None
    flow_name: str = ""
    cases: list[Case] = field(default_factory=list)
    problems: list[LintProblem] = field(default_factory=list)


def is_tests_file(path: Path) -> bool:
    return path.name.endswith(TESTS_SUFFIXES)


def stub_error(value: Any) -> StubError | None:
    """The stand-in error a stub describes, or None when it is a plain answer.

    A stub is an error when it is a mapping whose ``error`` is ``retryable`` or ``permanent``
    and whose other keys are only ``message`` and ``retry_after``.
    """
    if not isinstance(value, dict) or value.get("error") not in STUB_ERRORS:
        return None
    if set(value) - {"error", "message", "retry_after"}:
        return None
    retry_after = value.get("retry_after")
    return StubError(str(value["error"]), str(value.get("message") or "stand-in error"),
                     float(retry_after) if isinstance(retry_after, int | float) else None)


@dataclass
class _FlowShape:
    name: str
    steps: dict[str, str]  # step id -> action
    looped: set[str]  # ids of for_each steps


def _shape(path: Path) -> _FlowShape | None:
    """Step ids and actions read from the raw YAML (env-independent; full lint runs per case)."""
    try:
        raw = load(path.read_text(encoding="utf-8"))
    except (OSError, YamlError):
        return None
    if not isinstance(raw, dict):
        return None
    steps: dict[str, str] = {}
    looped: set[str] = set()
    for index, step in enumerate(raw.get("steps") or [], start=1):
        if isinstance(step, dict):
            step_id = str(step.get("id") or f"step{index}")
            steps[step_id] = str(step.get("use") or "")
            if step.get("for_each") is not None:
                looped.add(step_id)
    return _FlowShape(str(raw.get("name") or path.stem), steps, looped)


class _SuiteLinter:
    def __init__(self, path: Path) -> None:
        self.suite = Suite(path=path)

    def report(self, line: int, message: str) -> None:
        self.suite.problems.append(LintProblem(str(self.suite.path), line, message))

    def lint(self, text: str) -> Suite:
        try:
            raw = load(text)
        except YamlError as exc:
            self.report(exc.line, exc.message)
            return self.suite
        if not isinstance(raw, LineDict):
            self.report(1, "a tests file must be a mapping with 'cases' (and optionally 'flow')")
            return self.suite
        try:
            spec = SuiteSpec.model_validate(plain(raw))
        except ValidationError as exc:
            for err in exc.errors():
                loc = tuple(err["loc"])
                msg = {"extra_forbidden": "unknown key", "missing": "is required"}.get(
                    err["type"], err["msg"])
                where = ".".join(str(p) for p in loc)
                self.report(line_of(raw, loc), f"'{where}': {msg}" if where else msg)
            return self.suite
        shape = self._flow(raw, spec)
        cases = [self._case(raw["cases"], index, case, spec, shape)
                 for index, case in enumerate(spec.cases)]
        if not self.suite.problems:
            self.suite.cases = [c for c in cases if c is not None]
        return self.suite

    def _flow(self, raw: LineDict, spec: SuiteSpec) -> _FlowShape | None:
        path = self.suite.path
        stem = path.name.removesuffix(".tests.yaml").removesuffix(".tests.yml")
        here = [path.parent / f"{stem}{ext}" for ext in (".yaml", ".yml")]
        candidates = [p for p in here if p.is_file()]
        if spec.flow is not None:
            candidates += sorted(p for p in path.parent.glob("*")
                                 if p.is_file() and is_flow_file(p) and p not in candidates)
        for candidate in candidates:
            shape = _shape(candidate)
            if spec.flow is None or (shape is not None and shape.name == spec.flow):
                self.suite.flow_file = candidate
                self.suite.flow_name = shape.name if shape else stem
                return shape
        if spec.flow is None:
            self.report(1, f"no flow file {stem}.yaml next to this tests file; "
                           f"name the flow with 'flow: <name>'")
        else:
            self.report(raw.key_lines["flow"], f"no flow named '{spec.flow}' in {path.parent}")
        self.suite.flow_name = spec.flow or stem
        return None

    def _case(self, raws: LineList, index: int, spec: CaseSpec, suite: SuiteSpec,
              shape: _FlowShape | None) -> Case | None:
        raw: LineDict = raws[index]
        line = raws.item_lines[index]
        if any(c.name == spec.name for c in suite.cases[:index]):
            self.report(raw.key_lines["name"], f"duplicate case name '{spec.name}'")
        event = self._event(raw, spec)
        if shape is not None:
            self._steps(raw, spec, shape)
        expect = spec.expect
        if expect.status == "skipped" and expect.matched:
            self.report(line_of(raw, ("expect", "status")),
                        "status 'skipped' means the flow did not match; it contradicts "
                        "'matched: true'")
        env = {k: _text(v) for k, v in {**suite.env, **spec.env}.items()}
        return Case(spec.name, line, spec, event or {}, env) if event is not None else None

    def _event(self, raw: LineDict, spec: CaseSpec) -> dict[str, Any] | None:
        if spec.event is not None and spec.event_file is not None:
            self.report(raw.key_lines["event_file"], "give either 'event' or 'event_file'")
            return None
        if spec.event_file is None:
            return spec.event or {}
        line = raw.key_lines["event_file"]
        file = self.suite.path.parent / spec.event_file
        try:
            text = file.read_text(encoding="utf-8")
            data = json.loads(text) if file.suffix == ".json" else plain(load(text))
        except OSError:
            self.report(line, f"event file {file} cannot be read")
            return None
        except (ValueError, YamlError) as exc:
            self.report(line, f"event file {file} is not valid {file.suffix[1:] or 'YAML'}: "
                              f"{exc}")
            return None
        if not isinstance(data, dict):
            self.report(line, f"event file {file} must hold a mapping (the event data)")
            return None
        return data

    def _steps(self, raw: LineDict, spec: CaseSpec, shape: _FlowShape) -> None:
        known = ", ".join(shape.steps) or "none"

        def step_of(key: str, line: int, what: str) -> str | None:
            m = _ITEM_KEY.match(key)
            base = m["step"] if m else key
            if base not in shape.steps:
                self.report(line, f"{what}: unknown step '{base}' "
                                  f"(steps of {shape.name}: {known})")
                return None
            if m and base not in shape.looped:
                self.report(line, f"{what}: '{key}' names an item, but step '{base}' has "
                                  f"no for_each")
            return base

        stubs = raw.get("stubs") or LineDict()
        for key, value in spec.stubs.items():
            line = stubs.key_lines.get(key, raw.line)
            step_of(key, line, "stubs")
            if not isinstance(value, dict) or "error" not in value:
                continue
            if set(value) <= {"error", "message", "retry_after"}:
                if value["error"] not in STUB_ERRORS:
                    self.report(line, f"stubs: '{key}': error must be one of "
                                      f"{', '.join(STUB_ERRORS)}")
            elif value["error"] in STUB_ERRORS:
                self.report(line, f"stubs: '{key}' looks like a stand-in error; such a stub "
                                  f"may only have error, message and retry_after")
        expect = raw.get("expect") or LineDict()
        for i, call in enumerate(spec.expect.calls or []):
            line = line_of(expect, ("calls", i))
            if call.step is None and call.use is None:
                self.report(line, "calls: a call needs 'step' or 'use'")
                continue
            base = step_of(call.step, line, "calls") if call.step else None
            if base and call.use and shape.steps[base] != call.use:
                self.report(line, f"calls: step '{base}' uses {shape.steps[base]}, "
                                  f"not {call.use}")
            if call.step is None and call.use not in shape.steps.values():
                self.report(line, f"calls: no step of {shape.name} uses {call.use}")
        listed = {c.step for c in spec.expect.calls or [] if c.step}
        for i, step_id in enumerate(spec.expect.no_calls):
            line = line_of(expect, ("no_calls", i))
            if step_of(step_id, line, "no_calls") and step_id in listed:
                self.report(line, f"no_calls: step '{step_id}' is also listed in calls")


def _text(value: Scalar) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def load_suite(path: Path) -> Suite:
    """Read and lint one tests file. ``problems`` is empty when its cases can run."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        suite = Suite(path=path)
        suite.problems.append(LintProblem(str(path), 0, f"cannot read: {exc.strerror}"))
        return suite
    suite = _SuiteLinter(path).lint(text)
    suite.problems.sort(key=lambda p: p.line)
    return suite


def find_tests_files(path: Path) -> list[Path]:
    """The tests files of a folder (not recursive, like the flow loader), or the file itself."""
    if path.is_file():
        return [path]
    return sorted(p for p in path.glob("*") if p.is_file() and is_tests_file(p))
