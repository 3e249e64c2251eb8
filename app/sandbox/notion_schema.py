"""Data source schemas: properties from Notion's create/update specs and from our seed file.

Our seed file (flows/_databases.yaml) uses Notion's create shape except for relations, which
name the target by title (`relation: {to: Releases, synced_property: Feedback}`); `link()`
turns those into Notion's `dual_property` relations on both sides.
"""

from __future__ import annotations

from collections.abc import Callable
from copy import deepcopy
from typing import Any

from app.sandbox.notion_content import array
from app.sandbox.notion_errors import body_invalid, too_long, validation
from app.sandbox.notion_model import DataSource, Prop, Schema, find_prop, new_prop_id, parse_id

TYPES = {
    "title", "rich_text", "number", "select", "multi_select", "status", "date", "people",
    "files", "checkbox", "url", "email", "phone_number", "formula", "relation", "rollup",
    "created_time", "created_by", "last_edited_time", "last_edited_by", "unique_id",
}  # fmt: skip
COLORS = {"default", "gray", "brown", "orange", "yellow", "green", "blue", "purple", "pink", "red"}
STATUS_GROUPS = (("To-do", "gray"), ("In progress", "blue"), ("Complete", "green"))
DEFAULT_STATUS = [{"name": "Not started"}, {"name": "In progress"}, {"name": "Done"}]

Resolve = Callable[[str], DataSource | None]  # a data source by id


def build(name: str, spec: Any, path: str, resolve: Resolve) -> Prop:
    """One property from Notion's create shape, e.g. `{"select": {"options": [...]}}`."""
    if not isinstance(spec, dict):
        raise body_invalid(path, "should be an object", spec)
    kinds = [k for k in spec if k in TYPES]
    kind = spec.get("type") or (kinds[0] if len(kinds) == 1 else None)
    if kind not in TYPES:
        raise body_invalid(path, "should define exactly one property type", spec)
    config = spec.get(kind) or {}
    if not isinstance(config, dict):
        raise body_invalid(f"{path}.{kind}", "should be an object", config)
    prop_id = "title" if kind == "title" else new_prop_id()
    return Prop(prop_id, name, kind, _config(kind, config, f"{path}.{kind}", resolve))


def create_schema(spec: Any, path: str, resolve: Resolve) -> Schema:
    if not isinstance(spec, dict):
        raise body_invalid(path, "should be an object", spec)
    props = [build(name, value, f"{path}.{name}", resolve) for name, value in spec.items()]
    titles = sum(prop.type == "title" for prop in props)
    if titles != 1:
        raise body_invalid(path, "should have exactly one title property", titles)
    return {prop.id: prop for prop in props}


def update_schema(current: Schema, spec: Any, path: str, resolve: Resolve) -> Schema:
    """A new schema after a `PATCH /data_sources/{id}`: add, rename, retype or remove (null)."""
    if not isinstance(spec, dict):
        raise body_invalid(path, "should be an object", spec)
    schema = deepcopy(current)
    for key, change in spec.items():
        prop, where = find_prop(schema, key), f"{path}.{key}"
        if change is None:
            if prop is None or prop.type == "title":
                raise validation(f"{key} is not a property that can be removed.")
            del schema[prop.id]
            continue
        if not isinstance(change, dict):
            raise body_invalid(where, "should be an object or null", change)
        name = change.get("name", prop.name if prop else key)
        if not isinstance(name, str) or not name.strip():
            raise body_invalid(f"{where}.name", "should be a non-empty string", name)
        typed = {k: v for k, v in change.items() if k not in ("name", "description")}
        if prop is None:
            if not typed:
                raise validation(f"{key} is not a property that exists.")
            prop = build(name, typed, where, resolve)
            if prop.type == "title":
                raise validation(f"{name}: a data source has exactly one title property.")
            schema[prop.id] = prop
        elif typed:
            rebuilt = build(name, typed, where, resolve)
            if (prop.type == "title") != (rebuilt.type == "title"):
                raise validation(f"{prop.name}: a data source has exactly one title property.")
            prop.type, prop.config = rebuilt.type, _keep_option_ids(prop, rebuilt)
        if any(other.name == name and other is not prop for other in schema.values()):
            raise validation(f"A property named {name} already exists.")
        prop.name = name
    return schema


def seed_schema(
    spec: dict[str, Any], title: str
) -> tuple[Schema, list[tuple[Prop, dict[str, Any]]]]:
    """A schema from our seed file; relations come back unresolved with their `{to, ...}`."""
    schema: Schema = {}
    relations: list[tuple[Prop, dict[str, Any]]] = []
    for name, value in spec.items():
        relation = value.get("relation") if isinstance(value, dict) else None
        if isinstance(relation, dict) and "to" in relation:
            prop = Prop(new_prop_id(), name, "relation")
            relations.append((prop, relation))
        else:
            prop = build(name, value, f"seed {title}.{name}", lambda _id: None)
        schema[prop.id] = prop
    return schema, relations


def link(source: DataSource, prop: Prop, target: DataSource, synced_name: str | None) -> None:
    """Points `prop` at `target`; with a synced name, makes it two-way (creating the other side)."""
    prop.config = _relation(target, "single_property")
    if synced_name is None:
        return
    other = find_prop(target.properties, synced_name)
    if other is None:
        other = Prop(new_prop_id(), synced_name, "relation")
        target.properties[other.id] = other
    if other.type != "relation":
        raise validation(f"{synced_name} already exists and is not a relation.")
    other.config = _relation(source, "dual_property", prop)
    prop.config = _relation(target, "dual_property", other)


def _relation(target: DataSource, kind: str, synced: Prop | None = None) -> dict[str, Any]:
    detail = (
        {"synced_property_name": synced.name, "synced_property_id": synced.id} if synced else {}
    )
    return {
        "database_id": target.database_id,
        "data_source_id": target.id,
        "type": kind,
        kind: detail,
    }


def _config(kind: str, config: dict[str, Any], path: str, resolve: Resolve) -> dict[str, Any]:
    if kind == "number":
        return {"format": str(config.get("format", "number"))}
    if kind in ("select", "multi_select"):
        return {"options": _options(config.get("options", []), f"{path}.options")}
    if kind == "status":
        options = _options(config.get("options") or DEFAULT_STATUS, f"{path}.options")
        return {"options": options, "groups": _status_groups(options)}
    if kind == "formula":
        if not isinstance(config.get("expression"), str):
            raise body_invalid(f"{path}.expression", "should be a string", config.get("expression"))
        return {"expression": config["expression"]}
    if kind == "relation":
        target = resolve(parse_id(config.get("data_source_id"), f"{path}.data_source_id"))
        if target is None:
            raise body_invalid(
                f"{path}.data_source_id", "should be an existing data source", config
            )
        way = config.get(
            "type", "dual_property" if "dual_property" in config else "single_property"
        )
        if way not in ("single_property", "dual_property"):
            raise body_invalid(
                f"{path}.type", 'should be "single_property" or "dual_property"', way
            )
        return _relation(target, way)
    if kind == "rollup":
        for key in ("relation_property_name", "rollup_property_name", "function"):
            if not isinstance(config.get(key), str):
                raise body_invalid(f"{path}.{key}", "should be a string", config.get(key))
        return {key: config[key] for key in config}
    if kind == "unique_id":
        prefix = config.get("prefix")
        if prefix is not None and not isinstance(prefix, str):
            raise body_invalid(f"{path}.prefix", "should be a string or null", prefix)
        return {"prefix": prefix}
    return {}


def _options(raw: Any, path: str) -> list[dict[str, Any]]:
    options: list[dict[str, Any]] = []
    for i, option in enumerate(array(raw, path)):
        where = f"{path}[{i}]"
        name = option.get("name") if isinstance(option, dict) else None
        if not isinstance(name, str) or not name:
            raise body_invalid(f"{where}.name", "should be a non-empty string", name)
        if "," in name:
            raise validation(f"Invalid select option, commas not allowed: {name}")
        if len(name) > 100:
            raise too_long(f"{where}.name", 100, len(name))
        color = option.get("color", "default")
        if color not in COLORS:
            raise body_invalid(f"{where}.color", "should be a Notion color", color)
        if all(known["name"] != name for known in options):
            options.append({**new_option(name), "color": color})
    return options


def new_option(name: str) -> dict[str, Any]:
    return {"id": new_prop_id(), "name": name, "color": "default", "description": None}


def _status_groups(options: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # First option is "to do", last is "complete", the rest "in progress" (Notion's default).
    ids = [option["id"] for option in options]
    members = [ids[:1], ids[1:-1], ids[-1:] if len(ids) > 1 else []]
    return [
        {"id": new_prop_id(), "name": name, "color": color, "option_ids": group}
        for (name, color), group in zip(STATUS_GROUPS, members, strict=True)
    ]


def _keep_option_ids(old: Prop, new: Prop) -> dict[str, Any]:
    if old.type != new.type or "options" not in new.config:
        return new.config
    known = {option["name"]: option for option in old.config.get("options", [])}
    options = [known.get(option["name"], option) for option in new.config["options"]]
    config = {**new.config, "options": options}
    if new.type == "status":
        config["groups"] = _status_groups(options)
    return config
