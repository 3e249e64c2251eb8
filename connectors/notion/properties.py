"""Plain flow values to Notion property values and back (Notion API version 2025-09-03).

Flows speak in plain values (``"High"``, ``["a", "b"]``, ``"2026-11-21"``); Notion wants typed
property value objects. ``to_notion`` converts one value using the data source's property
schema, ``from_notion`` reads one back. Nothing here does HTTP: looking a user up by email is
delegated to the ``resolve_user`` callable, and relation lookups by key happen before this.

Notion counts the 2,000-character limit of a text object in UTF-16 code units (an emoji counts
two), so ``split_text`` measures the same way and never cuts a character in half.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Any
from urllib.parse import unquote, urlsplit

MAX_TEXT = 2_000  # UTF-16 code units per text object
MAX_ITEMS = 100  # rich text objects per array, options, relations, people, per request
MAX_CONTACT = 200  # characters in an email or a phone number
MAX_URL = 2_000

READ_ONLY_TYPES: frozenset[str] = frozenset(
    {
        "created_time",
        "last_edited_time",
        "created_by",
        "last_edited_by",
        "formula",
        "rollup",
        "unique_id",
        "verification",
        "button",
    }
)

UserResolver = Callable[[str], str | None]
_TRUE = frozenset({"true", "yes", "1", "on"})
_FALSE = frozenset({"false", "no", "0", "off"})
_UUID = re.compile(r"[0-9a-f]{32}")


class ConversionError(ValueError):
    """A plain value that cannot become a value of the named Notion property.

    The message names the property, its type and the value, then says what was expected.
    """

    def __init__(self, prop: str, type_: str, value: object, reason: str) -> None:
        self.prop, self.type, self.value, self.reason = prop, type_, value, reason
        shown = repr(value) if len(repr(value)) <= 80 else repr(value)[:77] + "..."
        super().__init__(f'Property "{prop}" ({type_}): cannot use {shown} — {reason}')


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Cut ``text`` into pieces of at most ``limit`` UTF-16 units, keeping characters whole."""
    if _utf16_len(text) == len(text):  # no astral characters: plain slicing is exact
        return [text[i : i + limit] for i in range(0, len(text), limit)]
    pieces: list[str] = []
    start = weight = 0
    for i, char in enumerate(text):
        units = 2 if ord(char) > 0xFFFF else 1
        if weight + units > limit:
            pieces.append(text[start:i])
            start, weight = i, 0
        weight += units
    if start < len(text):
        pieces.append(text[start:])
    return pieces


def text_object(content: str, *, link: str | None = None) -> dict[str, Any]:
    """One Notion text object (no annotations) for ``content`` of at most 2,000 units."""
    text: dict[str, Any] = {"content": content}
    if link:
        text["link"] = {"url": link}
    return {"type": "text", "text": text}


def rich_text(text: str, *, link: str | None = None) -> list[dict[str, Any]]:
    """Turn ``text`` into a Notion rich text array: pieces of at most 2,000 characters, at
    most 100 of them. Text that does not fit (about 200,000 characters) raises ValueError."""
    pieces = split_text(text)
    if len(pieces) > MAX_ITEMS:
        raise ValueError(
            f"text is too long for Notion: {len(text):,} characters, but a rich text value "
            f"holds at most {MAX_ITEMS} pieces of {MAX_TEXT:,} (about 200,000 characters)"
        )
    return [text_object(piece, link=link) for piece in pieces]


def _parts(value: object) -> list[object]:
    """A list as given, or a comma-separated string cut into trimmed, non-empty parts."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, list | tuple):
        return list(value)
    return [value]


def _uuid(text: str) -> str | None:
    compact = text.strip().lower().replace("-", "")
    if not _UUID.fullmatch(compact):
        return None
    c = compact
    return f"{c[:8]}-{c[8:12]}-{c[12:16]}-{c[16:20]}-{c[20:]}"


def http_url(value: object) -> str | None:
    """``value`` trimmed when it is an absolute http(s) URL Notion accepts, else None."""
    if not isinstance(value, str) or len(value) > MAX_URL:
        return None
    parts = urlsplit(value.strip())
    ok = parts.scheme in ("http", "https") and bool(parts.netloc) and " " not in value.strip()
    return value.strip() if ok else None


def _iso(value: object) -> str | None:
    """ISO date, or datetime with a UTC offset, normalised; None when it is neither."""
    if isinstance(value, datetime):
        return value.isoformat() if value.tzinfo is not None else None
    if isinstance(value, date):
        return value.isoformat()
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value.strip()).isoformat()
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return moment.isoformat() if moment.tzinfo is not None else None


class _Converter:
    """Converts one value for one property; ``fail`` raises a ConversionError about it."""

    def __init__(
        self, name: str, schema: dict[str, Any], value: object, resolve_user: UserResolver | None
    ) -> None:
        self.name, self.schema, self.value = name, schema, value
        self.type = str(schema.get("type", ""))
        self.resolve_user = resolve_user

    def fail(self, reason: str) -> ConversionError:
        return ConversionError(self.name, self.type, self.value, reason)

    def convert(self) -> object:
        if self.type in READ_ONLY_TYPES:
            raise self.fail("Notion computes this property; it cannot be written")
        writer = _WRITERS.get(self.type)
        if writer is None:
            raise self.fail(f"writing properties of type {self.type or '?'!r} is not supported")
        return writer(self, self.value)

    def _text(self, value: object) -> list[dict[str, Any]]:
        if value is None:
            return []
        if not isinstance(value, str | int | float):
            raise self.fail("expected text, a number or a boolean")
        try:
            return rich_text(str(value))
        except ValueError as error:
            raise self.fail(str(error)) from None

    def _number(self, value: object) -> int | float | None:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if isinstance(value, str):
            text = value.strip()
            try:
                value = int(text)
            except ValueError:
                try:
                    value = float(text)
                except ValueError:
                    raise self.fail("expected a number") from None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail("expected a number")
        if not math.isfinite(value):
            raise self.fail("expected a finite number")
        return value

    def _option(self, value: object) -> str:
        if not isinstance(value, str):
            raise self.fail("expected a text option name")
        if "," in value:
            raise self.fail("Notion option names cannot contain commas")
        return value.strip()

    def _select(self, value: object) -> dict[str, str] | None:
        name = None if value is None else self._option(value)
        return {"name": name} if name else None

    def _multi_select(self, value: object) -> list[dict[str, str]]:
        names: list[str] = []
        for part in [] if value is None else _parts(value):
            name = self._option(part)
            if name and name not in names:
                names.append(name)
        if len(names) > MAX_ITEMS:
            raise self.fail(f"at most {MAX_ITEMS} options, got {len(names)}")
        return [{"name": name} for name in names]

    def _status(self, value: object) -> dict[str, str]:
        options = [str(o.get("name")) for o in self.schema.get("status", {}).get("options", [])]
        known = ", ".join(f'"{o}"' for o in options) or "(none in the schema)"
        if not isinstance(value, str) or value.strip() not in options:
            raise self.fail(f"expected one of the status options: {known}")
        return {"name": value.strip()}

    def _date(self, value: object) -> dict[str, str | None] | None:
        if value is None:
            return None
        start: object = value
        end: object = None
        if isinstance(value, dict):
            if not set(value) <= {"start", "end"}:
                raise self.fail('a date dict takes only "start" and "end"')
            start, end = value.get("start"), value.get("end")
        elif isinstance(value, str) and "/" in value:
            start, end = value.split("/", 1)
        iso_start, iso_end = _iso(start), _iso(end) if end is not None else None
        if iso_start is None or (end is not None and iso_end is None):
            raise self.fail(
                'expected an ISO date ("2026-11-21"), a datetime with an offset '
                '("2026-11-21T09:30:00+01:00"), "start/end" or {"start", "end"}'
            )
        return {"start": iso_start, "end": iso_end} if iso_end else {"start": iso_start}

    def _people(self, value: object) -> list[dict[str, str]]:
        ids: list[str] = []
        for part in [] if value is None else _parts(value):
            text = part.strip() if isinstance(part, str) else ""
            user_id = _uuid(text)
            if user_id is None and text.count("@") == 1:
                if self.resolve_user is None:
                    raise self.fail("emails need a user lookup, which is not available here")
                found = self.resolve_user(text)
                if found is None:
                    raise self.fail(f"no Notion user found with the email {text!r}")
                user_id = found
            if user_id is None:
                raise self.fail("expected user ids or emails")
            if user_id not in ids:
                ids.append(user_id)
        if len(ids) > MAX_ITEMS:
            raise self.fail(f"at most {MAX_ITEMS} people, got {len(ids)}")
        return [{"object": "user", "id": user_id} for user_id in ids]

    def _relation(self, value: object) -> list[dict[str, str]]:
        ids: list[str] = []
        for part in [] if value is None else _parts(value):
            page_id = _uuid(part) if isinstance(part, str) else None
            if page_id is None:
                raise self.fail(
                    "expected page ids; a relation by key lookup must be resolved to page ids first"
                )
            if page_id not in ids:
                ids.append(page_id)
        if len(ids) > MAX_ITEMS:
            raise self.fail(f"at most {MAX_ITEMS} related pages, got {len(ids)}")
        return [{"id": page_id} for page_id in ids]

    def _checkbox(self, value: object) -> bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        word = value.strip().lower() if isinstance(value, str) else None
        if word not in _TRUE | _FALSE:
            raise self.fail("expected true/false, yes/no, on/off or 1/0")
        return word in _TRUE

    def _contact(self, value: object, check: Callable[[str], bool], expected: str) -> str | None:
        if value is None or value == "":
            return None
        if not isinstance(value, str) or len(value) > MAX_CONTACT or not check(value.strip()):
            raise self.fail(f"expected {expected} of at most {MAX_CONTACT} characters")
        return value.strip()

    def _email(self, value: object) -> str | None:
        def check(s: str) -> bool:
            local, _, domain = s.partition("@")
            return s.count("@") == 1 and bool(local and domain) and not re.search(r"\s", s)

        return self._contact(value, check, "an email address")

    def _phone_number(self, value: object) -> str | None:
        return self._contact(value, bool, "a phone number as text")

    def _url(self, value: object) -> str | None:
        if value is None or value == "":
            return None
        url = http_url(value)
        if url is None:
            raise self.fail(f"expected an http(s) URL of at most {MAX_URL:,} characters")
        return url

    def _files(self, value: object) -> list[dict[str, Any]]:
        files: list[dict[str, Any]] = []
        # A single string is one URL: commas are legal inside URLs, so it is not split.
        for part in [] if value is None else [value] if isinstance(value, str) else _parts(value):
            url = http_url(part)
            if url is None:
                raise self.fail("expected http(s) URLs of files")
            parts = urlsplit(url)
            name = unquote(parts.path.rstrip("/").rsplit("/", 1)[-1]) or parts.netloc
            files.append({"name": name[:100], "type": "external", "external": {"url": url}})
        return files


_WRITERS: dict[str, Callable[[_Converter, object], object]] = {
    "title": _Converter._text,
    "rich_text": _Converter._text,
    "number": _Converter._number,
    "select": _Converter._select,
    "multi_select": _Converter._multi_select,
    "status": _Converter._status,
    "date": _Converter._date,
    "people": _Converter._people,
    "relation": _Converter._relation,
    "checkbox": _Converter._checkbox,
    "email": _Converter._email,
    "phone_number": _Converter._phone_number,
    "url": _Converter._url,
    "files": _Converter._files,
}


def to_notion(
    prop_name: str,
    prop_schema: dict[str, Any],
    value: object,
    *,
    resolve_user: UserResolver | None = None,
) -> dict[str, Any]:
    """Convert a plain value into the Notion property value object for writing
    (``{"select": {"name": "High"}}``); raises ConversionError when it does not fit."""
    converter = _Converter(prop_name, prop_schema, value, resolve_user)
    return {converter.type: converter.convert()}


def to_notion_properties(
    schema: dict[str, dict[str, Any]],
    values: dict[str, object],
    *,
    resolve_user: UserResolver | None = None,
) -> dict[str, Any]:
    """Convert every named value using the data source schema (property name -> schema).

    An unknown name raises ConversionError suggesting the closest known name and listing all.
    """
    converted: dict[str, Any] = {}
    for name, value in values.items():
        if name not in schema:
            close = difflib.get_close_matches(name, list(schema), n=1)
            hint = f'did you mean "{close[0]}"? ' if close else ""
            known = ", ".join(f'"{n}"' for n in sorted(schema))
            raise ConversionError(
                name, "unknown", value, f"no such property. {hint}Known properties: {known}"
            )
        converted[name] = to_notion(name, schema[name], value, resolve_user=resolve_user)
    return converted


def _plain_text(items: list[dict[str, Any]] | None) -> str:
    # Pages read back carry plain_text; objects we built ourselves only carry text.content.
    return "".join(
        str(item.get("plain_text", item.get("text", {}).get("content", ""))) for item in items or []
    )


def _plain_date(value: dict[str, Any] | None) -> object:
    if not value:
        return None
    if value.get("end"):
        return {"start": value.get("start"), "end": value["end"]}
    return value.get("start")


def _plain_computed(value: dict[str, Any] | None) -> object:
    """The plain result of a formula or rollup: its string/number/boolean/date/array."""
    kind = (value or {}).get("type", "")
    inner = (value or {}).get(kind)
    if kind == "date":
        return _plain_date(inner)
    if kind == "array":
        return [from_notion(item) for item in inner or []]
    return None if kind in ("", "incomplete", "unsupported") else inner


def from_notion(prop_value: dict[str, Any]) -> object:
    """Turn a property value as read from a page into a plain value.

    Text -> str; select/status -> name or None; multi_select -> names; date -> "start", or
    {"start", "end"} when there is an end; people/relation -> ids; files -> URLs; formula and
    rollup -> their result; created_by/last_edited_by -> user id; unique_id -> "PREFIX-n" or n.
    """
    kind = str(prop_value.get("type", ""))
    value: Any = prop_value.get(kind)
    if kind in ("title", "rich_text"):
        return _plain_text(value)
    if kind in ("select", "status"):
        return value.get("name") if value else None
    if kind == "multi_select":
        return [option["name"] for option in value or []]
    if kind == "date":
        return _plain_date(value)
    if kind in ("people", "relation"):
        return [item["id"] for item in value or []]
    if kind in ("created_by", "last_edited_by", "verification"):
        return (value or {}).get("id" if kind != "verification" else "state")
    if kind == "checkbox":
        return bool(value)
    if kind == "files":
        return [(item.get(item.get("type", "")) or {}).get("url") for item in value or []]
    if kind in ("formula", "rollup"):
        return _plain_computed(value)
    if kind == "unique_id":
        if not value:
            return None
        return f"{value['prefix']}-{value['number']}" if value.get("prefix") else value["number"]
    if kind == "button":
        return None
    return value  # number, url, email, phone_number, created_time, last_edited_time


def page_to_plain(page: dict[str, Any]) -> dict[str, Any]:
    """A page as plain values: id, url, title (the title property's text), properties by
    name, created_time and last_edited_time."""
    properties: dict[str, dict[str, Any]] = page.get("properties", {})
    plain = {name: from_notion(value) for name, value in properties.items()}
    title = next((plain[n] for n, v in properties.items() if v.get("type") == "title"), "")
    return {
        "id": page.get("id"),
        "url": page.get("url"),
        "title": title,
        "properties": plain,
        "created_time": page.get("created_time"),
        "last_edited_time": page.get("last_edited_time"),
    }
