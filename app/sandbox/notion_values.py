"""Page property values: validating writes against a schema, and Notion's read shape.

Select and status values are stored as option ids and multi-select as a list of them, so a
renamed option shows its new name; people and relations as lists of ids.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from app.sandbox.notion_content import array, plain, rich_text
from app.sandbox.notion_errors import body_invalid, too_long, validation
from app.sandbox.notion_limits import MAX_EMAIL, MAX_PHONE, MAX_URL, check_keys, check_length
from app.sandbox.notion_model import BOT_USER_ID, Page, Prop, Schema, find_prop, parse_id, stamp
from app.sandbox.notion_schema import new_option

READ_ONLY = {
    "created_time", "last_edited_time", "created_by", "last_edited_by", "formula", "rollup",
    "unique_id",
}  # fmt: skip
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_PROP_REF = re.compile(r'^\s*prop\("([^"]+)"\)\s*$')


class Lookup(Protocol):
    """What rendering and validation need to know about the rest of the workspace."""

    def page_source(self, page_id: str) -> str | None:
        """The data source id of an existing page ("" outside any), None if unknown."""

    def user(self, user_id: str) -> dict[str, Any] | None: ...

    def page_and_schema(self, page_id: str) -> tuple[Page, Schema] | None: ...


@dataclass
class Writer:
    """Validates one request's property values against `schema`.

    New select options wait in `new_options` and reach the schema only on `commit()`, so a
    rejected request changes nothing.
    """

    schema: Schema
    lookup: Lookup
    new_options: list[tuple[Prop, dict[str, Any]]] = field(default_factory=list)

    def values(self, raw: Any, path: str = "body.properties") -> dict[str, Any]:
        if not isinstance(raw, dict):
            raise body_invalid(path, "should be an object", raw)
        out: dict[str, Any] = {}
        for key, value in raw.items():
            prop = find_prop(self.schema, key)
            if prop is None:
                raise validation(f"{key} is not a property that exists.")
            out[prop.id] = self.value(prop, value, f"{path}.{key}")
        return out

    def commit(self) -> None:
        for prop, option in self.new_options:
            prop.config["options"].append(option)

    def value(self, prop: Prop, raw: Any, path: str) -> Any:
        if prop.type in READ_ONLY:
            raise validation(f"{prop.name} is a {prop.type} property and cannot be updated.")
        if isinstance(raw, list) and prop.type in ("title", "rich_text"):
            raw = {prop.type: raw}  # Notion accepts the bare rich text array too
        if not isinstance(raw, dict) or prop.type not in raw:
            raise validation(f"{prop.name} is expected to be {prop.type}.")
        check_keys(raw, {"type", "id", prop.type}, path)
        value, path = raw[prop.type], f"{path}.{prop.type}"
        if prop.type in ("title", "rich_text"):
            return rich_text(value, path)
        if value is None and prop.type not in ("checkbox", "multi_select", "people", "relation"):
            return None
        if prop.type == "number":
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise body_invalid(path, "should be a number or null", value)
            return value
        if prop.type == "checkbox":
            if not isinstance(value, bool):
                raise body_invalid(path, "should be a boolean", value)
            return value
        if prop.type in ("url", "email", "phone_number"):
            if not isinstance(value, str):
                raise body_invalid(path, "should be a string or null", value)
            limit = {"url": MAX_URL, "email": MAX_EMAIL}.get(prop.type, MAX_PHONE)
            check_length(value, path, limit)
            return value
        if prop.type in ("select", "status"):
            return self._option(prop, value, path)
        if prop.type == "multi_select":
            ids = [
                self._option(prop, item, f"{path}[{i}]")
                for i, item in enumerate(array(value, path))
            ]
            return list(dict.fromkeys(ids))
        return getattr(self, f"_{prop.type}")(prop, value, path)

    def _option(self, prop: Prop, raw: Any, path: str) -> str:
        if not isinstance(raw, dict):
            raise body_invalid(path, "should be an object", raw)
        check_keys(raw, {"id", "name", "color", "description"}, path)
        options = prop.config["options"] + [o for p, o in self.new_options if p is prop]
        if "id" in raw and "name" not in raw:
            found = next((o for o in options if o["id"] == raw["id"]), None)
            if found is None:
                raise validation(f"{prop.name}: there is no option with id {raw['id']}.")
            return str(found["id"])
        name = raw.get("name")
        if not isinstance(name, str) or not name:
            raise body_invalid(f"{path}.name", "should be a non-empty string", name)
        found = next((o for o in options if o["name"] == name), None)
        if found is None:
            if prop.type == "status":  # Notion creates select options on write, never statuses
                raise validation(
                    f'Invalid status option. Status option "{name}" does not exist for {prop.name}.'
                )
            if "," in name:
                raise validation(
                    f"Invalid select option for {prop.name}, commas not allowed: {name}"
                )
            if len(name) > 100:
                raise too_long(f"{path}.name", 100, len(name))
            found = new_option(name)
            self.new_options.append((prop, found))
        return str(found["id"])

    def _date(self, prop: Prop, value: Any, path: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise body_invalid(path, "should be an object or null", value)
        check_keys(value, {"start", "end", "time_zone"}, path)
        start = _iso(value.get("start"), f"{path}.start")
        end = _iso(value["end"], f"{path}.end") if value.get("end") is not None else None
        zone = value.get("time_zone")
        if zone is not None:
            try:
                ZoneInfo(zone)
            except (ZoneInfoNotFoundError, ValueError, TypeError):
                raise body_invalid(
                    f"{path}.time_zone", "should be an IANA time zone", zone
                ) from None
        return {"start": start, "end": end, "time_zone": zone}

    def _people(self, prop: Prop, value: Any, path: str) -> list[str]:
        ids = _ids(value, path)
        for user_id in ids:
            if self.lookup.user(user_id) is None:
                raise validation(f"{prop.name} contains user {user_id}, which does not exist.")
        return ids

    def _relation(self, prop: Prop, value: Any, path: str) -> list[str]:
        ids = _ids(value, path)
        for page_id in ids:
            if self.lookup.page_source(page_id) != prop.config.get("data_source_id"):
                raise validation(
                    f"{prop.name} contains page {page_id}, which is not a page of the related "
                    "data source."
                )
        return ids

    def _files(self, prop: Prop, value: Any, path: str) -> list[dict[str, Any]]:
        files = []
        for i, item in enumerate(array(value, path)):
            url = item.get("external", {}).get("url") if isinstance(item, dict) else None
            if not isinstance(url, str):
                raise body_invalid(f"{path}[{i}].external.url", "should be a string", item)
            check_length(url, f"{path}[{i}].external.url", MAX_URL)
            name = item.get("name", url)
            if not isinstance(name, str):
                raise body_invalid(f"{path}[{i}].name", "should be a string", name)
            files.append({"name": name, "type": "external", "external": {"url": url}})
        return files


def initial_values(schema: Schema) -> dict[str, Any]:
    """Notion gives every new page the first option of each status property."""
    return {
        prop.id: prop.config["options"][0]["id"]
        for prop in schema.values()
        if prop.type == "status" and prop.config["options"]
    }


def render(schema: Schema, page: Page, lookup: Lookup) -> dict[str, Any]:
    """`properties` of a page object: every property of the schema, with `id` and `type`."""
    out = {}
    for prop in schema.values():
        value = _read(prop, page, schema, lookup)
        out[prop.name] = {"id": prop.id, "type": prop.type, prop.type: value}
        if prop.type == "relation":
            out[prop.name]["has_more"] = False
    return out


def _read(prop: Prop, page: Page, schema: Schema, lookup: Lookup) -> Any:
    stored = page.values.get(prop.id)
    options = {o["id"]: o for o in prop.config.get("options", [])}
    match prop.type:
        case "title" | "rich_text" | "files":
            return stored or []
        case "checkbox":
            return bool(stored)
        case "select" | "status":
            return _option_read(options.get(stored)) if stored else None
        case "multi_select":
            return [_option_read(options[i]) for i in stored or [] if i in options]
        case "people":
            return [lookup.user(i) or {"object": "user", "id": i} for i in stored or []]
        case "relation":
            return [{"id": i} for i in stored or []]
        case "created_time":
            return stamp(page.created)
        case "last_edited_time":
            return stamp(page.edited)
        case "created_by" | "last_edited_by":
            return lookup.user(BOT_USER_ID)
        case "unique_id":
            return {"prefix": prop.config.get("prefix"), "number": page.number}
        case "formula":
            return _formula(prop, page, schema, lookup)
        case "rollup":
            return _rollup(prop, page, schema, lookup)
    return stored


def _option_read(option: dict[str, Any] | None) -> dict[str, Any] | None:
    return option and {key: option[key] for key in ("id", "name", "color")}


def _formula(prop: Prop, page: Page, schema: Schema, lookup: Lookup) -> dict[str, Any]:
    """A deliberately small evaluator: `prop("Name")` and literals; anything else is empty."""
    expression = prop.config.get("expression", "").strip()
    ref = _PROP_REF.match(expression)
    target = find_prop(schema, ref.group(1)) if ref else None
    if target is not None and target.type not in ("formula", "rollup"):
        value = _read(target, page, schema, lookup)
        if target.type in ("number", "unique_id"):
            number = value["number"] if target.type == "unique_id" else value
            return {"type": "number", "number": number}
        if target.type == "checkbox":
            return {"type": "boolean", "boolean": value}
        if target.type in ("date", "created_time", "last_edited_time"):
            start = value if isinstance(value, str) else value and value["start"]
            return {"type": "date", "date": start and {"start": start, "end": None}}
        if isinstance(value, list) and target.type in ("title", "rich_text"):
            return {"type": "string", "string": plain(value)}
        if isinstance(value, dict) and "name" in value:
            return {"type": "string", "string": value["name"]}
    if re.fullmatch(r"-?\d+(\.\d+)?", expression):
        return {
            "type": "number",
            "number": float(expression) if "." in expression else int(expression),
        }
    if expression in ("true", "false"):
        return {"type": "boolean", "boolean": expression == "true"}
    quoted = re.fullmatch(r'"([^"]*)"', expression)
    return {"type": "string", "string": quoted.group(1) if quoted else None}


def _rollup(prop: Prop, page: Page, schema: Schema, lookup: Lookup) -> dict[str, Any]:
    function = prop.config.get("function", "show_original")
    relation = find_prop(schema, prop.config.get("relation_property_name", ""))
    values = []
    for page_id in page.values.get(relation.id, []) if relation else []:
        found = lookup.page_and_schema(page_id)
        if found is None:
            continue
        related, related_schema = found
        target = find_prop(related_schema, prop.config.get("rollup_property_name", ""))
        if target is not None and target.type != "rollup":  # no rollups of rollups
            value = _read(target, related, related_schema, lookup)
            values.append({"type": target.type, target.type: value})
    numbers = [v["number"] for v in values if isinstance(v.get("number"), int | float)]
    if function in ("count", "count_all", "count_values"):
        return {"type": "number", "number": len(values), "function": function}
    aggregate: dict[str, Callable[[list[float]], float]] = {
        "sum": sum,
        "min": min,
        "max": max,
        "average": lambda n: sum(n) / len(n),
    }
    if function in aggregate:
        number = aggregate[function](numbers) if numbers else None
        return {"type": "number", "number": number, "function": function}
    return {"type": "array", "array": values, "function": function}


def _ids(value: Any, path: str) -> list[str]:
    """`[{"id": ...}, ...]` (people, relations) as distinct dashed ids."""
    ids = []
    for i, item in enumerate(array(value, path)):
        if not isinstance(item, dict):
            raise body_invalid(f"{path}[{i}]", "should be an object with an id", item)
        ids.append(parse_id(item.get("id"), f"{path}[{i}].id"))
    return list(dict.fromkeys(ids))


def _iso(value: Any, path: str) -> str:
    """Notion's ISO 8601 dates: `2025-01-31` or a date-time, kept with milliseconds."""
    if isinstance(value, str):
        try:
            if _DATE_ONLY.match(value):
                return date.fromisoformat(value).isoformat()
            if "T" in value:
                return datetime.fromisoformat(value).isoformat(timespec="milliseconds")
        except ValueError:
            pass
    raise body_invalid(path, "should be a valid ISO 8601 date string", value)
