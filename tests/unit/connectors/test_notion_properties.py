"""Plain values to Notion property values and back (connectors.notion.properties)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.notion.properties import (
    READ_ONLY_TYPES,
    ConversionError,
    from_notion,
    page_to_plain,
    rich_text,
    split_text,
    to_notion,
    to_notion_properties,
)

PAGE_ID = "1a2b3c4d-5e6f-4a1b-8c9d-0e1f2a3b4c5d"
USER_ID = "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a"


def prop(type_: str, **config: Any) -> dict[str, Any]:
    """A data source property object as Notion returns it."""
    return {"id": "x%3Ay", "name": type_.title(), "type": type_, type_: config}


STATUS = prop(
    "status",
    options=[{"id": "1", "name": "Not started"}, {"id": "2", "name": "Done"}],
    groups=[],
)
SCHEMA: dict[str, dict[str, Any]] = {
    "Name": prop("title"),
    "Notes": prop("rich_text"),
    "Estimate": prop("number", format="number"),
    "Importance": prop("select", options=[{"name": "High"}]),
    "Tags": prop("multi_select", options=[]),
    "Stage": STATUS,
    "Due": prop("date"),
    "Owners": prop("people"),
    "Parent": prop("relation", data_source_id="ds", type="single_property"),
    "Done": prop("checkbox"),
    "Contact": prop("email"),
    "Site": prop("url"),
    "Phone": prop("phone_number"),
    "Attachments": prop("files"),
    "Created": prop("created_time"),
    "Score": prop("formula", expression="1"),
}


def utf16(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def contents(objects: list[dict[str, Any]]) -> list[str]:
    return [o["text"]["content"] for o in objects]


def text(content: str) -> list[dict[str, Any]]:
    return [{"type": "text", "text": {"content": content}}]


# --- errors -----------------------------------------------------------------------------


def test_conversion_error_message_names_property_type_and_value() -> None:
    with pytest.raises(ConversionError) as caught:
        to_notion("Importance", SCHEMA["Importance"], 42)
    assert str(caught.value) == (
        'Property "Importance" (select): cannot use 42 — expected a text option name'
    )
    assert isinstance(caught.value, ValueError)
    error = caught.value
    assert (error.prop, error.type, error.value) == ("Importance", "select", 42)


def test_read_only_types() -> None:
    assert frozenset(
        {"created_time", "last_edited_time", "created_by", "last_edited_by", "formula", "rollup",
         "unique_id", "verification", "button"}
    ) == READ_ONLY_TYPES  # fmt: skip


# --- writing: each type -------------------------------------------------------------------

WRITES = [
    ("Name", "Launch", {"title": text("Launch")}),
    ("Name", 3, {"title": text("3")}),
    ("Name", None, {"title": []}),
    ("Notes", 2.5, {"rich_text": text("2.5")}),
    ("Notes", "", {"rich_text": []}),
    ("Estimate", 3, {"number": 3}),
    ("Estimate", 2.5, {"number": 2.5}),
    ("Estimate", " 7 ", {"number": 7}),
    ("Estimate", "-1.25", {"number": -1.25}),
    ("Estimate", None, {"number": None}),
    ("Estimate", "", {"number": None}),
    ("Importance", "High", {"select": {"name": "High"}}),
    ("Importance", " Brand new ", {"select": {"name": "Brand new"}}),
    ("Importance", None, {"select": None}),
    ("Importance", "", {"select": None}),
    ("Tags", ["a", "b"], {"multi_select": [{"name": "a"}, {"name": "b"}]}),
    ("Tags", " a, b,,a , c ", {"multi_select": [{"name": "a"}, {"name": "b"}, {"name": "c"}]}),
    ("Tags", ("x", " x", ""), {"multi_select": [{"name": "x"}]}),
    ("Tags", None, {"multi_select": []}),
    ("Stage", "Done", {"status": {"name": "Done"}}),
    ("Due", "2026-11-21", {"date": {"start": "2026-11-21"}}),
    ("Due", "2026-11-21T09:30:00+01:00", {"date": {"start": "2026-11-21T09:30:00+01:00"}}),
    ("Due", "2026-11-21T09:30:00Z", {"date": {"start": "2026-11-21T09:30:00+00:00"}}),
    ("Due", date(2026, 11, 21), {"date": {"start": "2026-11-21"}}),
    (
        "Due",
        datetime(2026, 11, 21, 8, 0, tzinfo=timezone(timedelta(hours=2))),
        {"date": {"start": "2026-11-21T08:00:00+02:00"}},
    ),
    (
        "Due",
        {"start": "2026-11-21", "end": "2026-11-23"},
        {"date": {"start": "2026-11-21", "end": "2026-11-23"}},
    ),
    ("Due", {"start": "2026-11-21", "end": None}, {"date": {"start": "2026-11-21"}}),
    (
        "Due",
        "2026-11-21/2026-11-23",
        {"date": {"start": "2026-11-21", "end": "2026-11-23"}},
    ),
    ("Due", None, {"date": None}),
    ("Owners", USER_ID, {"people": [{"object": "user", "id": USER_ID}]}),
    ("Owners", None, {"people": []}),
    ("Parent", PAGE_ID.replace("-", ""), {"relation": [{"id": PAGE_ID}]}),
    ("Parent", [PAGE_ID.upper(), PAGE_ID], {"relation": [{"id": PAGE_ID}]}),
    ("Parent", None, {"relation": []}),
    ("Done", True, {"checkbox": True}),
    ("Done", False, {"checkbox": False}),
    ("Done", 1, {"checkbox": True}),
    ("Contact", " ada@example.com ", {"email": "ada@example.com"}),
    ("Contact", None, {"email": None}),
    ("Site", "https://example.com/a?b=c", {"url": "https://example.com/a?b=c"}),
    ("Site", None, {"url": None}),
    ("Phone", "+33 1 23 45 67 89", {"phone_number": "+33 1 23 45 67 89"}),
    ("Phone", None, {"phone_number": None}),
    (
        "Attachments",
        "https://files.example.com/reports/Q3%20report.pdf",
        {
            "files": [
                {
                    "name": "Q3 report.pdf",
                    "type": "external",
                    "external": {"url": "https://files.example.com/reports/Q3%20report.pdf"},
                }
            ]
        },
    ),
    (
        "Attachments",
        ["https://a.example/x.png", "https://b.example/"],
        {
            "files": [
                {
                    "name": "x.png",
                    "type": "external",
                    "external": {"url": "https://a.example/x.png"},
                },
                {
                    "name": "b.example",
                    "type": "external",
                    "external": {"url": "https://b.example/"},
                },
            ]
        },
    ),
    ("Attachments", None, {"files": []}),
    (
        "Attachments",
        "https://a.example/x,y.png",
        {
            "files": [
                {
                    "name": "x,y.png",
                    "type": "external",
                    "external": {"url": "https://a.example/x,y.png"},
                }
            ]
        },
    ),
]


@pytest.mark.parametrize(("name", "value", "expected"), WRITES)
def test_to_notion_converts_each_type(name: str, value: object, expected: dict[str, Any]) -> None:
    assert to_notion(name, SCHEMA[name], value) == expected


@pytest.mark.parametrize(
    ("word", "expected"),
    [("true", True), ("YES", True), (" On ", True), ("1", True),
     ("false", False), ("No", False), ("OFF", False), ("0", False)],
)  # fmt: skip
def test_checkbox_accepts_words(word: str, expected: bool) -> None:
    assert to_notion("Done", SCHEMA["Done"], word) == {"checkbox": expected}


# --- writing: errors ----------------------------------------------------------------------

ERRORS = [
    ("Name", {"a": 1}, "expected text"),
    ("Notes", ["x"], "expected text"),
    ("Estimate", True, "expected a number"),
    ("Estimate", "three", "expected a number"),
    ("Estimate", [1], "expected a number"),
    ("Estimate", float("nan"), "finite"),
    ("Estimate", "inf", "finite"),
    ("Importance", 42, "expected a text option name"),
    ("Importance", "High, Low", "commas"),
    ("Tags", ["a", 1], "expected a text option name"),
    ("Tags", ["a,b"], "commas"),
    ("Stage", "In progress", 'status options: "Not started", "Done"'),
    ("Stage", None, "status options"),
    ("Due", "21/11/2026", "expected an ISO date"),
    ("Due", "next tuesday", "expected an ISO date"),
    ("Due", "2026-11-21T09:30:00", "expected an ISO date"),
    ("Due", datetime(2026, 11, 21, 9, 30), "expected an ISO date"),
    ("Due", {"start": "2026-11-21", "end": "soon"}, "expected an ISO date"),
    ("Due", {"end": "2026-11-21"}, "expected an ISO date"),
    ("Due", {"start": "2026-11-21", "time_zone": "Europe/Paris"}, '"start" and "end"'),
    ("Due", 20261121, "expected an ISO date"),
    ("Owners", "bob", "expected user ids or emails"),
    ("Owners", ["a@b@c"], "expected user ids or emails"),
    ("Owners", "ada@example.com", "user lookup"),
    ("Parent", "ISSUE-12", "relation by key lookup must be resolved to page ids first"),
    ("Parent", [PAGE_ID, 12], "relation by key lookup"),
    ("Done", "maybe", "expected true/false"),
    ("Done", None, "expected true/false"),
    ("Done", 2, "expected true/false"),
    ("Contact", "ada.example.com", "expected an email"),
    ("Contact", "a@b@example.com", "expected an email"),
    ("Contact", "ada lovelace@example.com", "expected an email"),
    ("Contact", "@example.com", "expected an email"),
    ("Contact", "a" * 200 + "@x.io", "at most 200"),
    ("Site", "example.com", "http(s) URL"),
    ("Site", "ftp://example.com/x", "http(s) URL"),
    ("Site", "https://" + "a" * 2000 + ".com", "http(s) URL"),
    ("Site", 42, "http(s) URL"),
    ("Phone", 33123456789, "phone number as text"),
    ("Attachments", ["https://a.example/x", "x.png"], "http(s) URLs"),
    ("Created", "2026-01-01", "cannot be written"),
    ("Score", 3, "cannot be written"),
]


@pytest.mark.parametrize(("name", "value", "reason"), ERRORS)
def test_to_notion_rejects_with_a_message_naming_property_type_and_value(
    name: str, value: object, reason: str
) -> None:
    with pytest.raises(ConversionError) as caught:
        to_notion(name, SCHEMA[name], value)
    message = str(caught.value)
    assert message.startswith(f'Property "{name}" ({SCHEMA[name]["type"]}): cannot use ')
    assert repr(value)[:60] in message
    assert reason in message


def test_unsupported_type_is_an_error() -> None:
    with pytest.raises(ConversionError, match=r"\(place\).*not supported"):
        to_notion("Where", prop("place"), "Paris")


def test_long_value_is_shortened_in_the_message() -> None:
    with pytest.raises(ConversionError) as caught:
        to_notion("Site", SCHEMA["Site"], "x" * 500)
    assert len(str(caught.value)) < 200
    assert "'xxxx" in str(caught.value)


def test_people_emails_are_resolved_deduplicated_and_split_on_commas() -> None:
    directory = {"ada@example.com": USER_ID, "bob@example.com": PAGE_ID}
    seen: list[str] = []

    def resolve(email: str) -> str | None:
        seen.append(email)
        return directory.get(email)

    result = to_notion(
        "Owners", SCHEMA["Owners"], f"ada@example.com, {USER_ID}, bob@example.com",
        resolve_user=resolve,
    )  # fmt: skip
    assert result == {
        "people": [{"object": "user", "id": USER_ID}, {"object": "user", "id": PAGE_ID}]
    }
    assert seen == ["ada@example.com", "bob@example.com"]
    with pytest.raises(ConversionError, match=r"no Notion user found with the email 'eve@x\.io'"):
        to_notion("Owners", SCHEMA["Owners"], ["eve@x.io"], resolve_user=resolve)


@pytest.mark.parametrize(
    ("name", "make", "unit"),
    [
        ("Tags", lambda i: f"tag{i}", "options"),
        ("Parent", lambda i: f"{i:032x}", "related pages"),
        ("Owners", lambda i: f"{i:032x}", "people"),
    ],
)
def test_at_most_100_items(name: str, make: Any, unit: str) -> None:
    hundred = [make(i) for i in range(100)]
    assert len(to_notion(name, SCHEMA[name], hundred)[SCHEMA[name]["type"]]) == 100
    with pytest.raises(ConversionError, match=f"at most 100 {unit}, got 101"):
        to_notion(name, SCHEMA[name], [*hundred, make(100)])


def test_title_longer_than_notion_allows_is_a_conversion_error() -> None:
    assert len(to_notion("Name", SCHEMA["Name"], "x" * 200_000)["title"]) == 100
    with pytest.raises(ConversionError, match=r'"Name" \(title\).*too long'):
        to_notion("Name", SCHEMA["Name"], "x" * 200_001)


# --- to_notion_properties -----------------------------------------------------------------


def test_to_notion_properties_converts_every_value() -> None:
    result = to_notion_properties(
        SCHEMA,
        {"Name": "Launch", "Importance": "High", "Owners": "ada@example.com"},
        resolve_user=lambda email: USER_ID,
    )
    assert result == {
        "Name": {"title": text("Launch")},
        "Importance": {"select": {"name": "High"}},
        "Owners": {"people": [{"object": "user", "id": USER_ID}]},
    }


def test_unknown_property_suggests_the_closest_and_lists_known_names() -> None:
    with pytest.raises(ConversionError) as caught:
        to_notion_properties(SCHEMA, {"Importanse": "High"})
    message = str(caught.value)
    assert message.startswith("Property \"Importanse\" (unknown): cannot use 'High'")
    assert 'did you mean "Importance"?' in message
    assert all(f'"{name}"' in message for name in SCHEMA)


def test_unknown_property_without_a_close_match_only_lists_names() -> None:
    with pytest.raises(ConversionError) as caught:
        to_notion_properties({"Name": SCHEMA["Name"]}, {"zzzz": 1})
    assert "did you mean" not in str(caught.value)
    assert 'Known properties: "Name"' in str(caught.value)


def test_to_notion_properties_rejects_read_only_properties() -> None:
    with pytest.raises(ConversionError, match=r'"Created" \(created_time\).*cannot be written'):
        to_notion_properties(SCHEMA, {"Name": "x", "Created": "2026-01-01"})


# --- reading ------------------------------------------------------------------------------


def read(type_: str, value: object) -> dict[str, Any]:
    return {"id": "abc", "type": type_, type_: value}


def rt(*parts: str) -> list[dict[str, Any]]:
    return [
        {"type": "text", "text": {"content": p, "link": None}, "plain_text": p, "href": None}
        for p in parts
    ]


READS = [
    (read("title", rt("Launch ", "plan")), "Launch plan"),
    (read("rich_text", []), ""),
    (read("rich_text", [{"type": "mention", "mention": {}, "plain_text": "@Ada"}]), "@Ada"),
    (read("number", 3.5), 3.5),
    (read("number", None), None),
    (read("select", {"id": "1", "name": "High", "color": "red"}), "High"),
    (read("select", None), None),
    (read("status", {"id": "2", "name": "Done", "color": "green"}), "Done"),
    (read("multi_select", [{"id": "1", "name": "a"}, {"id": "2", "name": "b"}]), ["a", "b"]),
    (read("date", {"start": "2026-11-21", "end": None, "time_zone": None}), "2026-11-21"),
    (
        read("date", {"start": "2026-11-21", "end": "2026-11-23", "time_zone": None}),
        {"start": "2026-11-21", "end": "2026-11-23"},
    ),
    (read("date", None), None),
    (read("people", [{"object": "user", "id": USER_ID, "name": "Ada"}]), [USER_ID]),
    (read("relation", [{"id": PAGE_ID}]), [PAGE_ID]),
    (read("checkbox", True), True),
    (read("checkbox", False), False),
    (read("url", "https://example.com"), "https://example.com"),
    (read("email", None), None),
    (read("phone_number", "+33 1"), "+33 1"),
    (
        read(
            "files",
            [
                {"name": "a.png", "type": "external", "external": {"url": "https://x/a.png"}},
                {
                    "name": "b.pdf",
                    "type": "file",
                    "file": {"url": "https://s3/b.pdf", "expiry_time": "2026-01-01T00:00:00.000Z"},
                },
            ],
        ),
        ["https://x/a.png", "https://s3/b.pdf"],
    ),
    (read("formula", {"type": "string", "string": "hi"}), "hi"),
    (read("formula", {"type": "number", "number": 4}), 4),
    (read("formula", {"type": "boolean", "boolean": False}), False),
    (read("formula", {"type": "date", "date": {"start": "2026-01-01", "end": None}}), "2026-01-01"),
    (read("rollup", {"type": "number", "number": 12, "function": "sum"}), 12),
    (
        read("rollup", {"type": "date", "date": {"start": "2026-01-01", "end": "2026-01-02"}}),
        {"start": "2026-01-01", "end": "2026-01-02"},
    ),
    (
        read(
            "rollup",
            {
                "type": "array",
                "function": "show_original",
                "array": [
                    {"type": "title", "title": rt("One")},
                    {"type": "number", "number": 2},
                ],
            },
        ),
        ["One", 2],
    ),
    (read("rollup", {"type": "incomplete", "incomplete": {}}), None),
    (read("created_time", "2026-01-01T10:00:00.000Z"), "2026-01-01T10:00:00.000Z"),
    (read("last_edited_time", "2026-01-02T10:00:00.000Z"), "2026-01-02T10:00:00.000Z"),
    (read("created_by", {"object": "user", "id": USER_ID}), USER_ID),
    (read("last_edited_by", {"object": "user", "id": PAGE_ID}), PAGE_ID),
    (read("unique_id", {"prefix": "TASK", "number": 12}), "TASK-12"),
    (read("unique_id", {"prefix": None, "number": 7}), 7),
    (read("verification", {"state": "verified", "verified_by": None}), "verified"),
    (read("button", {}), None),
]


@pytest.mark.parametrize(("value", "expected"), READS)
def test_from_notion_reads_each_type(value: dict[str, Any], expected: object) -> None:
    assert from_notion(value) == expected


def test_page_to_plain() -> None:
    page = {
        "object": "page",
        "id": PAGE_ID,
        "url": "https://www.notion.so/Launch-1a2b",
        "created_time": "2026-01-01T10:00:00.000Z",
        "last_edited_time": "2026-01-02T11:00:00.000Z",
        "properties": {
            "Tags": read("multi_select", [{"id": "1", "name": "a"}]),
            "Task name": read("title", rt("Launch")),
            "Done": read("checkbox", True),
        },
    }
    assert page_to_plain(page) == {
        "id": PAGE_ID,
        "url": "https://www.notion.so/Launch-1a2b",
        "title": "Launch",
        "properties": {"Tags": ["a"], "Task name": "Launch", "Done": True},
        "created_time": "2026-01-01T10:00:00.000Z",
        "last_edited_time": "2026-01-02T11:00:00.000Z",
    }


# --- round trips --------------------------------------------------------------------------


def as_read(written: dict[str, Any]) -> dict[str, Any]:
    """What Notion would send back for a value we wrote (ids, colors and plain_text added)."""
    (kind, value), = written.items()  # fmt: skip
    if kind in ("title", "rich_text"):
        value = [{**o, "plain_text": o["text"]["content"], "href": None} for o in value]
    elif kind == "multi_select":
        value = [{"id": f"opt{i}", "color": "default", **o} for i, o in enumerate(value)]
    elif kind == "date":
        value = {"end": None, "time_zone": None, **value}
    return {"id": "abc", "type": kind, kind: value}


@pytest.mark.parametrize(
    ("name", "value"),
    [("Name", "Launch"), ("Estimate", 3), ("Importance", "High"), ("Stage", "Done"),
     ("Due", "2026-11-21"), ("Due", {"start": "2026-11-21", "end": "2026-11-22"}),
     ("Parent", [PAGE_ID]), ("Done", True), ("Site", "https://example.com")],
)  # fmt: skip
def test_round_trip(name: str, value: object) -> None:
    assert from_notion(as_read(to_notion(name, SCHEMA[name], value))) == value


option_names = (
    st.text(st.characters(exclude_characters=",", exclude_categories=["Cs"]), max_size=20)
    .map(str.strip)
    .filter(bool)
)


@given(st.lists(option_names, unique=True, max_size=100))
def test_multi_select_round_trips(names: list[str]) -> None:
    written = to_notion("Tags", SCHEMA["Tags"], names)
    assert from_notion(as_read(written)) == names


@settings(deadline=None)
@given(st.text(max_size=6_000))
def test_title_round_trips(value: str) -> None:
    assert from_notion(as_read(to_notion("Name", SCHEMA["Name"], value))) == value


# --- rich_text ----------------------------------------------------------------------------


def test_rich_text_shape_and_link() -> None:
    assert rich_text("") == []
    assert rich_text("hi") == [{"type": "text", "text": {"content": "hi"}}]
    assert rich_text("hi", link="https://x.io") == [
        {"type": "text", "text": {"content": "hi", "link": {"url": "https://x.io"}}}
    ]


@pytest.mark.parametrize(
    ("length", "sizes"),
    [(1, [1]), (2000, [2000]), (2001, [2000, 1]), (4000, [2000, 2000]),
     (200_000, [2000] * 100)],
)  # fmt: skip
def test_rich_text_splits_at_2000(length: int, sizes: list[int]) -> None:
    assert [len(c) for c in contents(rich_text("é" * length))] == sizes


def test_rich_text_over_200000_characters_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match=r"too long for Notion: 200,001 characters.*at most 100"):
        rich_text("a" * 200_001)


def test_astral_characters_count_twice_and_are_never_cut() -> None:
    # Notion measures in UTF-16 units: an emoji is 2 of the 2,000.
    assert [len(c) for c in contents(rich_text("😀" * 1000))] == [1000]
    assert contents(rich_text("a" * 1999 + "😀b")) == ["a" * 1999, "😀b"]
    assert split_text("😀😀😀", limit=3) == ["😀", "😀", "😀"]


texts = st.one_of(
    st.text(max_size=5_000),
    st.builds(
        lambda piece, n: (piece * n)[:200_000],
        st.text(min_size=1, max_size=30),
        st.integers(min_value=0, max_value=200_000),
    ),
)


@settings(deadline=None, max_examples=150)
@given(texts)
def test_rich_text_pieces_concatenate_back_within_limits(value: str) -> None:
    try:
        objects = rich_text(value)
    except ValueError:
        # Only text holding astral characters can fail under 200,000 characters, and only
        # when greedy packing (at least 1,999 units a piece) cannot be sure to fit in 100.
        assert utf16(value) > 99 * 1999 + 2000
        return
    pieces = contents(objects)
    assert "".join(pieces) == value
    assert all(0 < len(p) <= 2000 and utf16(p) <= 2000 for p in pieces)
    assert len(objects) <= 100


@given(st.text(st.characters(max_codepoint=0xFFFF, exclude_categories=["Cs"]), max_size=200_000))
def test_bmp_text_up_to_200000_always_fits(value: str) -> None:
    assert len(rich_text(value)) <= 100


def test_date_datetime_objects_in_utc() -> None:
    moment = datetime(2026, 11, 21, 9, 30, tzinfo=UTC)
    assert to_notion("Due", SCHEMA["Due"], moment) == {
        "date": {"start": "2026-11-21T09:30:00+00:00"}
    }
