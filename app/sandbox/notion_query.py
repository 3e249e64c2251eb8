"""Notion's query language over rendered page objects: filters, sorts and cursors.

Filters and sorts are compiled against the schema first, so a bad filter is rejected even
when no page would be looked at. Date-only filter values compare by (UTC) day.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from app.sandbox.notion_content import array, plain
from app.sandbox.notion_errors import body_invalid, validation
from app.sandbox.notion_model import Prop, Schema, find_prop, parse_id

Row = dict[str, Any]  # a page object as the API returns it
Test = Callable[[Row], bool]
SortKey = Callable[[Row], Any]

FAMILIES = {
    "title": "text", "rich_text": "text", "url": "text", "email": "text", "phone_number": "text",
    "number": "number", "unique_id": "number", "checkbox": "checkbox", "select": "option",
    "status": "option", "multi_select": "options", "date": "date", "created_time": "date",
    "last_edited_time": "date", "relation": "ids", "people": "ids", "created_by": "ids",
    "last_edited_by": "ids", "files": "files",
}  # fmt: skip
ALIASES = {  # other filter keys Notion accepts for a property type
    "title": "rich_text", "url": "rich_text", "email": "rich_text", "phone_number": "rich_text",
    "created_time": "date", "last_edited_time": "date", "created_by": "people",
    "last_edited_by": "people",
}  # fmt: skip
FORMULA_FAMILIES = {"string": "text", "number": "number", "checkbox": "checkbox", "date": "date"}
EMPTY = ("is_empty", "is_not_empty")
OPS = {
    "text": ("equals", "does_not_equal", "contains", "does_not_contain", "starts_with",
             "ends_with"),
    "number": ("equals", "does_not_equal", "greater_than", "less_than",
               "greater_than_or_equal_to", "less_than_or_equal_to"),
    "checkbox": ("equals", "does_not_equal"),
    "option": ("equals", "does_not_equal"),
    "options": ("contains", "does_not_contain"),
    "date": ("equals", "before", "after", "on_or_before", "on_or_after"),
    "ids": ("contains", "does_not_contain"),
    "files": (),
}  # fmt: skip
COMPARE = {
    "equals": operator.eq, "does_not_equal": operator.ne, "greater_than": operator.gt,
    "less_than": operator.lt, "greater_than_or_equal_to": operator.ge,
    "less_than_or_equal_to": operator.le, "before": operator.lt, "after": operator.gt,
    "on_or_before": operator.le, "on_or_after": operator.ge,
}  # fmt: skip


def compile_filter(spec: Any, schema: Schema, path: str = "body.filter") -> Test:
    if spec is None:
        return lambda row: True
    if not isinstance(spec, dict):
        raise body_invalid(path, "should be an object", spec)
    for compound, combine in (("and", all), ("or", any)):
        if compound in spec:
            parts = array(spec[compound], f"{path}.{compound}")
            tests = [
                compile_filter(p, schema, f"{path}.{compound}[{i}]") for i, p in enumerate(parts)
            ]
            return lambda row: combine(test(row) for test in tests)
    if "timestamp" in spec:
        kind = spec["timestamp"]
        if kind not in ("created_time", "last_edited_time"):
            raise body_invalid(f"{path}.timestamp", "should be a timestamp type", kind)
        check = _condition("date", spec.get(kind), f"{path}.{kind}")
        return lambda row: check(row[kind])
    if "property" not in spec:
        raise body_invalid(path, 'should have "property", "timestamp", "and" or "or"', spec)
    prop = _prop(schema, spec["property"], "property")
    keys = [key for key in spec if key not in ("property", "type")]
    key = keys[0] if len(keys) == 1 else ""
    condition = spec.get(key)
    family = FAMILIES.get(prop.type)
    if prop.type == "formula" and key == "formula" and isinstance(condition, dict):
        kind = next(iter(condition), "") if len(condition) == 1 else ""
        family, key, condition = FORMULA_FAMILIES.get(kind), f"formula.{kind}", condition.get(kind)
    elif key not in (prop.type, ALIASES.get(prop.type)):
        family = None
    if family is None:
        raise validation(f"{prop.name} is a {prop.type} property and cannot take a {key} filter.")
    check = _condition(family, condition, f"{path}.{key}")
    extract = _extractor(prop, family)
    return lambda row: check(extract(row))


def compile_sorts(
    spec: Any, schema: Schema, path: str = "body.sorts"
) -> list[tuple[SortKey, bool]]:
    keys = []
    for i, sort in enumerate(array(spec or [], path)):
        where = f"{path}[{i}]"
        if not isinstance(sort, dict):
            raise body_invalid(where, "should be an object", sort)
        direction = sort.get("direction", "ascending")
        if direction not in ("ascending", "descending"):
            raise body_invalid(
                f"{where}.direction", 'should be "ascending" or "descending"', direction
            )
        if sort.get("timestamp") in ("created_time", "last_edited_time"):
            keys.append((_field(str(sort["timestamp"])), direction == "descending"))
        elif "property" in sort:
            prop = _prop(schema, sort["property"], "sort property")
            keys.append((_sort_key(prop), direction == "descending"))
        else:
            raise body_invalid(where, 'should have "property" or "timestamp"', sort)
    return keys


def sort_rows(rows: list[Row], keys: list[tuple[SortKey, bool]]) -> list[Row]:
    """Stable multi-key sort; empty values go last in either direction, as in Notion."""
    for key, descending in reversed(keys):
        filled = sorted((r for r in rows if key(r) is not None), key=key, reverse=descending)
        rows = filled + [r for r in rows if key(r) is None]
    return rows


def paginate(items: list[dict[str, Any]], cursor: Any, size: Any, kind: str, where: str) -> Row:
    """A list response; the cursor is the id of the first item of the next page."""
    if isinstance(size, str) and size.isdigit():
        size = int(size)
    if size is None:
        size = 100
    if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= 100:
        raise body_invalid(f"{where}.page_size", "should be a number from 1 to 100", size)
    ids = [item["id"] for item in items]
    if cursor is not None and cursor not in ids:
        raise validation(f"start_cursor provided is invalid: {cursor}")
    start = ids.index(cursor) if cursor is not None else 0
    more = start + size < len(items)
    return {
        "object": "list",
        "results": items[start : start + size],
        "next_cursor": ids[start + size] if more else None,
        "has_more": more,
        "type": kind,
        kind: {},
    }


def _prop(schema: Schema, key: Any, what: str) -> Prop:
    prop = find_prop(schema, key) if isinstance(key, str) else None
    if prop is None:
        raise validation(f"Could not find {what} with name or id: {key}")
    return prop


def _field(name: str) -> SortKey:
    return lambda row: row[name]


def _extractor(prop: Prop, family: str) -> Callable[[Row], Any]:
    def extract(row: Row) -> Any:
        value = row["properties"][prop.name][prop.type]
        if prop.type in ("formula", "rollup"):
            value = value.get(value.get("type"))
            if isinstance(value, dict):  # a date result
                return value.get("start")
            return len(value) if isinstance(value, list) else value
        if family == "text":
            return plain(value) if isinstance(value, list) else value or ""
        if prop.type == "unique_id":
            return value["number"]
        if family == "option":
            return value and value["name"]
        if family == "options":
            return [option["name"] for option in value]
        if family == "ids":
            return [item["id"] for item in (value if isinstance(value, list) else [value])]
        if prop.type == "date":
            return value and value["start"]
        return value

    return extract


def _condition(family: str, spec: Any, path: str) -> Callable[[Any], bool]:
    allowed = OPS[family] + ((), EMPTY)[family != "checkbox"]
    if not isinstance(spec, dict) or len(spec) != 1 or next(iter(spec)) not in allowed:
        raise body_invalid(path, f"should have exactly one of {', '.join(allowed)}", spec)
    [(op, arg)] = spec.items()
    path = f"{path}.{op}"
    if op in EMPTY:
        if arg is not True:
            raise body_invalid(path, "should be true", arg)
        return lambda value: (value in (None, "", [])) == (op == "is_empty")
    if family == "date":
        return _date_condition(op, arg, path)
    if family == "number" and (isinstance(arg, bool) or not isinstance(arg, int | float)):
        raise body_invalid(path, "should be a number", arg)
    if family == "checkbox" and not isinstance(arg, bool):
        raise body_invalid(path, "should be a boolean", arg)
    if family in ("text", "option", "options") and not isinstance(arg, str):
        raise body_invalid(path, "should be a string", arg)
    if family == "ids":
        arg = parse_id(arg, path)
    if family in ("options", "ids"):
        return lambda value: (arg in value) == (op == "contains")
    if family == "text" and op not in ("equals", "does_not_equal"):
        return _text_condition(op, arg)
    if op == "does_not_equal":
        return lambda value: value != arg
    compare = COMPARE[op]
    return lambda value: value is not None and compare(value, arg)


def _text_condition(op: str, arg: str) -> Callable[[Any], bool]:
    needle = arg.lower()  # Notion's contains/starts_with/ends_with ignore case
    tests: dict[str, Callable[[str], bool]] = {
        "contains": lambda text: needle in text,
        "does_not_contain": lambda text: needle not in text,
        "starts_with": lambda text: text.startswith(needle),
        "ends_with": lambda text: text.endswith(needle),
    }
    return lambda value: tests[op](str(value or "").lower())


def _date_condition(op: str, arg: Any, path: str) -> Callable[[Any], bool]:
    target = moment(arg)
    if target is None:
        raise body_invalid(path, "should be a valid ISO 8601 date string", arg)
    day_only = len(arg) == 10
    compare = COMPARE[op]

    def check(value: Any) -> bool:
        found = moment(value)
        if found is None or target is None:
            return False
        return bool(compare(found.date(), target.date()) if day_only else compare(found, target))

    return check


def moment(value: Any) -> datetime | None:
    """An ISO date or date-time as an aware UTC datetime (dates at midnight UTC)."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def _sort_key(prop: Prop) -> SortKey:
    family = FAMILIES.get(prop.type, "other")
    extract = _extractor(prop, family)
    names = [option["name"] for option in prop.config.get("options", [])]

    def key(row: Row) -> Any:
        value = extract(row)
        if value in (None, "", []):
            return None
        if family == "text":
            return str(value).lower()
        if family == "checkbox":
            return int(value)
        if family == "option":
            return names.index(value) if value in names else len(names)
        if family == "options":
            return min(names.index(v) if v in names else len(names) for v in value)
        if family == "date":
            return moment(value)
        if family in ("ids", "files"):
            return len(value)
        return value

    return key
