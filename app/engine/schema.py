"""JSON Schema of flow files and of ``*.tests.yaml``, built from the models the loader uses.

An editor with the YAML language server reads it (``# yaml-language-server: $schema=...``)
and completes keys, trigger fields and each action's inputs. Any string value may be a
template (``{{ ... }}``) or a ``${VAR}``: those are checked when the flow runs, so where the
model wants a number or a boolean the schema also accepts such a string.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from app.engine.flowtests_spec import SuiteSpec
from app.engine.model import STEP_ID
from app.engine.triggers import TRIGGERS
from connectors.base import Action

DIALECT = "https://json-schema.org/draft/2020-12/schema"
REF = "#/$defs/{model}"
# A template or a ${VAR}: its value is known only at run time.
DYNAMIC = {"type": "string", "pattern": r"\{\{|\{%|\$\{",
           "description": "a template or ${VAR}, checked when the flow runs"}
CONDITION = {"type": ["string", "boolean"],
             "description": "an expression (Jinja2, without braces) or true/false"}


def _model(model: type[BaseModel], defs: dict[str, Any]) -> dict[str, Any]:
    """``model``'s schema, its nested models moved into the shared ``$defs``."""
    schema = model.model_json_schema(by_alias=True, ref_template=REF)
    for name, sub in schema.pop("$defs", {}).items():
        if defs.setdefault(name, sub) != sub:  # two models of one name: rename one of them
            raise ValueError(f"two different models are both called {name} in the schema")
    return schema


def _dynamic(schema: dict[str, Any]) -> dict[str, Any]:
    """Each property of an object schema may also be a template (values come at run time)."""
    props = schema.get("properties", {})
    for name, prop in list(props.items()):
        props[name] = {"anyOf": [prop, DYNAMIC], **({"description": prop["description"]}
                                                  if "description" in prop else {})}
    return schema


def _trigger(kind: str, defs: dict[str, Any]) -> dict[str, Any]:
    cls = TRIGGERS[kind]
    long = _model(cls, defs)
    long.pop("title", None)
    short = long.get("properties", {}).get(cls.short, {"type": "string"})
    forms: list[dict[str, Any]] = [long]
    if kind != "notion.page":  # the loader asks for the long form here
        forms.insert(0, short)
    return {"type": "object", "properties": {kind: {"anyOf": forms}},
            "required": [kind], "additionalProperties": False,
            "description": f"trigger {kind}"}


def _step(actions: Mapping[str, Action], defs: dict[str, Any]) -> dict[str, Any]:
    cases = []
    for name in sorted(actions):
        action = actions[name]
        inputs = _dynamic(_model(action.input_model, defs))
        inputs.pop("title", None)
        cases.append({"if": {"properties": {"use": {"const": name}}, "required": ["use"]},
                      "then": {"properties": {"with": inputs}}})
    return {
        "type": "object",
        "properties": {
            "id": {"type": "string", "pattern": STEP_ID},
            "use": {"enum": sorted(actions), "description": "the action: connector.action",
                    "markdownEnumDescriptions": [actions[a].summary for a in sorted(actions)]},
            "with": {"type": "object"},
            "if": CONDITION,
            "timeout": {"type": "number", "exclusiveMinimum": 0, "maximum": 600},
            "for_each": {"anyOf": [{"type": "string"}, {"type": "array"}]},
        },
        "required": ["use"],
        "additionalProperties": False,
        "allOf": cases,
    }


def flow_schema(actions: Mapping[str, Action]) -> dict[str, Any]:
    """The JSON Schema of one flow file, with every trigger and every action's inputs."""
    defs: dict[str, Any] = {}
    triggers = [_trigger(kind, defs) for kind in TRIGGERS]
    schema = {
        "$schema": DIALECT,
        "title": "Passerelle flow",
        "type": "object",
        "properties": {
            "name": {"type": "string", "pattern": r"^[a-z0-9][a-z0-9_\-]{0,99}$"},
            "description": {"type": "string"},
            "on": {"oneOf": triggers, "description": "exactly one trigger"},
            "if": CONDITION,
            "vars": {"type": "object",
                     "description": "computed in order before the steps; read as vars.NAME"},
            "steps": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/Step"}},
            "enabled": {"type": "boolean"},
        },
        "required": ["name", "on", "steps"],
        "additionalProperties": False,
    }
    defs["Step"] = _step(actions, defs)
    schema["$defs"] = defs
    return schema


def tests_schema() -> dict[str, Any]:
    """The JSON Schema of a ``*.tests.yaml`` file."""
    defs: dict[str, Any] = {}
    schema = _model(SuiteSpec, defs)
    return {"$schema": DIALECT, **schema, "title": "Passerelle flow tests", "$defs": defs}
